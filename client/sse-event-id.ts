/**
 * SSE event ids (transports/sse/event-id.ts): base64url of the JSON map
 * `{"<topic>":[offset,"<epoch>"]}`. The server documents them as self-describing so that a `since`
 * built elsewhere works; the fallback builds one from its subscriptions' own positions (which may
 * come from a WebSocket connection) and reads positions back from `herald-ready`.
 */
import type { Position } from '../core/protocol.js';

function toBase64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(id: string): string {
  const binary = atob(id.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

export function encodeEventId(positions: ReadonlyMap<string, Position>): string {
  const map: Record<string, [number, string]> = {};
  for (const [topic, p] of positions) map[topic] = [p.offset, p.epoch];
  return toBase64Url(JSON.stringify(map));
}

/** The positions in an id; an empty map for anything unreadable. */
export function decodeEventId(id: string): Map<string, Position> {
  const positions = new Map<string, Position>();
  try {
    const map = JSON.parse(fromBase64Url(id)) as Record<string, unknown>;
    for (const [topic, value] of Object.entries(map)) {
      if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') positions.set(topic, { offset: value[0], epoch: value[1] });
    }
  } catch {
    // Not one of ours: no positions.
  }
  return positions;
}
