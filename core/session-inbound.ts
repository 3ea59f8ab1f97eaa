/**
 * A session's inbound side, as ws's Receiver is a WebSocket's: what a client sends is admitted
 * (the connection's and the principal's command rates, with strikes that close a client that keeps
 * going) and run in order, one command at a time. A command that waits on I/O holds the ones behind
 * it in a bounded queue (limits.pendingCommands); what a command does is the owner's business
 * (session-commands.ts).
 */
import type { Limits, Principal, ReplyHandler } from './contracts.js';
import { CloseCodes, HeraldError } from './errors.js';
import type { PrincipalRates } from './limits/message-rate.js';
import { TokenBucket } from './limits/token-bucket.js';
import { commandId } from './protocol.js';
import type { ReplyTo } from './session-host.js';

/** What the inbound side hands its commands to. */
export interface InboundOwner {
  readonly isClosed: boolean;
  /** Runs one command; a promise (which never rejects) holds the commands behind it until it settles. */
  dispatch(raw: unknown, onReply: ReplyHandler | undefined): void | Promise<void>;
  /** Answers a command refused before it ran (over a rate, queue full). */
  fail(to: ReplyTo, err: unknown): void;
  close(code: number, reason: string): void;
}

/** A command fed with a reply callback (handle(raw, onReply)), as it waits in the queue. */
class WithReply {
  constructor(readonly raw: unknown, readonly onReply: ReplyHandler) {}
}

/** An empty queue, shared until something waits (most commands never do). */
const NO_COMMANDS = Object.freeze([]) as unknown as unknown[];
/** A second without a rate_limited reply forgives earlier strikes. */
const STRIKE_MEMORY_MS = 1000;

export class Inbound {
  private readonly limits: Limits;
  private readonly rates: PrincipalRates;
  private readonly owner: InboundOwner;
  /** Commands per second (limits.messageRate / messageBurst), checked before anything else. */
  private readonly rate: TokenBucket;
  /** Whom these commands are charged to (rates), and whether that is a user or an address. */
  private rateKey: string | undefined;
  private chargedTo: 'user' | 'address' = 'address';
  private strikes = 0;
  private lastStrike = 0;
  private busy = false;
  private pending: unknown[] = NO_COMMANDS;
  private pendingHead = 0;

  constructor(limits: Limits, rates: PrincipalRates, remoteAddress: string, owner: InboundOwner) {
    this.limits = limits;
    this.rates = rates;
    this.owner = owner;
    this.rate = new TokenBucket(limits.messageRate, limits.messageBurst);
    this.chargeTo(undefined, remoteAddress);
  }

  /** Charges later commands to `principal` (or the address while there is none). */
  chargeTo(principal: Principal | undefined, remoteAddress: string): void {
    this.rateKey = this.rates.keyOf(principal, remoteAddress);
    this.chargedTo = principal?.user ? 'user' : 'address';
  }

  /** One decoded client message: admitted, then run now or queued behind the command that runs. */
  handle(raw: unknown, onReply?: ReplyHandler): void {
    if (!this.rate.take()) {
      this.rateLimited(onReply ?? commandId(raw), `over ${this.limits.messageRate} commands per second`);
      return;
    }
    if (!this.rates.take(this.rateKey)) {
      this.rateLimited(onReply ?? commandId(raw), `over ${this.limits.principalRate} commands per second for this ${this.chargedTo}`);
      return;
    }
    if (this.busy) {
      if (this.pending.length - this.pendingHead >= this.limits.pendingCommands) {
        this.owner.fail(onReply ?? commandId(raw), new HeraldError('rate_limited', 'too many commands waiting'));
        return;
      }
      this.wait(onReply === undefined ? raw : new WithReply(raw, onReply));
      return;
    }
    this.run(raw, onReply);
  }

  /** A command of the server's own (not rate-limited, not bounded): run in turn with the client's. */
  enqueue(command: unknown): void {
    if (this.busy) this.wait(command);
    else this.run(command, undefined);
  }

  /** Holds every command until `settled` does (authentication at the start); it must not reject. */
  hold(settled: Promise<void>): void {
    this.busy = true;
    void settled.finally(() => this.resume());
  }

  /** The command waiting first, as it was sent; undefined when none waits. */
  peek(): unknown {
    const next = this.pending[this.pendingHead];
    return next instanceof WithReply ? next.raw : next;
  }

  /** Forgets what waits (the session is gone). */
  clear(): void {
    this.pending = NO_COMMANDS;
    this.pendingHead = 0;
  }

  private wait(entry: unknown): void {
    if (this.pending === NO_COMMANDS) this.pending = [entry];
    else this.pending.push(entry);
  }

  /** Refuses a command over the rate; a client that keeps going without a calm second is closed with 4029. */
  private rateLimited(to: ReplyTo, why: string): void {
    const now = performance.now();
    if (now - this.lastStrike > STRIKE_MEMORY_MS) this.strikes = 0;
    this.lastStrike = now;
    if (++this.strikes >= this.limits.rateLimitStrikes) {
      this.owner.close(CloseCodes.rateLimited, 'rate limited');
      return;
    }
    this.owner.fail(to, new HeraldError('rate_limited', why));
  }

  private run(raw: unknown, onReply: ReplyHandler | undefined): void {
    const running = this.owner.dispatch(raw, onReply);
    if (running !== undefined) this.hold(running);
  }

  private resume(): void {
    this.busy = false;
    while (!this.busy && !this.owner.isClosed && this.pendingHead < this.pending.length) {
      const next = this.pending[this.pendingHead];
      this.pending[this.pendingHead++] = undefined;
      if (next instanceof WithReply) this.run(next.raw, next.onReply);
      else this.run(next, undefined);
    }
    if (this.pendingHead === this.pending.length) this.clear();
  }
}
