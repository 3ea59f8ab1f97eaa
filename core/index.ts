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
export type {
  BrokerApi, BrokerStats, PublishResult, Limits, HistorySettings, TransportSettings, SessionHandle,
  Action, AdapterNode, ClusterAdapter, ClusterAdapterStats, Connection, Encoder, Handshake, Hooks, HistoryBounds, HistoryQuery, HistoryResult, HistoryStore, HistoryStoreStats, Principal,
  RequestHandler, Transport, TransportHost, UpgradeHandler,
} from './contracts.js';
export { CloseCodes, ErrorCodes, HeraldError, type ErrorCode } from './errors.js';
export { ConfigError, type BrokerOptions, type ResolvedOptions } from './options.js';
export { codecs, jsonCodec, msgpackCodec, type Codec } from './codec.js';
export { parseCommand, commandId, type Command, type MsgPush, type Position, type PresenceEntry, type ServerMessage } from './protocol.js';
export { Publication, type Chunk } from './publication.js';
export { Router } from './router.js';
export { Session } from './session.js';
export { assertPattern, assertTopic, covers, isPattern, isTopic, matches } from './topic.js';
export { jwtAuth, createJwtVerifier, apiKeyChecker, bearerOf, allows, grantsOf, type JwtOptions, type Grants, type ApiKeyCheck } from './auth/index.js';
export { OriginPolicy, normaliseOrigin } from './origins.js';
export { TokenBucket } from './limits/token-bucket.js';
export { Admission, type AdmissionLimits, type Refusal } from './limits/admission.js';
export { memoryAdapter, createMemoryBus, memoryHistory, type MemoryBus, type MemoryBusOptions } from '../adapters/memory/index.js';
