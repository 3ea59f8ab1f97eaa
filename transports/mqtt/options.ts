/** Options of the MQTT transport (docs/configuration.md, "MQTT transport"), validated with zod. */
import { z } from 'zod';
import { ConfigError, configIssues } from '../../core/plugin.js';

const positiveInt = z.number().int().positive();

const schema = z.object({
  /** TCP port for MQTT (1883 is the usual one); absent: no TCP listener, only WebSocket at `path`. */
  port: z.number().int().min(0).max(65535).optional(),
  /** Interface the TCP listener binds (default: the broker's `host`, else every interface). */
  host: z.string().optional(),
  /** WebSocket path on the broker's HTTP port (subprotocol `mqtt`); false: none. */
  path: z.union([z.string().startsWith('/'), z.literal(false)]).default('/mqtt'),
  /** Largest packet accepted, in bytes (default: the broker's limits.maxPayload). Over it: DISCONNECT 0x95. */
  maxPacketSize: positiveInt.max(268_435_455).optional(),
  /** Unacknowledged QoS 1 deliveries per connection (and the Receive Maximum announced); more wait, counted in the outbound byte cap. */
  maxInflight: positiveInt.max(65_535).default(64),
  /** Persistent sessions kept for disconnected clients; past it the oldest is dropped. */
  maxSessions: positiveInt.default(10_000),
  /** Seconds a persistent session outlives its connection at most (3.1.1 clean-session=false sessions get this). */
  maxSessionExpiry: z.number().int().min(0).default(3600),
  /** Seconds of keepalive granted at most; a client asking 0 (none) or more gets this (5.0: Server Keep Alive). */
  maxKeepalive: positiveInt.max(65_535).default(300),
  /** Milliseconds a connection may take to send CONNECT (default: the broker's limits.authTimeout). */
  connectTimeout: positiveInt.optional(),
  /** Topics with a retained message remembered per node; past it the least recently retained is forgotten. */
  maxRetained: positiveInt.default(10_000),
}).strict();

export type MqttOptions = z.input<typeof schema>;
export type ResolvedMqttOptions = Omit<z.output<typeof schema>, 'maxPacketSize' | 'connectTimeout'> & { maxPacketSize: number; connectTimeout: number };

export function resolveMqttOptions(input: MqttOptions, defaults: { maxPayload: number; authTimeout: number }): ResolvedMqttOptions {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(configIssues(result.error.issues, 'mqtt'));
  return { ...result.data, maxPacketSize: result.data.maxPacketSize ?? defaults.maxPayload, connectTimeout: result.data.connectTimeout ?? defaults.authTimeout };
}
