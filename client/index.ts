/**
 * `herald/client`: a reconnecting protocol v1 client for browsers and Node. The standalone broker
 * serves this module bundled at /client.js (see ops/client-bundle/index.ts, herald/client/serve), so a page can
 * `import { HeraldClient } from '/client.js'`.
 */
export {
  HeraldClient,
  type ClientEvents, type ClientState, type ConnectedEvent, type ConnectingEvent, type DisconnectedEvent,
  type HeraldClientOptions, type HistoryOptions, type HistoryResult, type PublishResult, type TokenSource,
} from './client.js';
export {
  Subscription,
  type Message, type Position, type PresenceEntry, type SubscribeOptions, type SubscribedEvent, type SubscriptionEvents,
  type SubscriptionState, type UnsubscribedEvent,
} from './subscription.js';
export { HeraldClientError, type ClientErrorCode } from './errors.js';
export { Backoff, fullJitterDelay, type BackoffOptions } from './backoff.js';
export { LocalCloseCodes } from './connection.js';
export type { Protocol } from './codec.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket.js';
export type { EventSourceConstructor, EventSourceLike, SseFallbackOptions } from './sse-link.js';
