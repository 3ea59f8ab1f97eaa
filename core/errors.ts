/**
 * The one error registry (docs/errors.md), in three categories, as Fastify keeps its codes in one
 * place: protocol errors a client receives as `{code, message}`, setup errors thrown at start (by
 * createBroker, a plugin's factory, an adapter's start, the binary), and close codes. Every code is
 * stable: clients branch on protocol codes and close codes, operators and embedders on setup codes.
 * `test/core/errors.test.ts` pins the registry against docs/errors.md both ways.
 */

/** Protocol errors: part of protocol v1, sent to clients; they never change meaning. */
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

/** Setup errors: thrown before or while the broker starts, never sent to a client. */
export const SetupErrorCodes = {
  invalid_config: 'An option, config file key, environment variable or flag has a value that cannot be used; `issues` names each key and where its value came from.',
  invalid_usage: 'The command line of the binary is wrong: an unknown flag or command, a missing argument.',
  unknown_env: 'A `HERALD_*` environment variable that no setting reads (a typo): reported at start with the nearest known name.',
  route_conflict: 'Two transports claim the same HTTP path or upgrade path.',
  not_started: 'Something that exists only once the broker has started was used before.',
  already_started: 'A plugin or adapter instance was started twice (one instance serves one broker).',
  node_id_taken: 'Another node on the same cluster bus already has this node id.',
  history_dir: 'The history directory cannot be used: not creatable, not writable, or held by another process.',
  cluster_unreachable: 'The cluster adapter cannot connect to its servers within the connect timeout at start.',
  cluster_setup: 'The cluster adapter connected but cannot create what it needs there (the JetStream history stream).',
  missing_asset: 'A file the package ships (the browser client, the dashboard page) is not where it should be: a broken install.',
  broker_unreachable: 'A tool of the binary (`herald api`) cannot reach the broker, or what answers is not a Herald HTTP API.',
  api_refused: 'The broker answered a tool\'s call with an error; the answer is printed as it is.',
} as const;

export type SetupErrorCode = keyof typeof SetupErrorCodes;

/** What kind of error a registry code is (docs/errors.md has one section each). */
export type ErrorCategory = 'protocol' | 'setup' | 'close';

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

/**
 * Close codes after which the client should come back: the transports without WebSocket close codes
 * (socket.io, SSE) say `reconnect: true` for these, and close so that their client library reconnects.
 */
export const RECONNECT_CLOSE_CODES: ReadonlySet<number> = new Set<number>([CloseCodes.shuttingDown, CloseCodes.slowConsumer, CloseCodes.rateLimited, CloseCodes.disconnected]);

/** An error with a stable protocol code; what the wire shows as `{code, message}`. */
export class HeraldError extends Error {
  readonly category = 'protocol';
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

/** A failure at start: a stable code from SetupErrorCodes, a message naming what to fix. */
export class SetupError extends Error {
  readonly category = 'setup';
  readonly code: SetupErrorCode;
  constructor(code: SetupErrorCode, message: string = SetupErrorCodes[code], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SetupError';
    this.code = code;
  }
}

/** One bad setting: its key, where its value came from (a file, an env variable, a flag) when known, what is wrong. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly source?: string;
}

/** `limits.maxPayload (env HERALD_LIMITS_MAX_PAYLOAD): Too small...`: the line an operator reads. */
export function describeIssue(issue: ConfigIssue): string {
  const where = issue.path === '' ? (issue.source ?? '(root)') : issue.source === undefined ? issue.path : `${issue.path} (${issue.source})`;
  return `${where}: ${issue.message}`;
}

/**
 * A configuration that cannot be used (code `invalid_config`), whoever checked it: createBroker's
 * options, a plugin's or adapter's options, the binary's file, environment and flags. The message
 * names every bad key; `issues` has them one by one.
 */
export class ConfigError extends SetupError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], context = 'invalid Herald options') {
    super('invalid_config', `${context}: ${issues.map(describeIssue).join('; ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** One line per issue, as the binary prints them. */
  get problems(): string[] {
    return this.issues.map(describeIssue);
  }
}

/** zod issues as config issues, their paths under `prefix` (e.g. `mqtt`). */
export function configIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], prefix = ''): ConfigIssue[] {
  return issues.map((i) => ({ path: [...(prefix ? [prefix] : []), ...i.path.map(String)].join('.'), message: i.message }));
}
