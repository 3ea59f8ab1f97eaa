/** Scenario results: the shape every scenario returns, and their JSON + Markdown rendering. */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Table {
  caption: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface Target {
  description: string;
  /** Measured value as shown (usually a median ratio). */
  measured: string;
  /** null when it could not be judged (missing peer, too noisy). */
  met: boolean | null;
}

export interface ScenarioResult {
  name: string;
  title: string;
  /** How it was measured, in a sentence or two. */
  method: string;
  tables: Table[];
  targets: Target[];
  notes: string[];
  /** Per-round measurements and anything else worth keeping. */
  raw: unknown;
  /** Set instead of figures when the scenario could not run (e.g. a transport not landed yet). */
  skipped?: string;
  durationSeconds?: number;
}

export interface RunFile {
  generatedAt: string;
  machine: { cpus: number; model: string; node: string; pinned: boolean; loadavg: number[] };
  scenarios: Record<string, ScenarioResult>;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** Merges this run's scenarios into latest.json (a single-scenario run updates only its entry). */
export function writeResults(results: ScenarioResult[], pinned: boolean, order: string[]): RunFile {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}latest.json`;
  const previous: RunFile | undefined = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as RunFile : undefined;
  const scenarios: Record<string, ScenarioResult> = { ...(previous?.scenarios ?? {}) };
  for (const r of results) scenarios[r.name] = r;
  const ordered = Object.fromEntries(
    Object.entries(scenarios).sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99)),
  );
  const file: RunFile = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', node: process.version, pinned, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    scenarios: ordered,
  };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  writeFileSync(`${RESULTS_DIR}latest.md`, renderMarkdown(file));
  return file;
}

export function renderTable(t: Table): string {
  const lines = [`| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`];
  for (const row of t.rows) lines.push(`| ${row.join(' | ')} |`);
  return `${t.caption ? `*${t.caption}*\n\n` : ''}${lines.join('\n')}\n`;
}

export function renderMarkdown(file: RunFile): string {
  const m = file.machine;
  const out: string[] = [
    '# Herald benchmark results',
    '',
    `Generated ${file.generatedAt} by \`npm run bench\` on ${m.cpus} × ${m.model}, Node ${m.node}, ` +
    `${m.pinned ? 'server pinned to CPU 0 and load to CPU 1 (taskset)' : 'not pinned'}, load average ${m.loadavg.join(' ')} at the end.`,
    'Each figure is the median of per-round ratios from interleaved runs (range in parentheses); the A-vs-A row shows the noise floor.',
    '',
  ];
  const targets: string[] = ['| Scenario | Target | Measured | Met |', '|---|---|---|---|'];
  for (const r of Object.values(file.scenarios)) {
    for (const t of r.targets) targets.push(`| ${r.title} | ${t.description} | ${t.measured} | ${t.met === null ? '?' : t.met ? 'yes' : '**no**'} |`);
  }
  out.push('## Targets', '', targets.join('\n'), '');
  for (const r of Object.values(file.scenarios)) {
    out.push(`## ${r.title}`, '');
    if (r.skipped) { out.push(`Skipped: ${r.skipped}`, ''); continue; }
    out.push(r.method, '');
    for (const t of r.tables) out.push(renderTable(t));
    for (const n of r.notes) out.push(`- ${n}`);
    if (r.notes.length) out.push('');
  }
  return `${out.join('\n')}\n`;
}
