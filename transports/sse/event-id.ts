/**
 * The SSE event id: the stream's position in every literal topic it follows, so that a reconnecting
 * EventSource (Last-Event-ID) resumes all of them at once. base64url of the JSON map
 * `{"<topic>":[offset,"<epoch>"]}`: opaque to clients, safe in an `id:` line and an HTTP header
 * (no CR, LF or NUL can appear), self-describing so a `since` from another stream works too.
 */
import { isTopic, type Position } from '../../core/plugin.js';

/** Ids longer than this are refused unread (Node allows 16 KiB of headers in all). */
export const MAX_EVENT_ID_LENGTH = 8192;

export function encodeEventId(positions: ReadonlyMap<string, Position>): string {
  // No prototype: a topic named `__proto__` is an own key like any other (else it is lost).
  const map: Record<string, [number, string]> = Object.create(null) as Record<string, [number, string]>;
  for (const [topic, p] of positions) map[topic] = [p.offset, p.epoch];
  return Buffer.from(JSON.stringify(map)).toString('base64url');
}

/** The positions in an id, or undefined when it is not one of ours. */
export function decodeEventId(id: string): Map<string, Position> | undefined {
  if (id.length === 0 || id.length > MAX_EVENT_ID_LENGTH || !/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  let map: unknown;
  try {
    map = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return undefined;
  const positions = new Map<string, Position>();
  for (const [topic, value] of Object.entries(map)) {
    if (!isTopic(topic) || !Array.isArray(value) || value.length !== 2) return undefined;
    const [offset, epoch] = value as unknown[];
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 64) return undefined;
    positions.set(topic, { offset, epoch });
  }
  return positions;
}
