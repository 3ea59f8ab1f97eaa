/**
 * `jwtAuth()`: the authenticate and authorize hooks for JWT-authenticated clients. Claims: `sub`
 * (user id), `subscribe` and `publish` (lists of topic patterns), optional `info` (shown in
 * presence). A handshake without a token yields null (the session waits for an `auth` command);
 * a bad token throws (the client gets 4001).
 */
import type { Action, Hooks, Principal } from '../contracts.js';
import { allows, grantsOf, type Grants } from './grants.js';
import { createJwtVerifier, type JwtOptions } from './jwt.js';

/** Grants are parsed once per principal and kept beside it (principals are frozen and shared). */
const grantsByPrincipal = new WeakMap<Principal, Grants>();

export function jwtAuth(options: JwtOptions): Hooks & { verifyToken(token: string): Promise<Principal> } {
  const verifier = createJwtVerifier(options);
  const verifyToken = async (token: string): Promise<Principal> => {
    const { payload } = await verifier.verify(token);
    const grants = grantsOf(payload);
    const principal: Principal = Object.freeze({
      user: payload.sub,
      claims: Object.freeze({ ...payload }),
      expiresAt: (payload.exp + verifier.clockTolerance) * 1000,
      ...(payload.info !== undefined ? { info: payload.info } : {}),
    });
    grantsByPrincipal.set(principal, grants);
    return principal;
  };
  return {
    verifyToken,
    async authenticate(handshake) {
      if (handshake.token === undefined || handshake.token === '') return null;
      return verifyToken(handshake.token);
    },
    authorize(principal: Principal, action: Action, topic: string): boolean {
      let grants = grantsByPrincipal.get(principal);
      if (grants === undefined) {
        // A principal made elsewhere (an embedder's own authenticate): read its claims, deny when malformed.
        try {
          grants = grantsOf(principal.claims ?? {});
        } catch {
          return false;
        }
      }
      return allows(grants, action, topic);
    },
  };
}
