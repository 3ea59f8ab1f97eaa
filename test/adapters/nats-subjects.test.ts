import { describe, expect, it } from 'vitest';
import { natsAdapter } from '../../adapters/nats/index.js';
import { Subjects } from '../../adapters/nats/subjects.js';

describe('nats subjects: prefix', () => {
  it('refuses prefixes that could nest (dots), wildcards and characters that collide in stream names, when the adapter is made', () => {
    for (const prefix of ['herald.t', 'a.b', 'herald.*', '>', '', 'a:b', 'x y', 'p'.repeat(65)]) {
      expect(() => natsAdapter({ servers: 'nats://127.0.0.1:1', prefix }), prefix).toThrow(/prefix/);
    }
    for (const prefix of ['herald', 'herald_t', 'prod-eu', 'p'.repeat(64)]) expect(() => new Subjects(prefix)).not.toThrow();
  });

  it('no subject of one cluster falls under another prefix', () => {
    const a = new Subjects('herald');
    const b = new Subjects('herald_t');
    for (const subject of [b.live('x'), b.stored('x')]) expect(subject.startsWith(`${a.prefix}.`)).toBe(false);
    expect(a.stream).not.toBe(b.stream);
  });
});
