#!/usr/bin/env node
/**
 * The standalone binary: `npm start` or `herald --port 8080` runs the broker (serve.ts); `herald
 * gentoken` and `herald api` are tools (tools.ts). Each loads only what it needs: a tool then starts
 * in about half the time, without the transports, lmdb or NATS.
 */
import type { ToolName } from './tools.js';

async function main(): Promise<void> {
  const sub = process.argv[2];
  if (sub === 'gentoken' || sub === 'api') return (await import('./tools.js')).runTool(sub satisfies ToolName, process.argv.slice(3));
  return (await import('./serve.js')).serve();
}

main().catch((err: unknown) => {
  process.stderr.write(`herald: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
