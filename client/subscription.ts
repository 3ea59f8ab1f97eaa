/**
 * A subscription to one topic or pattern. It outlives connections: after a reconnect the client
 * resubscribes it with `since` = the last position it saw, and the server replays what was missed
 * before its reply (docs/protocol.md). The subscription reports whether that worked (`recovered`).
 */
import type { Position, PresenceEntry } from '../core/protocol.js';
import { hasWildcard } from '../core/topic.js';
import { Emitter } from './emitter.js';
import { HeraldClientError } from './errors.js';

export type { Position, PresenceEntry };

export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed';

/** A publication as the application sees it. `offset`/`epoch` are there when the topic keeps history. */
export interface Message<T = unknown> {
  topic: string;
  data: T;
  offset?: number;
  epoch?: string;
}

export interface SubscribeOptions {
  /**
   * Recover missed publications after a reconnect (default true; only literal topics can: a
   * pattern with wildcards never recovers). A Position (say, saved across a page reload) also
   * recovers from there on the first subscribe.
   */
  recover?: boolean | Position;
  /** Receive `join`/`leave` events of this topic's subscribers. */
  presence?: boolean;
}

export interface SubscribedEvent {
  topic: string;
  /** True when this follows a reconnect (or a retry), false on the first subscribe. */
  resubscribed: boolean;
  /** True when the client asked to recover (sent `since`). */
  wasRecovering: boolean;
  /**
   * True when every publication after the last seen position was delivered, in order and without
   * duplicates, before this event. False after a resubscribe means messages may be missing: reload.
   */
  recovered: boolean;
  /** The topic's position as of this subscribe (literal topics with history). */
  position: Position | undefined;
}

export interface UnsubscribedEvent {
  topic: string;
  /** Set when the server refused the subscription (forbidden, invalid_topic...) or the client was closed. */
  error?: HeraldClientError;
  /** Set when the server dropped it for good (`unsub` push): `server` (the application) or `forbidden`. */
  reason?: string;
}

export type SubscriptionEvents<T> = {
  message: [Message<T>];
  state: [state: SubscriptionState, previous: SubscriptionState];
  subscribed: [SubscribedEvent];
  unsubscribed: [UnsubscribedEvent];
  /** A subscribe attempt failed and will be retried (internal, rate_limited). */
  error: [HeraldClientError];
  join: [PresenceEntry & { topic: string }];
  leave: [PresenceEntry & { topic: string }];
};

/** What a subscription needs from its client. */
export interface SubscriptionOwner {
  removeSubscription(subscription: Subscription<any>): Promise<void>;
}

