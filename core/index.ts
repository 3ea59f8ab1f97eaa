/** `herald`: the transport-neutral core. Importing it never loads ws, socket.io or NATS. */
import type { Broker } from './broker.js';
import { createContainer, startBroker } from './di.js';
import type { BrokerOptions } from './options.js';

/**
 * Creates a broker and starts it: the adapter is connected, transports attached and, with `port`,
 * the server listening. Exactly one of `port`, `server`, `noServer` (like `ws`).
 */
export async function createBroker(options: BrokerOptions): Promise<Broker> {
  return startBroker(createContainer(options));
}

export { Broker, type BrokerEvents } from './broker.js';
export type { BrokerOptions, ResolvedOptions } from './options.js';
export { jwtAuth, createJwtVerifier, apiKeyChecker, bearerOf, allows, grantsOf, type JwtOptions, type Grants, type ApiKeyCheck } from './auth/index.js';
// What hooks, application code and a custom transport name (herald/plugin has the rest a plugin needs).
export type * from './contracts.js';
export type { Command, MsgPush, Position, PresenceEntry, ServerMessage, UnsubReason } from './messages.js';
export {
  CloseCodes, ConfigError, configIssues, ErrorCodes, HeraldError, SetupError, SetupErrorCodes,
  type ConfigIssue, type ErrorCategory, type ErrorCode, type SetupErrorCode,
} from './errors.js';
export { codecs, jsonCodec, msgpackCodec, type Codec } from './codec.js';
export { Publication, type Chunk } from './publication.js';
export { assertPattern, assertTopic, covers, isPattern, isTopic, matches } from './topic.js';
export { memoryAdapter, createMemoryBus, memoryHistory, type MemoryAdapterOptions, type MemoryBus, type MemoryBusOptions } from './cluster/memory-adapter.js';
