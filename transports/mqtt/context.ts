/** What every MQTT connection of one transport shares: options, the session store, retained index, live clients. */
import type { Principal, TransportHost } from '../../core/plugin.js';
import type { ResolvedMqttOptions } from './options.js';
import type { RetainedIndex, SessionStore } from './store.js';

export interface Will {
  readonly topic: string;
  readonly data: unknown;
  readonly retain: boolean;
  readonly delay: number;
}

/** A connection as the context tracks it by client id (client.ts MqttClient). */
export interface LiveClient {
  readonly clientId: string;
  /** A newer connection claimed the same client id: this one ends (MQTT session takeover). */
  takenOver(): void;
}

export interface MqttContext {
  readonly host: TransportHost;
  readonly options: ResolvedMqttOptions;
  readonly store: SessionStore;
  readonly retained: RetainedIndex;
  /** Does `topic` keep history (so it can hold a retained message)? */
  keepsHistory(topic: string): boolean;
  /** `client` connected with its client id: an older connection with the same id is taken over. */
  claim(client: LiveClient): void;
  /** `client`'s connection is gone. */
  release(client: LiveClient): void;
  /** Publishes a vanished client's Will (after its delay), as its principal, with the grants of any publish. */
  publishWill(clientId: string, principal: Principal, will: Will): void;
}