export class Subscription<T = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly topic: string;
  /** No wildcard: can recover, counts in presence. */
  readonly literal: boolean;
  readonly options: Readonly<SubscribeOptions>;
  private currentState: SubscriptionState = 'subscribing';
  private owner: SubscriptionOwner;
  /** Where to resume from: the newest position seen (reply or publication). */
  private resumeFrom: Position | undefined;
  /** The last publication handed to the application: anything at or before it is a duplicate. */
  private delivered: Position | undefined;
  private lastSubscribed: SubscribedEvent | undefined;
  private everSubscribed = false;
  /** Set once ended: why (undefined for a plain unsubscribe). */
  private endError: HeraldClientError | undefined;

  /** @internal Created by HeraldClient.subscribe(). */
  constructor(owner: SubscriptionOwner, topic: string, options: SubscribeOptions) {
    super();
    this.owner = owner;
    this.topic = topic;
    this.literal = !hasWildcard(topic);
    this.options = options;
    if (typeof options.recover === 'object') this.resumeFrom = { offset: options.recover.offset, epoch: options.recover.epoch };
  }

  get state(): SubscriptionState {
    return this.currentState;
  }

  /** The position a recovery would start from (save it to resume after a page reload). */
  get position(): Position | undefined {
    return this.resumeFrom === undefined ? undefined : { ...this.resumeFrom };
  }

  /** Resolves once subscribed (at once if it is); rejects if the subscription ends first. */
  ready(): Promise<SubscribedEvent> {
    if (this.currentState === 'subscribed') return Promise.resolve(this.lastSubscribed!);
    if (this.currentState === 'unsubscribed') return Promise.reject(this.endError ?? new HeraldClientError('closed', `${this.topic}: unsubscribed`));
    return new Promise((resolve, reject) => {
      const offOk = this.once('subscribed', (e) => { offEnd(); resolve(e); });
      const offEnd = this.once('unsubscribed', (e) => { offOk(); reject(e.error ?? new HeraldClientError('closed', `${this.topic}: unsubscribed`)); });
    });
  }

  /** Stops the subscription on the server and locally; iterators end. */
  unsubscribe(): Promise<void> {
    if (this.currentState === 'unsubscribed') return Promise.resolve();
    return this.owner.removeSubscription(this);
  }

  /**
   * Iterates the publications received from now on (each iterator buffers what it has not yet
   * consumed). Ends when the subscription ends; throws if it ended with an error. Breaking out of
   * the loop stops the iterator, not the subscription.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message<T>> {
    const queue: Message<T>[] = [];
    let waiter: { resolve: (r: IteratorResult<Message<T>>) => void; reject: (e: unknown) => void } | undefined;
    let finished = this.currentState === 'unsubscribed';
    let failure: HeraldClientError | undefined = this.endError;
    const stop = (): void => {
      finished = true;
      offMessage();
      offEnd();
    };
    const offMessage = this.on('message', (m) => {
      if (waiter) { const w = waiter; waiter = undefined; w.resolve({ value: m, done: false }); } else queue.push(m);
    });
    const offEnd = this.on('unsubscribed', (e) => {
      stop();
      failure = e.error;
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        if (failure && failure.code !== 'closed') w.reject(failure); else w.resolve({ value: undefined, done: true });
      }
    });
    if (finished) stop();
    const iterator: AsyncIterableIterator<Message<T>> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (finished) {
          if (failure && failure.code !== 'closed') { const f = failure; failure = undefined; return Promise.reject(f); }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => { waiter = { resolve, reject }; });
      },
      return: () => {
        stop();
        queue.length = 0;
        waiter?.resolve({ value: undefined, done: true });
        waiter = undefined;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  // ------------------------------------------------------------------ driven by the client

  /** @internal The `sub` command for the next (re)subscribe. */
  command(): { op: 'sub'; topic: string; since?: Position; presence?: boolean } {
    const cmd: { op: 'sub'; topic: string; since?: Position; presence?: boolean } = { op: 'sub', topic: this.topic };
    if (this.literal && this.options.recover !== false && this.resumeFrom !== undefined) cmd.since = { ...this.resumeFrom };
    if (this.options.presence) cmd.presence = true;
    return cmd;
  }

  /** @internal The server's reply to `command()`. */
  subscribed(reply: Record<string, unknown>, since: Position | undefined): void {
    if (this.currentState === 'unsubscribed') return;
    const position = typeof reply.offset === 'number' && typeof reply.epoch === 'string' ? { offset: reply.offset, epoch: reply.epoch } : undefined;
    const recovered = since !== undefined && reply.recovered === true;
    if (position !== undefined) {
      // Replayed publications came before this reply; never move back within one epoch.
      const current = this.resumeFrom;
      if (current === undefined || current.epoch !== position.epoch || current.offset < position.offset) this.resumeFrom = position;
    }
    const event: SubscribedEvent = { topic: this.topic, resubscribed: this.everSubscribed, wasRecovering: since !== undefined, recovered, position };
    this.everSubscribed = true;
    this.lastSubscribed = event;
    this.setState('subscribed');
    this.emit('subscribed', event);
  }

  /** @internal A publication whose topic this subscription matches. */
  deliver(push: Record<string, unknown>): void {
    if (this.currentState === 'unsubscribed') return;
    const message: Message<T> = { topic: push.topic as string, data: push.data as T };
    if (typeof push.offset === 'number' && typeof push.epoch === 'string') {
      const at = { offset: push.offset, epoch: push.epoch };
      message.offset = at.offset;
      message.epoch = at.epoch;
      if (this.literal) {
        const seen = this.delivered;
        if (seen !== undefined && seen.epoch === at.epoch && at.offset <= seen.offset) return; // duplicate
        this.delivered = at;
        const resume = this.resumeFrom;
        if (resume === undefined || resume.epoch !== at.epoch || resume.offset < at.offset) this.resumeFrom = at;
      }
    }
    this.emit('message', message);
  }

  /** @internal A join/leave push for this topic. */
  presenceEvent(push: Record<string, unknown>): void {
    if (this.currentState === 'unsubscribed') return;
    const entry = { topic: push.topic as string, client: push.client as string, user: (push.user ?? null) as string | null } as PresenceEntry & { topic: string };
    if (push.info !== undefined) entry.info = push.info;
    this.emit(push.op === 'join' ? 'join' : 'leave', entry);
  }

  /** @internal The connection went away: wait to be resubscribed. */
  connectionLost(): void {
    if (this.currentState === 'subscribed') this.setState('subscribing');
  }

  /** @internal A subscribe attempt failed but will be retried. */
  retrying(error: HeraldClientError): void {
    this.emit('error', error);
  }

  /** @internal Final: unsubscribed by the application, refused by the server, or the client closed. */
  end(error?: HeraldClientError, reason?: string): void {
    if (this.currentState === 'unsubscribed') return;
    this.endError = error;
    this.setState('unsubscribed');
    const event: UnsubscribedEvent = { topic: this.topic };
    if (error) event.error = error;
    if (reason !== undefined) event.reason = reason;
    this.emit('unsubscribed', event);
  }

  private setState(state: SubscriptionState): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.emit('state', state, previous);
  }
}
