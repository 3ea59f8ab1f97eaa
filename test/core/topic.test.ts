import { describe, expect, it } from 'vitest';
import { HeraldError } from '../../core/errors.js';
import { assertPattern, assertTopic, covers, hasWildcard, isPattern, isTopic, matches } from '../../core/topic.js';

describe('topic grammar', () => {
  it.each(['chat.room42', 'user.42.notifications', 'ticker.EUR-USD', 'a', 'x:y@z=1+2~3_-'])('accepts topic %s', (t) => {
    expect(isTopic(t)).toBe(true);
    expect(isPattern(t)).toBe(true);
  });

  it.each([
    ['', 'empty'], ['a..b', 'empty token'], ['.a', 'leading dot'], ['a.', 'trailing dot'], ['a b', 'space'],
    ['a/b', 'slash'], ['é', 'non-ascii'], ['a.*', 'wildcard in a publication'], ['>', 'lone >'],
    [Array(17).fill('a').join('.'), '17 tokens'], ['x'.repeat(65), '65-char token'],
    [Array(5).fill('y'.repeat(60)).join('.'), '304 chars'],
  ])('rejects topic %j (%s)', (t) => {
    expect(isTopic(t)).toBe(false);
    expect(() => assertTopic(t)).toThrow(HeraldError);
  });

  it('accepts 16 tokens and 255 characters exactly', () => {
    expect(isTopic(Array(16).fill('a').join('.'))).toBe(true);
    const t = [...Array(3).fill('x'.repeat(64)), 'y'.repeat(60)].join('.');
    expect(t.length).toBe(255);
    expect(isTopic(t)).toBe(true);
    expect(isTopic(t + 'z')).toBe(false);
  });

  it('allows * anywhere and > only last in patterns', () => {
    for (const p of ['*', '>', 'chat.*', 'user.42.>', '*.b.*', 'a.*.>']) expect(isPattern(p)).toBe(true);
    for (const p of ['a.>.b', '>.a', 'a*', 'a.b*', '**', 'a.>>']) expect(isPattern(p)).toBe(false);
  });

  it('reports invalid_topic with the reason', () => {
    try {
      assertPattern('a.>.b');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HeraldError);
      expect((err as HeraldError).code).toBe('invalid_topic');
      expect((err as HeraldError).message).toMatch(/last token/);
    }
    expect(() => assertTopic(42)).toThrow(/string/);
  });

  it('matches like NATS subjects', () => {
    expect(matches('chat.*', 'chat.a')).toBe(true);
    expect(matches('chat.*', 'chat.a.b')).toBe(false);
    expect(matches('chat.>', 'chat.a.b')).toBe(true);
    expect(matches('chat.>', 'chat')).toBe(false);
    expect(matches('>', 'a')).toBe(true);
    expect(matches('*.b', 'a.b')).toBe(true);
    expect(matches('a.b', 'a.b')).toBe(true);
    expect(matches('a.b', 'a.c')).toBe(false);
  });

  it('covers: a grant covers a pattern only when it covers every topic the pattern matches', () => {
    expect(covers('a.*', 'a.b')).toBe(true);
    expect(covers('a.b', 'a.*')).toBe(false);
    expect(covers('a.>', 'a.*.c')).toBe(true);
    expect(covers('a.*', 'a.>')).toBe(false);
    expect(covers('>', '>')).toBe(true);
    expect(covers('a.>', '>')).toBe(false);
    expect(covers('*.*', 'x.*')).toBe(true);
  });
});

describe('hasWildcard', () => {
  it('is true for a pattern with a * or > token anywhere, false for a topic', () => {
    for (const p of ['*', '>', 'a.*', '*.a', 'a.*.b', 'a.>', 'a.*.>']) expect(hasWildcard(p), p).toBe(true);
    for (const t of ['a', 'a.b', 'a-b.c_d', 'x:y@z=+~']) expect(hasWildcard(t), t).toBe(false);
  });
});
