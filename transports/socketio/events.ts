/**
 * The socket.io events a client emits, turned into protocol v1 commands (docs/transports.md):
 * `subscribe(topic, opts?, ack?)`, `unsubscribe(topic, ack?)`, `publish(topic, data, ack?)`,
 * `presence(topic, ack?)`, `history(topic, opts?, ack?)`, `auth(token, ack?)`.
 * Validation is the core's (parseCommand): this only places positional arguments.
 */
import { HeraldError } from '../../core/plugin.js';

export type Ack = (reply: unknown) => void;

/** Fields copied from an options object; anything else in it is ignored (it can never set `op` or `id`). */
const OPTION_FIELDS: Record<string, readonly string[]> = {
  subscribe: ['since', 'presence'],
  history: ['since', 'limit'],
};

const OPS: Record<string, string> = {
  subscribe: 'sub',
  unsubscribe: 'unsub',
  publish: 'pub',
  presence: 'presence',
  history: 'history',
  auth: 'auth',
};

export function isHeraldEvent(event: string): boolean {
  return Object.hasOwn(OPS, event);
}

/** The acknowledgement callback socket.io appends when the client asked for one (removed from `args`). */
export function takeAck(args: unknown[]): Ack | undefined {
  return typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
}

/** Places socket.io handler arguments (ack already taken) into a command without id; throws bad_request for unusable options. */
export function commandOf(event: string, args: unknown[]): Record<string, unknown> {
  const op = OPS[event]!;
  const command: Record<string, unknown> = { op };
  if (op === 'auth') {
    command.token = args[0];
    return command;
  }
  command.topic = args[0];
  if (op === 'pub') {
    // publish(topic, ack) has no data: the core answers bad_request, as for a ws `pub` without data.
    if (args.length >= 2) command.data = args[1];
    return command;
  }
  const fields = OPTION_FIELDS[event];
  const opts = args[1];
  if (fields !== undefined && opts !== undefined && opts !== null) {
    if (typeof opts !== 'object' || Array.isArray(opts)) throw new HeraldError('bad_request', `${event} options must be an object`);
    for (const f of fields) if ((opts as Record<string, unknown>)[f] !== undefined) command[f] = (opts as Record<string, unknown>)[f];
  }
  return command;
}
