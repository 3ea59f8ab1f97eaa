/**
 * Topic grammar (docs/protocol.md). A topic is 1..16 tokens joined by '.', each token 1..64 chars of
 * [A-Za-z0-9_\-:@=+~], at most 255 chars in all. Patterns may also use '*' (one token) and '>'
 * (one or more trailing tokens, last only). This is NATS subject syntax by design.
 */
import { HeraldError } from './errors.js';

export const MAX_TOPIC_LENGTH = 255;
export const MAX_TOKENS = 16;
export const MAX_TOKEN_LENGTH = 64;

const TOKEN = /^[A-Za-z0-9_\-:@=+~]{1,64}$/;

/**
 * One name token (a node id, a NATS subject prefix): a topic token without `:@=+~`, so that the NATS
 * subjects, stream and bucket names made from it stay valid and cannot collide.
 */
export const NAME_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

function check(value: unknown, allowWildcards: boolean): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0 || value.length > MAX_TOPIC_LENGTH) return `must be 1..${MAX_TOPIC_LENGTH} characters`;
  const tokens = value.split('.');
  if (tokens.length > MAX_TOKENS) return `must have at most ${MAX_TOKENS} tokens`;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '*' || t === '>') {
      if (!allowWildcards) return 'a publication topic cannot contain wildcards';
      if (t === '>' && i !== tokens.length - 1) return "'>' may only be the last token";
      continue;
    }
    if (!TOKEN.test(t)) return `token ${JSON.stringify(t.slice(0, 70))} is not 1..${MAX_TOKEN_LENGTH} characters of [A-Za-z0-9_-:@=+~]`;
  }
  return undefined;
}

/** True when `value` is a valid topic to publish to (no wildcards). */
export function isTopic(value: unknown): value is string {
  return check(value, false) === undefined;
}

/** True when `value` is a valid subscription pattern (a topic, or one with '*' / '>' tokens). */
export function isPattern(value: unknown): value is string {
  return check(value, true) === undefined;
}

/** Returns `value` as a topic, or throws `invalid_topic` saying what is wrong. */
export function assertTopic(value: unknown): string {
  const why = check(value, false);
  if (why !== undefined) throw new HeraldError('invalid_topic', `topic ${why}`);
  return value as string;
}

/** Returns `value` as a pattern, or throws `invalid_topic` saying what is wrong. */
export function assertPattern(value: unknown): string {
  const why = check(value, true);
  if (why !== undefined) throw new HeraldError('invalid_topic', `topic ${why}`);
  return value as string;
}

/**
 * True when a valid pattern contains a wildcard token: the one place that says so (router, session,
 * transports, client, binary). '*' and '>' only ever appear as whole tokens in a valid pattern, so a
 * char scan is enough (and is what the router's hot path can afford).
 */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('>');
}

/** Reference matcher: does `pattern` match `topic`? Used by tests, presence and permission checks. */
export function matches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    if (pt === '>') return t.length > i;
    if (i >= t.length) return false;
    if (pt !== '*' && pt !== t[i]) return false;
  }
  return p.length === t.length;
}

/**
 * Does `grant` cover every topic that `pattern` can match? (`a.*` is not covered by `a.b`; `>` only
 * by `>`.) Used for configuration patterns and for wildcard authorisation.
 */
export function covers(grant: string, pattern: string): boolean {
  if (grant === pattern) return true;
  const g = grant.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < g.length; i++) {
    if (g[i] === '>') return i < p.length;
    if (i >= p.length) return false;
    if (p[i] === '>') return false;
    if (g[i] !== '*' && g[i] !== p[i]) return false;
  }
  return g.length === p.length;
}
