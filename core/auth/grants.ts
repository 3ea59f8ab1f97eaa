/**
 * Topic grants: the patterns a principal may subscribe to and publish on (JWT claims `subscribe`
 * and `publish`). The wildcard rule: a subscription pattern is allowed only when some grant covers
 * every topic it can match (`a.*` is not granted by `a.b`; `>` only by `>`), so a subscription
 * can never deliver a topic the principal could not have subscribed to literally.
 */
import type { Action } from '../contracts.js';
import { HeraldError } from '../errors.js';
import { covers, isPattern } from '../topic.js';

export interface Grants {
  readonly subscribe: readonly string[];
  readonly publish: readonly string[];
}

/** At most this many patterns per claim: each check walks the list. */
export const MAX_GRANTS = 256;

/** Reads a claim that must be a list of topic patterns (absent: none); throws `unauthorized` otherwise. */
export function patternList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_GRANTS || !value.every(isPattern)) {
    throw new HeraldError('unauthorized', `claim ${name} must be a list of at most ${MAX_GRANTS} topic patterns`);
  }
  return value as string[];
}

/** Grants from token claims; malformed claims reject the token rather than being half-read. */
export function grantsOf(claims: Readonly<Record<string, unknown>>): Grants {
  return { subscribe: patternList(claims.subscribe, 'subscribe'), publish: patternList(claims.publish, 'publish') };
}

/**
 * Does `grants` allow `action` on `topic`? Reading (subscribe, presence, history) needs a subscribe
 * grant covering the pattern; publishing needs a publish grant covering the (literal) topic.
 */
export function allows(grants: Grants, action: Action, topic: string): boolean {
  const list = action === 'publish' ? grants.publish : grants.subscribe;
  for (let i = 0; i < list.length; i++) if (covers(list[i]!, topic)) return true;
  return false;
}
