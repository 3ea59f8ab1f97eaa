#!/usr/bin/env node
/** The standalone broker: `npm start` or `herald --port 8080`. */
import { pino } from 'pino';
import { createBroker } from '../core/index.js';
import { ws } from '../transports/ws/index.js';
import { socketio } from '../transports/socketio/index.js';
import { sse } from '../transports/sse/index.js';
import { httpApi } from '../transports/http/index.js';
import { clientBundle } from '../client/serve.js';
import { CliError, HELP, parseCli, type CliConfig } from './cli.js';
import { planSecurity, type SecurityPlan } from './security.js';

/** Milliseconds between the shutdown signal and a forced exit. */
const SHUTDOWN_DEADLINE = 10_000;

async function main(): Promise<void> {
  let config: CliConfig;
  try {
    config = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`herald: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(HELP);
    return;
  }
  let security: SecurityPlan;
  try {
    security = planSecurity(config.security, config.host);
  } catch (err) {
    process.stderr.write(`herald: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ name: 'herald', level: config.logLevel });
  for (const [level, message] of security.notices) logger[level](message);
  // Loaded only when asked for: a single node never loads the NATS client.
  const adapter = config.nats === undefined ? undefined
    : (await import('../adapters/nats/index.js')).natsAdapter({ servers: config.nats, prefix: config.natsPrefix });
  const broker = await createBroker({ port: config.port, host: config.host, transports: [ws(), socketio(), sse(), httpApi({ apiKeys: config.security.apiKeys }), clientBundle()], logger, ...security.options, ...(adapter ? { adapter } : {}) });
  const { address, port } = broker.address()!;
  const shown = address.includes(':') ? `[${address}]` : address;
  const secure = security.options.tls !== undefined;
  logger.info({ host: address, port }, `herald listening on http${secure ? 's' : ''}://${shown}:${port} (WebSocket ws${secure ? 's' : ''}://${shown}:${port}/ws)`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE).unref();
    broker.close().then(
      () => { logger.info('stopped'); process.exit(0); },
      (err: unknown) => { logger.error({ err }, 'shutdown failed'); process.exit(1); },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`herald: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
