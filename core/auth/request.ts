/**
 * Authorisation of one-shot requests (the HTTP API), where there is no session to wait for an
 * `auth` command: an API key (constant-time, grants every action), or a credential the
 * authenticate hook accepts followed by the authorize hook. With neither an API key nor an
 * authenticate hook configured, requests are anonymous and allowed, like every other transport.
 */
import type { Action, Handshake, Hooks, Principal } from '../contracts.js';
import { HeraldError } from '../errors.js';
import type { ApiKeyCheck } from './api-key.js';

/** Resolves to the principal the request acts for (undefined: an API key or anonymous), or throws. */
export type RequestAuthorizer = (handshake: Handshake, action: Action, topic: string) => Promise<Principal | undefined>;

export function requestAuthorizer(hooks: Hooks, apiKey: ApiKeyCheck | undefined): RequestAuthorizer {
  const { authenticate, authorize } = hooks;
  return async (handshake, action, topic) => {
    if (apiKey !== undefined && apiKey(handshake.token)) return undefined;
    if (authenticate === undefined) {
      if (apiKey !== undefined) throw new HeraldError('unauthorized', 'a valid API key is required');
      if (authorize !== undefined && !(await authorize({ user: null }, action, topic))) throw new HeraldError('forbidden', `${action} is not allowed on ${topic}`);
      return undefined;
    }
    let principal;
    try {
      principal = await authenticate(handshake);
    } catch (err) {
      throw err instanceof HeraldError && err.code === 'unauthorized' ? err : new HeraldError('unauthorized', 'invalid credentials');
    }
    if (principal === null) throw new HeraldError('unauthorized', 'credentials required (Authorization: Bearer)');
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) throw new HeraldError('unauthorized', 'credentials expired');
    if (authorize !== undefined && !(await authorize(principal, action, topic))) throw new HeraldError('forbidden', `${action} is not allowed on ${topic}`);
    return principal;
  };
}

export type AdminAuthorizer = (handshake: Handshake) => Promise<void>;

/**
 * Authorisation of the control routes (disconnect, subscribe, topics...): an API key, or a
 * credential the authenticate hook accepts whose claims say `admin: true`. Never open to anonymous
 * callers: with neither an API key nor an authenticate hook configured, every call is refused.
 */
export function adminAuthorizer(hooks: Hooks, apiKey: ApiKeyCheck | undefined): AdminAuthorizer {
  const { authenticate } = hooks;
  return async (handshake) => {
    if (apiKey !== undefined && apiKey(handshake.token)) return;
    if (authenticate === undefined || handshake.token === undefined) {
      throw new HeraldError('unauthorized', 'the control API needs an API key or a JWT with admin: true (Authorization: Bearer)');
    }
    let principal;
    try {
      principal = await authenticate(handshake);
    } catch {
      throw new HeraldError('unauthorized', 'invalid credentials');
    }
    if (principal === null) throw new HeraldError('unauthorized', 'credentials required (Authorization: Bearer)');
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) throw new HeraldError('unauthorized', 'credentials expired');
    if (principal.claims?.admin !== true) throw new HeraldError('forbidden', 'the control API needs admin: true in the token (or an API key)');
  };
}
