import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../core/log-limiter.js';

function capture() {
  const lines: Record<string, any>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}

describe('LogLimiter', () => {
  it('writes each kind at most perWindow times per window, then says how many it suppressed', async () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new LogLimiter(logger, 3, 1000, () => now);
    for (let i = 0; i < 100; i++) log.error({ i }, 'same mistake');
    log.warn({}, 'another kind');
    now += 1000;
    log.error({ i: 100 }, 'same mistake');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.msg, l.i, l.suppressed])).toEqual([
      ['same mistake', 0, undefined], ['same mistake', 1, undefined], ['same mistake', 2, undefined],
      ['another kind', undefined, undefined],
      ['same mistake', 100, 97],
    ]);
  });
});
