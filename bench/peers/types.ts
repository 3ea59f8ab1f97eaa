/** A server under test, running inside a bench server child (bench/lib/server-child.ts). */
export interface PeerServer {
  readonly port: number;
  /** Sends one message to every subscriber of `topic`; a burst is several calls in one turn. */
  publish(topic: string, data: string): void;
  close(): Promise<void>;
}

export interface PeerOptions {
  host: string;
  /** Peer-specific settings (a NATS URL, say). */
  [key: string]: unknown;
}

export type PeerFactory = (options: PeerOptions) => Promise<PeerServer>;

/**
 * The push every peer sends, shaped like Herald's `msg` (same bytes on the wire give a fair
 * comparison): `{op:'msg',topic,data,offset,epoch}`.
 */
export function msgJson(topic: string, data: string, offset: number, epoch: string): string {
  return JSON.stringify({ op: 'msg', topic, data, offset, epoch });
}

/** Minimal Herald v1 commands the peers understand: `sub` (replied) and `pub` (fire and forget). */
export type PeerCommand = { op: 'sub'; id?: number; topic: string } | { op: 'pub'; topic: string; data: string };

export function parsePeerCommand(text: string): PeerCommand | undefined {
  try {
    const c = JSON.parse(text) as PeerCommand;
    return c && (c.op === 'sub' || c.op === 'pub') && typeof c.topic === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}
