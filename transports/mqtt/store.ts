/**
 * What an MQTT session keeps between connections (docs/transports.md, "Persistent sessions"): its
 * filters with their granted QoS, and for each literal topic the last position it was given (QoS 0)
 * or acknowledged (QoS 1). Messages are not copied here: a resumed session re-subscribes with
 * `since` and the topic's history replays what it missed, as for every other transport.
 */
import type { Position } from '../../core/plugin.js';

export interface FilterState {
  readonly qos: 0 | 1;
  /** The Herald patterns the filter stands for (`a/#` is `a.>` and `a`). */
  readonly patterns: readonly string[];
}

export interface SessionState {
  readonly filters: Map<string, FilterState>;
  readonly positions: Map<string, Position>;
}

interface Kept {
  readonly state: SessionState;
  readonly timer: NodeJS.Timeout;
}

/** Sessions of disconnected clients, by client id, each until its expiry; at most `max` (the oldest goes first). */
export class SessionStore {
  private readonly kept = new Map<string, Kept>();
  constructor(private readonly max: number) {}

  keep(clientId: string, state: SessionState, expirySeconds: number): void {
    this.take(clientId);
    if (this.kept.size >= this.max) this.take(this.kept.keys().next().value!);
    const timer = setTimeout(() => this.take(clientId), expirySeconds * 1000);
    timer.unref();
    this.kept.set(clientId, { state, timer });
  }

  /** Removes and returns the session kept for `clientId`, if any. */
  take(clientId: string): SessionState | undefined {
    const kept = this.kept.get(clientId);
    if (kept === undefined) return undefined;
    clearTimeout(kept.timer);
    this.kept.delete(clientId);
    return kept.state;
  }

  get size(): number {
    return this.kept.size;
  }

  clear(): void {
    for (const { timer } of this.kept.values()) clearTimeout(timer);
    this.kept.clear();
  }
}

/**
 * Retained messages are the topic's own publications in its history: this index only remembers,
 * per topic, the position of the last PUBLISH that had the retain flag (at most `max` topics; the
 * least recently retained is forgotten first). A subscriber reads the publication from history.
 */
export class RetainedIndex {
  private readonly positions = new Map<string, Position>();
  constructor(private readonly max: number) {}

  set(topic: string, position: Position): void {
    this.positions.delete(topic);
    if (this.positions.size >= this.max) this.positions.delete(this.positions.keys().next().value!);
    this.positions.set(topic, position);
  }

  delete(topic: string, position?: Position): void {
    const kept = this.positions.get(topic);
    if (kept === undefined) return;
    if (position === undefined || (kept.offset === position.offset && kept.epoch === position.epoch)) this.positions.delete(topic);
  }

  /** Retained topics matched by `test`, with the position of their retained publication. */
  matching(test: (topic: string) => boolean): [string, Position][] {
    const found: [string, Position][] = [];
    for (const entry of this.positions) if (test(entry[0])) found.push(entry);
    return found;
  }

  get size(): number {
    return this.positions.size;
  }
}
