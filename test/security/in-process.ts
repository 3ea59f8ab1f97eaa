/**
 * In-process sessions for the fast security suites: a real broker (noServer) and real Sessions fed
 * through session.handle(), with a Connection that keeps the server messages it is given (decoded
 * back from the real codec), so no socket or fake broker sits between the input and the checks.
 */
import { afterEach } from 'vitest';
import { createBroker, type Broker, type BrokerOptions } from '../../core/index.js';
import type { Connection, Encoder, Handshake } from '../../core/contracts.js';
import type { Codec } from '../../core/codec.js';
import { jsonCodec } from '../../core/codec.js';
import type { Session } from '../../core/session.js';

const brokers: Broker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

export async function inProcessBroker(options: Partial<BrokerOptions> = {}): Promise<Broker> {
  const broker = await createBroker({ noServer: true, logger: false, ...options } as BrokerOptions);
  brokers.push(broker);
  return broker;
}

export interface Recorded {
  session: Session;
  /** Every server message written, decoded. */
  messages: Record<string, any>[];
  closeCode: number | undefined;
}

export function openSession(broker: Broker, options: { token?: string; codec?: Codec; keep?: boolean } = {}): Recorded {
  const codec = options.codec ?? jsonCodec;
  const encoder: Encoder = { key: `test.${codec.name}`, encode: (m) => codec.encode(m) };
  const rec = { messages: [] as Record<string, any>[], closeCode: undefined as number | undefined } as Recorded;
  const connection: Connection = {
    write(chunks) {
      if (options.keep === false) return;
      for (const c of chunks) rec.messages.push(codec.decode(c as Buffer | string) as Record<string, any>);
    },
    close(code) {
      rec.closeCode = code;
    },
    bufferedAmount: 0,
  };
  const handshake: Handshake = { transport: 'test', remoteAddress: '127.0.0.1', headers: {}, query: new URLSearchParams(), token: options.token };
  rec.session = broker.open(connection, handshake, encoder);
  return rec;
}

/** Lets pending promises settle and the broker flush its sessions (a few event-loop turns). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

