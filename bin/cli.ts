/**
 * Command line of the standalone binary: subcommand, flags, and the merged configuration
 * (bin/config.ts: defaults < config file < environment < flags). Kept apart from herald.ts so it
 * can be tested without starting anything.
 */
import { parseArgs } from 'node:util';
import { ConfigProblem, resolveConfig, securityOf, type BinaryConfig } from './config.js';
import { SECURITY_HELP, SECURITY_OPTIONS, type SecurityConfig } from './security.js';
import { TOOLS_HELP } from './tools.js';

export const HELP = `herald - protocol-agnostic pub/sub broker

Usage: herald [options]                 run the broker
       herald check-config [options]    print the resolved configuration (or what is wrong) and exit 0 (or 2)
${TOOLS_HELP}
Options (each also from a config file and HERALD_* env; precedence: flag > env > file > default):
  --config <file>   JSON config file (env HERALD_CONFIG); every key: docs/configuration.md
  --port <n>        port to listen on (env PORT, default 8080)
  --host <addr>     interface to bind (env HOST, default 127.0.0.1)
  --log-level <l>   fatal|error|warn|info|debug|trace|silent (env HERALD_LOG_LEVEL, default info)
  --log-format <f>  auto|pretty|json: auto is readable on a terminal, JSON lines otherwise (env HERALD_LOG_FORMAT)
  --nats <urls>     join a cluster over NATS: comma-separated nats:// URLs (env HERALD_NATS_URL);
                    history needs JetStream (nats-server -js). Default: single node, history on disk
  --nats-prefix <p> subject prefix shared by the nodes of one cluster (env HERALD_NATS_PREFIX, default herald)
  --nats-outbox-bytes <n>   bytes of publications that may wait while NATS is unreachable; past it a
                    publish is refused with unavailable (env HERALD_NATS_OUTBOX_BYTES, default 8388608)
  --nats-outbox-age-ms <ms> how long one may wait there before it is refused (env HERALD_NATS_OUTBOX_AGE_MS, default 10000)
  --data-dir <dir>  keep history on disk here, so a restart keeps positions (env HERALD_DATA_DIR, default ./herald-data)
  --in-memory       keep history in memory only: a restart starts every topic over (env HERALD_IN_MEMORY=true)
  --node-id <id>    this node's id (env HERALD_NODE_ID, default random)
  --shutdown-timeout <ms>  forced exit this long after SIGTERM (env HERALD_SHUTDOWN_TIMEOUT, default 10000)
  --no-dashboard    do not serve the live dashboard at / nor publish stats (env HERALD_DASHBOARD=false)
  --stats-topic <t> the dashboard's stats go to <t>.<node id> (env HERALD_DASHBOARD_STATS_TOPIC, default herald.stats)
  --no-metrics      do not serve /metrics and /readyz (env HERALD_METRICS=false)
  --mqtt            also serve MQTT over TCP on port 1883 (env HERALD_MQTT=true); MQTT over
                    WebSocket is always at /mqtt
  --mqtt-port <n>   serve MQTT over TCP on this port (env HERALD_MQTT_PORT; implies --mqtt)
  -h, --help        show this help
Broker limits, history, presence and control settings: config file or env HERALD_LIMITS_*, HERALD_HISTORY_*,
HERALD_PRESENCE_* (e.g. HERALD_LIMITS_MAX_PAYLOAD=131072); list: docs/configuration.md.

${SECURITY_HELP}
Endpoints: ws://<host>:<port>/ws (protocol v1, subprotocols herald.v1.json / herald.v1.msgpack)
           http://<host>:<port>/client.js (the browser client, ESM: import { HeraldClient } from '/client.js')
           http://<host>:<port>/ (live dashboard), /metrics (Prometheus), /healthz (alive), /readyz (ready)
           /events (SSE), /socket.io/ (socket.io, namespaces / and /herald), /api/publish (HTTP API)
           ws://<host>:<port>/mqtt (MQTT 3.1.1/5.0 over WebSocket), mqtt://<host>:1883 with --mqtt
Signals: SIGINT/SIGTERM close clients with 1001 and exit within the shutdown timeout.
Exit codes: 0 stopped, 1 failed (port in use, shutdown deadline), 2 bad configuration.
`;

export interface CliConfig {
  /** 'serve' runs the broker; 'check-config' prints the resolved configuration. */
  command: 'serve' | 'check-config';
  help: boolean;
  port: number;
  host: string;
  logLevel: string;
  security: SecurityConfig;
  /** NATS server URLs of the cluster; undefined for a single in-memory node. */
  nats: string[] | undefined;
  natsPrefix: string;
  /** Everything, merged and validated (bin/config.ts). */
  config: BinaryConfig;
}

export class CliError extends Error {
  readonly code = 'invalid_cli';
  /** One line per problem (config errors name their key and source). */
  readonly problems: readonly string[];
  /** 'usage': the command line itself is wrong (show the help); 'config': a value is. */
  readonly kind: 'usage' | 'config';
  constructor(message: string, problems: readonly string[] = [message], kind: 'usage' | 'config' = 'usage') {
    super(message);
    this.problems = problems;
    this.kind = kind;
  }
}

const COMMANDS = new Set(['check-config']);

export function parseCli(argv: string[], env: NodeJS.ProcessEnv, cwd?: string): CliConfig {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'node-id': { type: 'string' },
        'data-dir': { type: 'string' },
        'in-memory': { type: 'boolean' },
        'shutdown-timeout': { type: 'string' },
        nats: { type: 'string' },
        'nats-prefix': { type: 'string' },
        'nats-outbox-bytes': { type: 'string' },
        'nats-outbox-age-ms': { type: 'string' },
        'no-dashboard': { type: 'boolean' },
        'stats-topic': { type: 'string' },
        'no-metrics': { type: 'boolean' },
        mqtt: { type: 'boolean' },
        'mqtt-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...SECURITY_OPTIONS,
      },
    }));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (positionals.length > 1 || (positionals[0] !== undefined && !COMMANDS.has(positionals[0]))) {
    throw new CliError(`unknown command ${JSON.stringify(positionals.join(' '))} (commands: ${[...COMMANDS].join(', ')})`);
  }
  let config: BinaryConfig;
  let security: SecurityConfig;
  try {
    config = resolveConfig({ flags: values, env, cwd });
    security = securityOf(config);
  } catch (err) {
    if (err instanceof ConfigProblem) throw new CliError(err.message, err.problems, 'config');
    throw err;
  }
  return {
    command: positionals[0] === 'check-config' ? 'check-config' : 'serve',
    help: values.help === true,
    port: config.port,
    host: config.host,
    logLevel: config.logLevel,
    security,
    nats: config.nats.servers.length > 0 ? config.nats.servers : undefined,
    natsPrefix: config.nats.prefix,
    config,
  };
}
