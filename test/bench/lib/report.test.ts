import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeResults, renderMarkdown, renderTargets, TARGETS_END, TARGETS_START, withTargetsBlock, type RunFile, type ScenarioResult } from '../../../bench/lib/report.js';

const scenario = (name: string, extra: Partial<ScenarioResult>): ScenarioResult => ({
  name, title: name, method: 'm', tables: [], notes: [], raw: null,
  targets: [{ description: `${name} target`, measured: '0.5× (0.4–0.6)', verdict: 'met', rule: '≤ 1×, tie 0.9–1.1×' }], ...extra,
});

describe('bench report', () => {
  it('a failed scenario replaces its old entry and says failed; the others keep their own commit and date', () => {
    const old: RunFile = mergeResults(undefined, [
      scenario('fanout', { commit: 'aaaaaaa', date: '2026-11-01T00:00:00.000Z' }),
      scenario('latency', { commit: 'aaaaaaa', date: '2026-11-01T00:00:00.000Z' }),
    ], true, ['fanout', 'latency']);
    const failed = scenario('latency', { targets: [], failed: 'nats-server did not start', commit: 'bbbbbbb', date: '2026-12-03T00:00:00.000Z' });
    const next = mergeResults(old, [failed], true, ['fanout', 'latency']);
    expect(next.scenarios.latency).toEqual(failed);
    expect(next.scenarios.fanout!.commit).toBe('aaaaaaa');
    const table = renderTargets(next);
    expect(table).toContain('| fanout | fanout target | 0.5× (0.4–0.6) | ≤ 1×, tie 0.9–1.1× | met | 2026-11-01 aaaaaaa |');
    expect(table).toContain('| latency | all | — | — | **failed**: nats-server did not start | 2026-12-03 bbbbbbb |');
    expect(table).not.toContain('latency target');
    expect(renderMarkdown(next)).toContain('**Failed**: nats-server did not start');
  });

  it('rewrites only the block between the markers', () => {
    const file = mergeResults(undefined, [scenario('fanout', { commit: 'c', date: '2026-12-03T00:00:00.000Z' })], true, ['fanout']);
    const doc = `before\n${TARGETS_START}\nhand-typed, stale\n${TARGETS_END}\nafter\n`;
    expect(withTargetsBlock(doc, file)).toBe(`before\n${TARGETS_START}\n${renderTargets(file)}${TARGETS_END}\nafter\n`);
  });

  it('README.md, docs/benchmarks.md and latest.md show the targets of the committed latest.json, as generated', () => {
    const latest = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as RunFile;
    const table = renderTargets(latest);
    for (const doc of ['README.md', 'docs/benchmarks.md']) {
      const text = readFileSync(doc, 'utf8');
      expect(withTargetsBlock(text, latest), doc).toBe(text);
      expect(text, doc).toContain(table);
    }
    expect(readFileSync('bench/results/latest.md', 'utf8')).toBe(renderMarkdown(latest));
    // Entries from runs since verdicts existed carry their commit, date and a verdict per target.
    for (const s of Object.values(latest.scenarios).filter((x) => x.commit !== undefined)) {
      expect(typeof s.date).toBe('string');
      for (const t of s.targets) expect(['met', 'tie', 'missed']).toContain(t.verdict);
    }
  });
});
