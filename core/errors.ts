/**
 * The one error registry (docs/protocol.md). Codes are part of protocol v1: clients branch on them,
 * so they never change meaning. `test/core/errors.test.ts` pins the list.
 */
export const ErrorCodes = {
  bad_request: 'The command is malformed: not an object, unknown op, missing or mistyped field.',
  invalid_topic: 'The topic or pattern breaks the topic grammar, or a publication names a wildcard.',
  unauthorized: 'The connection is not authenticated, or its credentials were rejected.',
  forbidden: 'The principal may not perform this action on this topic.',
  too_large: 'The message or payload exceeds a configured size limit.',
  rate_limited: 'The connection sends faster than its configured rate.',
  limit_exceeded: 'A configured count limit was reached (subscriptions, connections...).',
  unsupported: 'The server does not offer this feature here (for example history on this topic).',
  internal: 'The server failed; the command may be retried.',
  unavailable: 'The cluster or the history store cannot take the command right now (the link is down and the publish outbox is full or too old; the disk is full); nothing was done, retry later.',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** WebSocket close codes used by every transport that has the notion (docs/protocol.md). */
export const CloseCodes = {
  /** Server shutting down: reconnect (to another node). */
  shuttingDown: 1001,
  /** A frame exceeded `maxPayload`. */
  tooLarge: 1009,
  /** Unauthorized: do not reconnect with the same token. */
  unauthorized: 4001,
  /** Disconnected by the application (broker.disconnect): the client may reconnect. */
  disconnected: 4002,
  /** Disconnected by the application for good (a ban, a logout everywhere): the client must not reconnect. */
  disconnectedForGood: 4003,
  /** Outbound queue over its byte cap: reconnect and recover from history. */
  slowConsumer: 4008,
  /** Repeatedly over the message rate. */
  rateLimited: 4029,
  /** Too many protocol violations. */
  protocolViolation: 4400,
} as const;

/** An error with a stable protocol code; what the wire shows as `{code, message}`. */
export class HeraldError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string = ErrorCodes[code]) {
    super(message);
    this.name = 'HeraldError';
    this.code = code;
  }
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Normalises anything thrown inside a command handler into a wire error; unknown failures become `internal`. */
export function toHeraldError(err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  return new HeraldError('internal', 'internal error');
}
