/**
 * Command line and environment of the standalone binary. Precedence: flag > environment > default.
 * Kept apart from herald.ts so it can be tested without starting anything.
 */
import { parseArgs } from 'node:util';
import { parseSecurity, SECURITY_HELP, SECURITY_OPTIONS, type SecurityConfig } from './security.js';

export const HELP = `herald - protocol-agnostic pub/sub broker

Usage: herald [options]

Options:
  --port <n>        port to listen on (env PORT, default 8080)
  --host <addr>     interface to bind (env HOST, default 127.0.0.1)
  --log-level <l>   fatal|error|warn|info|debug|trace|silent (env HERALD_LOG_LEVEL, default info)
  --nats <urls>     join a cluster over NATS: comma-separated nats:// URLs (env HERALD_NATS_URL);
                    history needs JetStream (nats-server -js). Default: single node, in memory
  --nats-prefix <p> subject prefix shared by the nodes of one cluster (env HERALD_NATS_PREFIX, default herald)
  -h, --help        show this help

${SECURITY_HELP}
Endpoints: ws://<host>:<port>/ws (protocol v1, subprotocols herald.v1.json / herald.v1.msgpack)
           http://<host>:<port>/client.js (the browser client, ESM: import { HeraldClient } from '/client.js')
Signals: SIGINT/SIGTERM close clients with 1001 and exit within 10 s.
`;

export interface CliConfig {
  help: boolean;
  port: number;
  host: string;
  logLevel: string;
  security: SecurityConfig;
  /** NATS server URLs of the cluster; undefined for a single in-memory node. */
  nats: string[] | undefined;
  natsPrefix: string;
}

export class CliError extends Error {
  readonly code = 'invalid_cli';
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'log-level': { type: 'string' },
        nats: { type: 'string' },
        'nats-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...SECURITY_OPTIONS,
      },
    }));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const portText = (values.port as string | undefined) ?? env.PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new CliError(`--port must be 0..65535, got ${JSON.stringify(portText)}`);
  const logLevel = (values['log-level'] as string | undefined) ?? env.HERALD_LOG_LEVEL ?? 'info';
  if (!LEVELS.has(logLevel)) throw new CliError(`--log-level must be one of ${[...LEVELS].join(', ')}`);
  const natsText = (values.nats as string | undefined) ?? env.HERALD_NATS_URL;
  const nats = natsText === undefined || natsText.trim() === '' ? undefined : natsText.split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const url of nats ?? []) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s/]+\/?$/.test(url) && !/^[^\s/:]+:\d+$/.test(url)) throw new CliError(`--nats: ${JSON.stringify(url)} is not a NATS URL (nats://host:port)`);
  }
  const natsPrefix = (values['nats-prefix'] as string | undefined) || env.HERALD_NATS_PREFIX || 'herald';
  if (!/^[A-Za-z0-9_\-:@=+~]+(\.[A-Za-z0-9_\-:@=+~]+)*$/.test(natsPrefix)) throw new CliError(`--nats-prefix must be dot-separated subject tokens, got ${JSON.stringify(natsPrefix)}`);
  let security: SecurityConfig;
  try {
    security = parseSecurity(values, env);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return {
    security,
    help: values.help === true,
    port,
    // An empty HOST means unset: passed on, '' would make listen() bind every interface.
    host: (values.host as string | undefined) || env.HOST || '127.0.0.1',
    logLevel,
    nats,
    natsPrefix,
  };
}
