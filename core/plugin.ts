/**
 * `herald/plugin`: what a transport or a cluster adapter builds on, and nothing else of the broker
 * (docs/writing-a-transport.md). The built-in transports and adapters import core/ only through
 * this module, exactly as examples/custom-transport does (test/core/import-boundary.test.ts keeps
 * it so). Separate from `herald` (the embedder's entry: createBroker, options, auth hooks) so that
 * a plugin loads no broker, and the broker's internals stay private to it.
 */
export type * from './contracts.js';
export type { MsgPush, Position, PresenceEntry, Reply, ServerMessage, UnsubReason } from './messages.js';
export {
  CloseCodes, RECONNECT_CLOSE_CODES, ConfigError, configIssues, ErrorCodes, HeraldError, SetupError, SetupErrorCodes, toHeraldError,
  type ConfigIssue, type ErrorCode, type SetupErrorCode,
} from './errors.js';
export { codecs, jsonCodec, msgpackCodec, msgpackOptions, type Codec } from './codec.js';
export { Publication, type Chunk } from './publication.js';
/** JSON answers and errors over plain HTTP, with each error code's status. */
export { sendError, sendJson, STATUS_OF } from './http-json.js';
// A cluster engine extends the base, which keeps what every engine shares (docs/architecture.md).
export { ClusterAdapterBase, type Received, type RepairSource, type Stamp } from './cluster/adapter-base.js';
// The in-memory engine: every broker's default, and a base for engines that keep history in process.
export {
  createMemoryBus, memoryAdapter, memoryHistory, MemoryAdapter, MemoryBus, MemoryHistory,
  type MemoryAdapterOptions, type MemoryBusOptions,
} from './cluster/memory-adapter.js';
export { MAX_REPAIRED } from './cluster/gap-repair.js';
export { MAX_HISTORY_LIMIT, parsePosition } from './protocol.js';
export { SUBPROTOCOLS } from './messages.js';
export { assertPattern, assertTopic, covers, hasWildcard, isPattern, isTopic, matches, NAME_TOKEN } from './topic.js';
/** The HTTP API's credentials: API keys and the hooks applied to one request. */
export { apiKeyChecker, bearerOf, type ApiKeyCheck } from './auth/api-key.js';
export { adminAuthorizer, requestAuthorizer, type AdminAuthorizer, type RequestAuthorizer } from './auth/request.js';
/** An adapter carries control commands between nodes and validates what arrives. */
export { parseControlCommand } from './control.js';
/** A transport that listens on its own port (MQTT) applies the broker's per-IP limits itself. */
export { Admission, type AdmissionLimits, type Refusal } from './limits/admission.js';
/** Log lines a client can cause are rate-limited per kind. */
export { LogLimiter } from './log-limiter.js';
