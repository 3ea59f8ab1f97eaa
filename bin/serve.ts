/**
 * The standalone broker (bin/herald.ts runs it for every command but the tools): settings from the
 * command line, environment and config file; every transport and ops plugin; clean shutdown on
 * SIGINT and SIGTERM.
 */
import { lmdbHistory } from '../adapters/lmdb/index.js';
import { createBroker } from '../core/index.js';
import { ws } from '../transports/ws/index.js';
import { socketio } from '../transports/socketio/index.js';
import { sse } from '../transports/sse/index.js';
import { httpApi } from '../transports/http/index.js';
import { mqtt } from '../transports/mqtt/index.js';
import { clientBundle } from '../ops/client-bundle/index.js';
import { metrics } from '../ops/metrics/index.js';
import { dashboard } from '../ops/dashboard/index.js';
import { ConfigError } from '../core/errors.js';
import { HELP, parseCli, UsageError, type CliConfig } from './cli.js';
import { redacted, unknownEnv } from './config.js';
import { endpointLines, endpointList } from './endpoints.js';
import { binaryLogger } from './logger.js';
import { planSecurity, type SecurityPlan } from './security.js';

/** The broker itself: the command line and environment resolved, then the broker started until a signal stops it. */
export async function serve(): Promise<void> {
  let config: CliConfig;
  let security: SecurityPlan;
  try {
    config = parseCli(process.argv.slice(2), process.env);
    if (config.help) {
      process.stdout.write(HELP);
      return;
    }
    security = planSecurity(config.security, config.host);
  } catch (err) {
    // Exit 2 for both (docs/errors.md): a bad command line shows the help, a bad value names its key.
    if (err instanceof UsageError) process.stderr.write(`herald: ${err.message}\n\n${HELP}`);
    else if (err instanceof ConfigError) process.stderr.write(`herald: invalid configuration:\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
    else throw err;
    process.exit(2);
  }
  // Reported, not fatal: a shell may export HERALD_* variables of its own (docs/configuration.md).
  const typos = unknownEnv(process.env);
  if (config.command === 'check-config') {
    for (const t of typos) process.stderr.write(`herald: ${t.message}\n`);
    process.stdout.write(`${JSON.stringify(redacted(config.config), null, 2)}\n`);
    return;
  }
  const { limits, history, presence, control, nodeId, shutdownTimeout } = config.config;
  const ops = [
    ...(config.config.metrics.enabled ? [metrics()] : []),
    ...(config.config.dashboard.enabled ? [dashboard({ topic: config.config.dashboard.statsTopic, interval: config.config.dashboard.interval })] : []),
  ];
  const logger = binaryLogger(config.logLevel, config.config.logFormat);
  for (const t of typos) logger.warn({ code: t.code, variable: t.variable }, t.message);
  for (const [level, message] of security.notices) logger[level](message);
  // Loaded only when asked for: a single node never loads the NATS client.
  const adapter = config.nats === undefined ? undefined
    : (await import('../adapters/nats/index.js')).natsAdapter({
      servers: config.nats, prefix: config.natsPrefix,
      outboxBytes: config.config.nats.outboxBytes, outboxAgeMs: config.config.nats.outboxAgeMs,
    });
  const { disk } = config.config;
  if (disk !== undefined) logger.info({ dir: disk.dir, durability: disk.durability }, `history kept on disk in ${disk.dir} (durability ${disk.durability})`);
  else if (adapter === undefined) logger.info('history kept in memory only: a restart starts every topic over');
  if (config.config.configFile !== undefined) logger.info({ file: config.config.configFile }, 'configuration file read');
  const namespaces = ['/', '/herald'];
  const { enabled: mqttEnabled, port: mqttPort, ...mqttBounds } = config.config.mqtt;
  const mqttTcp = mqttEnabled || mqttPort !== undefined;
  const mqttTransport = mqtt({ ...mqttBounds, ...(mqttTcp ? { port: mqttPort ?? 1883, host: config.host } : {}) });
  const broker = await createBroker({
    port: config.port,
    host: config.host,
    // A stock `io(url)` lands on `/`: served like `/herald`, so it works as typed.
    transports: [ws(), socketio({ namespace: namespaces }), sse(), httpApi({ apiKeys: config.security.apiKeys }), clientBundle(), mqttTransport, ...ops],
    logger,
    ...security.options,
    limits,
    history: disk === undefined ? history : { ...history, store: lmdbHistory(disk) },
    presence,
    control,
    ...(nodeId !== undefined ? { nodeId } : {}),
    ...(adapter ? { adapter } : {}),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'history_dir') {
      process.stderr.write(`herald: ${err.message}: choose another with --data-dir or HERALD_DATA_DIR, or run with --in-memory\n`);
      process.exit(1);
    }
    if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
    // One line, no stack: the operator's fix is a flag, not a bug report.
    const why = err.code === 'EADDRINUSE' ? 'is already in use (another herald?)' : 'may not be bound by this user';
    const mqttPortTaken = mqttTcp && (err as { port?: number }).port === (mqttPort ?? 1883) && (mqttPort ?? 1883) !== config.port;
    const [port, fix] = mqttPortTaken ? [mqttPort ?? 1883, '--mqtt-port or HERALD_MQTT_PORT'] : [config.port, '--port or PORT'];
    process.stderr.write(`herald: port ${port} on ${config.host} ${why}: choose another with ${fix}\n`);
    process.exit(1);
  });
  const { address, port } = broker.address()!;
  const shown = address.includes(':') ? `[${address}]` : address;
  const base = `http${security.options.tls !== undefined ? 's' : ''}://${shown}:${port}`;
  const endpoints = endpointList({
    base, dashboard: config.config.dashboard.enabled, metrics: config.config.metrics.enabled, socketIoNamespaces: namespaces,
    ...(mqttTcp ? { mqttTcp: `mqtt://${shown}:${mqttTransport.port}` } : {}),
  });
  logger.info({ host: address, port, endpoints: Object.fromEntries(endpoints) }, `herald listening on ${base}\n${endpointLines(endpoints)}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, shutdownTimeout).unref();
    broker.close().then(
      () => { logger.info('stopped'); process.exit(0); },
      (err: unknown) => { logger.error({ err }, 'shutdown failed'); process.exit(1); },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

