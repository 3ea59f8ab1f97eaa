/** What a Session needs from its broker; the broker implements it. Kept narrow so sessions are testable alone. */
import type { Logger } from 'pino';
import type { Handshake, HistoryQuery, HistoryResult, Principal, Action } from './contracts.js';
import type { PublishResult } from './broker-api.js';
import type { ResolvedOptions } from './options.js';
import type { Position, PresenceEntry } from './protocol.js';
import type { Publication } from './publication.js';
import type { Session, Subscription } from './session.js';
import type { PrincipalRates } from './limits/message-rate.js';
import type { LogLimiter } from './log-limiter.js';

export interface SubscribeOutcome {
  /** The topic's position now (literal topics). */
  position: Position | undefined;
  /** Publications after `since`, to push before the reply. */
  replay: Publication[];
  recovered: boolean;
}

export interface SessionHost {
  readonly limits: ResolvedOptions['limits'];
  readonly logger: Logger;
  readonly hasAuthenticate: boolean;
  readonly hasAuthorize: boolean;
  /** The per-principal message rate shared by every session and the HTTP API. */
  readonly rates: PrincipalRates;
  /** Log lines a client can cause go here (rate-limited per kind). */
  readonly limitedLog: LogLimiter;
  authenticate(handshake: Handshake): Principal | null | Promise<Principal | null>;
  authorize(principal: Principal, action: Action, topic: string): boolean | Promise<boolean>;
  publish(topic: string, data: unknown): Promise<PublishResult>;
  subscribe(session: Session, sub: Subscription, since: Position | undefined): Promise<SubscribeOutcome>;
  unsubscribe(session: Session, sub: Subscription): Promise<void>;
  history(topic: string, query: HistoryQuery): Promise<HistoryResult>;
  presence(topic: string): Promise<PresenceEntry[]>;
  /** Puts the session on the list flushed at the end of this event-loop turn. */
  schedule(session: Session): void;
  /** The session is closed as a slow consumer; `dropped` messages it had queued are discarded. */
  slowConsumer(session: Session, dropped: number): void;
  /** Counters for metrics: a subscribe with `since` answered, credentials refused. */
  recovery(complete: boolean): void;
  authFailed(): void;
  /** This session's encoder could not encode `pub` (it was skipped for this session alone): logged and counted. */
  encodeFailed(session: Session, pub: Publication, err: unknown): void;
  /** The session is closed: drop its subscriptions and presence. */
  removed(session: Session, code: number): void;
}
