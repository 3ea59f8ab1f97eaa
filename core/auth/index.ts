/** Authentication and topic permissions (docs/security.md). */
export { jwtAuth } from './hooks.js';
export { createJwtVerifier, jwtOptionsSchema, type JwtOptions, type JwtVerifier, MAX_CLOCK_TOLERANCE } from './jwt.js';
export { allows, grantsOf, patternList, MAX_GRANTS, type Grants } from './grants.js';
export { apiKeyChecker, bearerOf, type ApiKeyCheck } from './api-key.js';
export { requestAuthorizer, type RequestAuthorizer } from './request.js';
