/**
 * Command line of the standalone binary: subcommand, flags, and the merged configuration
 * (bin/config.ts: defaults < config file < environment < flags). The flags and the --help text
 * come from config.ts's SETTINGS table. Kept apart from herald.ts so it can be tested without
 * starting anything.
 */
import { parseArgs } from 'node:util';
import { SetupError } from '../core/errors.js';
import { parseArgsOptions, resolveConfig, SETTINGS, shownDefault, type BinaryConfig, type SecurityConfig, type Setting } from './config.js';
import { TOOLS_HELP } from './tools.js';

/** One --help line: the flag (or, env only, the variable), what it does, its variables and default. */
function helpLine(s: Setting): string {
  const env = s.kind === 'bool' && s.flag !== undefined ? `${s.env.join(', ')}=${s.negate ? 'false' : 'true'}` : s.env.join(', ');
  const head = s.flag === undefined ? `(env ${env})` : `--${s.flag}${s.arg ? ` ${s.arg}` : ''}`;
  const fallback = s.kind === 'bool' ? undefined : shownDefault(s);
  const notes = [...(s.flag === undefined ? [] : [`env ${env}`]), ...(fallback === undefined ? [] : [`default ${fallback}`])];
  const line = `  ${head.padEnd(26)} ${s.help}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
  return line;
}

const lines = (group: Setting['group']): string =>
  SETTINGS.filter((s) => s.help !== undefined && s.group === group).map(helpLine).join('\n');

export const HELP = `herald - protocol-agnostic pub/sub broker

Usage: herald [options]                 run the broker
       herald check-config [options]    print the resolved configuration (or what is wrong) and exit 0 (or 2)
${TOOLS_HELP}
Options (each also from a config file and HERALD_* env; precedence: flag > env > file > default):
  ${'--config <file>'.padEnd(26)} JSON config file (env HERALD_CONFIG); every key: docs/configuration.md
${lines(undefined)}
  ${'-h, --help'.padEnd(26)} show this help
Broker limits, history, presence and control settings: config file or env HERALD_LIMITS_*, HERALD_HISTORY_*,
HERALD_PRESENCE_*, HERALD_CONTROL_* (e.g. HERALD_LIMITS_MAX_PAYLOAD=131072); list: docs/configuration.md.

Security (docs/security.md):
${lines('security')}

Endpoints: ws://<host>:<port>/ws (protocol v1, subprotocols herald.v1.json / herald.v1.msgpack)
           http://<host>:<port>/client.js (the browser client, ESM: import { HeraldClient } from '/client.js')
           http://<host>:<port>/ (live dashboard), /metrics (Prometheus), /healthz (alive), /readyz (ready)
           /events (SSE), /socket.io/ (socket.io, namespaces / and /herald), /api/publish (HTTP API)
           ws://<host>:<port>/mqtt (MQTT 3.1.1/5.0 over WebSocket), mqtt://<host>:1883 with --mqtt
Signals: SIGINT/SIGTERM close clients with 1001 and exit within the shutdown timeout.
Exit codes: 0 stopped, 1 failed (port in use, shutdown deadline), 2 bad configuration.
Error codes: docs/errors.md.
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

/** The command line itself is wrong (code `invalid_usage`): the binary shows the help. A bad value is a ConfigError. */
export class UsageError extends SetupError {
  constructor(message: string) {
    super('invalid_usage', message);
    this.name = 'UsageError';
  }
}

const COMMANDS = new Set(['check-config']);

/** Throws UsageError for a bad command line, ConfigError for a bad value. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv, cwd?: string): CliConfig {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, strict: true, allowPositionals: true, options: parseArgsOptions() }) as { values: typeof values; positionals: string[] });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (positionals.length > 1 || (positionals[0] !== undefined && !COMMANDS.has(positionals[0]))) {
    throw new UsageError(`unknown command ${JSON.stringify(positionals.join(' '))} (commands: ${[...COMMANDS].join(', ')})`);
  }
  const config = resolveConfig({ flags: values, env, cwd });
  return {
    command: positionals[0] === 'check-config' ? 'check-config' : 'serve',
    help: values.help === true,
    port: config.port,
    host: config.host,
    logLevel: config.logLevel,
    security: config.security,
    nats: config.nats.servers.length > 0 ? config.nats.servers : undefined,
    natsPrefix: config.nats.prefix,
    config,
  };
}
