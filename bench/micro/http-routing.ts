/**
 * Micro A/B (issue 14 item 11): the HTTP host's route lookup (core/http-host.ts: an exact Map, then
 * a short prefix list) against find-my-way, for the paths the binary serves and a miss. Interleaved
 * rounds with an A-vs-A control; ns per lookup. Run: npx tsx bench/micro/http-routing.ts
 */
import FindMyWay from 'find-my-way';

const EXACT = ['/ws', '/events', '/api/publish', '/api/info', '/api/topics', '/healthz', '/metrics', '/readyz', '/client.js', '/mqtt'];
const PREFIXES = ['/socket.io/', '/api/history/', '/api/presence/', '/dashboard/'];
const PATHS = ['/ws', '/socket.io/', '/events', '/api/publish', '/api/history/chat.lobby', '/healthz', '/nothing/here'];

type Handler = () => number;
const handler: Handler = () => 1;

/** What core/http-host.ts does. */
function ours(): (path: string) => Handler | undefined {
  const exact = new Map<string, Handler>(EXACT.map((p) => [p, handler]));
  const prefixes: [string, Handler][] = PREFIXES.map((p) => [p, handler]);
  return (path) => {
    let h = exact.get(path);
    if (h === undefined) for (const [prefix, ph] of prefixes) if (path.startsWith(prefix)) { h = ph; break; }
    return h;
  };
}

function library(): (path: string) => Handler | undefined {
  const router = FindMyWay();
  for (const p of EXACT) router.on(['GET', 'POST'], p, handler);
  for (const p of PREFIXES) router.on(['GET', 'POST'], `${p}*`, handler);
  return (path) => router.find('GET', path)?.handler as Handler | undefined;
}

const arms: Record<string, (path: string) => Handler | undefined> = { ours: ours(), 'ours (control)': ours(), 'find-my-way': library() };
for (const path of PATHS) {
  const expected = arms.ours!(path) !== undefined;
  if ((arms['find-my-way']!(path) !== undefined) !== expected) throw new Error(`the routers disagree on ${path}`);
}
const N = 2_000_000;
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(arms).map((k) => [k, []]));
for (let round = 0; round < 9; round++) {
  for (const [name, find] of Object.entries(arms)) {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (find(PATHS[i % PATHS.length]!) !== undefined) hits++;
    samples[name]!.push(Number(process.hrtime.bigint() - t0) / N);
    if (hits === 0) throw new Error('no route found');
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples.ours!);
for (const [name, xs] of Object.entries(samples)) {
  const ratios = xs.map((x, i) => x / samples.ours![i]!);
  console.log(`${name}: ${median(xs).toFixed(1)} ns per lookup, ${(median(xs) / base).toFixed(2)}x ours (per round ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
}
