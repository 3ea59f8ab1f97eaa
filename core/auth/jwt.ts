/**
 * JWT verification with jose. The algorithm list comes from configuration only (never from the
 * token's header), and the key type must fit it, so neither `alg: none` nor an HMAC token signed
 * with the RSA public key (key confusion) can pass. `exp` is required; `aud` and `iss` are checked
 * when configured; clock skew is bounded; oversized tokens are refused before any parsing.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { ConfigError, configIssues, HeraldError } from '../errors.js';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export const EC_ALGORITHMS = { 'prime256v1': 'ES256', 'secp384r1': 'ES384', 'secp521r1': 'ES512' } as const;

/** Largest clock skew accepted in configuration, in seconds. */
export const MAX_CLOCK_TOLERANCE = 300;

export const jwtOptionsSchema = z
  .object({
    /** HMAC secret (HS256/384/512). At least 32 bytes: shorter ones can be brute-forced offline. */
    secret: z.union([z.string(), z.instanceof(Uint8Array)]).optional(),
    /** PEM public key (SPKI) or a KeyObject, RSA (RS256...) or EC (ES256...). */
    publicKey: z.union([z.string(), z.custom<KeyObject>((v) => v !== null && typeof v === 'object' && (v as KeyObject).type === 'public', 'must be a public KeyObject')]).optional(),
    /** Accepted algorithms; default: the one the key implies (HS256, RS256 or ES256...). */
    algorithms: z.array(z.string()).min(1).optional(),
    /** Required `aud` (one of). */
    audience: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    /** Required `iss` (one of). */
    issuer: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    /** Seconds of clock skew allowed on exp/nbf/iat (default 30, at most 300). */
    clockTolerance: z.number().int().min(0).max(MAX_CLOCK_TOLERANCE).default(30),
    /** Largest token accepted, in bytes (default 8192). */
    maxTokenBytes: z.number().int().positive().max(1024 * 1024).default(8192),
  })
  .strict()
  .refine((o) => (o.secret === undefined) !== (o.publicKey === undefined), { message: 'give exactly one of secret or publicKey' });

export type JwtOptions = z.input<typeof jwtOptionsSchema>;

export interface VerifiedToken {
  readonly payload: JWTPayload & { sub: string; exp: number };
}

export interface JwtVerifier {
  readonly algorithms: readonly string[];
  /** Seconds of skew allowed; a session stays open this long past `exp` too, for consistency. */
  readonly clockTolerance: number;
  /** Verifies a compact JWS; throws HeraldError('unauthorized') saying why not. */
  verify(token: string): Promise<VerifiedToken>;
}

function keyAndAlgorithms(o: z.output<typeof jwtOptionsSchema>): { key: KeyObject; allowed: readonly string[]; implied: string } {
  if (o.secret !== undefined) {
    const bytes = typeof o.secret === 'string' ? Buffer.from(o.secret, 'utf8') : Buffer.from(o.secret);
    if (bytes.length < 32) throw new ConfigError([{ path: 'secret', message: 'jwt secret must be at least 32 bytes (256 bits)' }], 'invalid jwt options');
    return { key: createSecretKey(bytes), allowed: HMAC_ALGORITHMS, implied: 'HS256' };
  }
  const key = typeof o.publicKey === 'string' ? createPublicKey(o.publicKey) : o.publicKey!;
  if (key.type !== 'public') throw new ConfigError([{ path: 'publicKey', message: 'jwt publicKey must be a public key' }], 'invalid jwt options');
  if (key.asymmetricKeyType === 'rsa') return { key, allowed: RSA_ALGORITHMS, implied: 'RS256' };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve as keyof typeof EC_ALGORITHMS | undefined;
    const alg = curve === undefined ? undefined : EC_ALGORITHMS[curve];
    if (alg === undefined) throw new ConfigError([{ path: 'publicKey', message: `unsupported EC curve ${String(curve)}` }], 'invalid jwt options');
    return { key, allowed: [alg], implied: alg };
  }
  throw new ConfigError([{ path: 'publicKey', message: `unsupported key type ${String(key.asymmetricKeyType)}` }], 'invalid jwt options');
}

/** Builds a verifier; throws ConfigError on a configuration that would be unsafe or unusable. */
export function createJwtVerifier(input: JwtOptions): JwtVerifier {
  const parsed = jwtOptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(configIssues(parsed.error.issues), 'invalid jwt options');
  }
  const o = parsed.data;
  const { key, allowed, implied } = keyAndAlgorithms(o);
  const algorithms = o.algorithms ?? [implied];
  for (const alg of algorithms) {
    if (!allowed.includes(alg)) throw new ConfigError([{ path: 'algorithms', message: `jwt algorithm ${alg} does not fit the configured key (allowed: ${allowed.join(', ')})` }], 'invalid jwt options');
  }
  const verifyOptions = {
    algorithms,
    audience: o.audience,
    issuer: o.issuer,
    clockTolerance: o.clockTolerance,
    requiredClaims: ['exp', 'sub'],
  };
  return {
    algorithms,
    clockTolerance: o.clockTolerance,
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) throw new HeraldError('unauthorized', 'no token');
      // Length in UTF-16 units bounds the UTF-8 size from below; check bytes only when it might pass.
      if (token.length > o.maxTokenBytes || Buffer.byteLength(token) > o.maxTokenBytes) {
        throw new HeraldError('unauthorized', `token larger than ${o.maxTokenBytes} bytes`);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, verifyOptions));
      } catch (err) {
        throw new HeraldError('unauthorized', reasonOf(err));
      }
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256) {
        throw new HeraldError('unauthorized', 'token sub must be a string of 1..256 characters');
      }
      if (typeof payload.exp !== 'number') throw new HeraldError('unauthorized', 'token has no exp');
      return { payload: payload as VerifiedToken['payload'] };
    },
  };
}

/** A short, safe reason: which check failed, never the token or the key. */
function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim ${err.claim} rejected (${err.reason})`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof joseErrors.JOSEError) return `token invalid (${err.code})`;
  return 'token invalid';
}
