/** What a Session needs from its broker: a private object of the broker's, not its public API. Kept narrow so sessions are testable alone. */
import type { Logger } from 'pino';
import type { Action, Handshake, HistoryQuery, HistoryResult, Limits, Principal, PublishResult, ReplyHandler } from './contracts.js';
import type { Position, PresenceEntry, Reply, ServerMessage, UnsubReason } from './messages.js';
import type { Publication } from './publication.js';
import type { PrincipalRates } from './limits/message-rate.js';
import type { LogLimiter } from './log-limiter.js';
import type { Outbound, TurnFlush } from './session-outbound.js';

export interface Subscription {
  readonly pattern: string;
  /** True when the pattern has no wildcard: it can recover, and it counts in presence. */
  readonly literal: boolean;
  /** Join/leave pushes for matching topics. */
  readonly presence: boolean;
  /** While the subscription recovers from history, live publications wait here. */
  buffer: Publication[] | undefined;
  /** Dropped (a gap, broker.unsubscribe) while it was still subscribing: the unsub push follows right after its reply. */
  dropped?: UnsubReason;
  /** While its reply is being sent: the newest replayed position (live copies up to it are duplicates). */
  last?: Position | undefined;
}

export interface SubscribeOutcome {
  /** The topic's position now (literal topics). */
  position: Position | undefined;
  /** Publications after `since`, to push before the reply. */
  replay: Publication[];
  recovered: boolean;
}

/** `S`: the session class (session.ts), a parameter so that this file need not import it. */
export interface SessionHost<S> {
  readonly limits: Limits;
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
  subscribe(session: S, sub: Subscription, since: Position | undefined): Promise<SubscribeOutcome>;
  unsubscribe(session: S, sub: Subscription): Promise<void>;
  history(topic: string, query: HistoryQuery): Promise<HistoryResult>;
  presence(topic: string): Promise<PresenceEntry[]>;
  /** The outbound queues written at the end of this event-loop turn (session-outbound.ts). */
  readonly turn: TurnFlush;
  /** The session is closed as a slow consumer; `dropped` messages it had queued are discarded. */
  slowConsumer(session: S, dropped: number): void;
  /** Counters for metrics: a subscribe with `since` answered, credentials refused. */
  recovery(complete: boolean): void;
  authFailed(): void;
  /** This session's encoder could not encode `pub` (it was skipped for this session alone): logged and counted. */
  encodeFailed(session: S, pub: Publication, err: unknown): void;
  /** The session is closed and hands over the subscriptions it held: the host drops them and their presence. */
  removed(session: S, code: number, subscriptions: readonly Subscription[]): void;
}

/** Where a command's reply goes: the wire under the client's id, a transport's callback, or nowhere. */
export type ReplyTo = number | ReplyHandler | undefined;

/** A subscribe whose history is read, waiting to be answered with the others of its batch (session-subscribe.ts). */
export interface Settled {
  readonly sub: Subscription;
  readonly since: Position | undefined;
  readonly to: ReplyTo;
  readonly outcome: SubscribeOutcome;
  /** Made by the application (broker.subscribe): announced with a `sub` push instead of a reply. */
  readonly server: boolean;
}

/**
 * The session as its command side sees it (session-commands.ts, session-subscribe.ts: functions, so
 * that a connection holds no object of theirs): its state and the few outbound and lifecycle calls
 * they make. session.ts implements it; the command files import this instead of the class, so that
 * no file imports back. `S` is the session type itself, as the host knows it.
 */
export interface SessionState<S extends SessionState<S>> {
  readonly id: string;
  readonly host: SessionHost<S>;
  readonly handshake: Handshake;
  readonly principal: Principal | undefined;
  readonly subscriptions: Map<string, Subscription>;
  readonly isClosed: boolean;
  readonly outbound: Outbound;
  /** Subscriptions whose live publications are buffered while they recover. */
  recovering: number;
  /** Publishes handed to the host and not yet answered, and the chain that answers them in order (session-commands.ts). */
  publishesInFlight: number;
  publishReplies: Promise<void> | undefined;
  /** bad_request / invalid_topic answers so far (limits.protocolErrors closes with 4002). */
  protocolErrors: number;
  /** Subscribes answered together (session-subscribe.ts); undefined when none waits. */
  settled: Settled[] | undefined;
  /** The command waiting next in the inbound queue, as it was sent (undefined: none). */
  nextCommand(): unknown;
  /** Throws `forbidden` unless the authorize hook allows `action` on `topic` for this principal. */
  authorize(action: 'subscribe' | 'publish' | 'presence' | 'history', topic: string): Promise<void>;
  /** The authenticate hook (anonymous without one). */
  authenticate(handshake: Handshake): Promise<Principal | null>;
  setPrincipal(principal: Principal): void;
  answer(to: ReplyTo, reply: Reply): void;
  send(message: ServerMessage): void;
  push(pub: Publication): boolean;
  drop(pattern: string, reason: UnsubReason): boolean;
  close(code: number, reason: string): void;
}
