/**
 * `npm run bench [-- <scenario>… ] [--quick] [--rounds N]`: runs the benchmark scenarios (all of
 * them by default), prints progress, and writes bench/results/latest.json and latest.md. A run of
 * some scenarios updates only their entries. Benchmarks never fail CI: the exit code reports only
 * whether the harness itself worked.
 */
import { hasTaskset } from './lib/children.js';
import { currentCommit, renderTable, writeResults, type ScenarioResult } from './lib/report.js';
import type { Scenario, ScenarioContext } from './scenarios/types.js';

const scenario = (name: string, title: string, path: string, unavailable?: Scenario['unavailable']): Scenario => ({
  name,
  title,
  unavailable,
  run: async (ctx) => ((await import(path)) as { run: Scenario['run'] }).run(ctx),
});

/** Every scenario, in the order `npm run bench` runs them. */
export const SCENARIOS: Scenario[] = [
  scenario('fanout', 'WS fan-out, 1 topic × 1,000 subscribers', './scenarios/fanout.ts'),
  scenario('latency', 'Latency at fixed load, 1,000 subscribers', './scenarios/latency.ts'),
  scenario('socketio', 'socket.io fan-out vs stock socket.io', './scenarios/socketio.ts'),
  scenario('sse', 'SSE fan-out vs hand-written servers', './scenarios/sse.ts'),
  scenario('matching', 'Topic matching, 1M subscriptions', './scenarios/matching.ts'),
  scenario('cluster', 'Cross-node via NATS vs single node', './scenarios/cluster.ts'),
  scenario('density', 'Density, 50,000 idle connections', './scenarios/density.ts'),
  scenario('history', 'History on disk vs in memory vs JetStream file store', './scenarios/history.ts'),
  scenario('mqtt', 'MQTT fan-out vs Mosquitto and aedes', './scenarios/mqtt.ts', async () => {
    const { MOSQUITTO } = await import('./peers/mosquitto.js');
    const { existsSync } = await import('node:fs');
    return existsSync(MOSQUITTO) ? undefined : `no mosquitto at ${MOSQUITTO} (Debian package mosquitto; MOSQUITTO=<path>)`;
  }),
];

function parseArgs(argv: string[]): { names: string[]; quick: boolean; rounds?: number; profile?: string; only?: string } {
  const names: string[] = [];
  let quick = false;
  let rounds: number | undefined;
  let profile: string | undefined;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a === '--profile') profile = argv[++i];
    else if (a === '--only') only = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: npm run bench [-- <scenario>...] [--quick] [--rounds N] [--profile <arm>] [--only <variant>]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
      process.exit(0);
    } else names.push(a);
  }
  return { names, quick, rounds, profile, only };
}

async function main(): Promise<void> {
  const { names, quick, rounds, profile, only } = parseArgs(process.argv.slice(2));
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    process.exit(2);
  }
  const selected = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const ctx: ScenarioContext = { quick, rounds, profile, only, log: (m) => process.stdout.write(`${m}\n`) };
  if (!hasTaskset) ctx.log('taskset unavailable: processes are not pinned');
  const results: ScenarioResult[] = [];
  const started = Date.now();
  const commit = currentCommit();
  for (const s of selected) {
    const t0 = Date.now();
    ctx.log(`\n== ${s.name}: ${s.title}`);
    const reason = await s.unavailable?.();
    let result: ScenarioResult;
    if (reason) {
      ctx.log(`  skipped: ${reason}`);
      result = { name: s.name, title: s.title, method: '', tables: [], targets: [], notes: [], raw: null, skipped: reason };
    } else {
      try {
        result = await s.run(ctx);
      } catch (err) {
        ctx.log(`  failed: ${(err as Error).stack ?? String(err)}`);
        process.exitCode = 1;
        // Recorded as failed: an older entry must not pass for this run's figures.
        const reason = String((err as Error).message ?? err).split('\n')[0]!.slice(0, 200);
        result = { name: s.name, title: s.title, method: '', tables: [], targets: [], notes: [], raw: null, failed: reason };
      }
    }
    result.durationSeconds = Math.round((Date.now() - t0) / 1000);
    result.commit = commit;
    if (quick) result.quick = true;
    result.date = new Date().toISOString();
    for (const t of result.tables) ctx.log(`\n${renderTable(t)}`);
    for (const t of result.targets) ctx.log(`  target ${t.verdict.toUpperCase().padEnd(6)} ${t.description}: ${t.measured}; ${t.rule}`);
    results.push(result);
  }
  // Profiling runs distort the profiled arm, and partial runs are partial: their figures are not kept.
  if (results.length && !profile && !only) writeResults(results, hasTaskset, SCENARIOS.map((s) => s.name));
  ctx.log(`\nbench done in ${Math.round((Date.now() - started) / 1000)} s${profile || only ? ' (partial run: results not written)' : '; results in bench/results/latest.{json,md}'}`);
  process.exit();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
