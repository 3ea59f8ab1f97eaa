import { describe, expect, it } from 'vitest';
import { HeraldError } from '../../core/errors.js';
import { commandId, parseCommand } from '../../core/protocol.js';

function codeOf(raw: unknown): string {
  try {
    parseCommand(raw);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(HeraldError);
    return (err as HeraldError).code;
  }
}

describe('parseCommand', () => {
  it('parses every op of protocol v1', () => {
    expect(parseCommand({ op: 'sub', id: 1, topic: 'a.*', since: { offset: 3, epoch: 'e' }, presence: true }))
      .toEqual({ op: 'sub', id: 1, topic: 'a.*', since: { offset: 3, epoch: 'e' }, presence: true });
    expect(parseCommand({ op: 'pub', topic: 'a', data: [1] })).toEqual({ op: 'pub', id: undefined, topic: 'a', data: [1] });
    expect(parseCommand({ op: 'pub', topic: 'a', data: undefined })).toMatchObject({ data: null });
    expect(parseCommand({ op: 'history', id: 2, topic: 'a', limit: 10 ** 9 })).toMatchObject({ limit: 10_000 });
    expect(parseCommand({ op: 'ping' })).toEqual({ op: 'ping', id: undefined });
    expect(parseCommand({ op: 'auth', token: 't' })).toMatchObject({ op: 'auth', token: 't' });
    expect(parseCommand({ op: 'unsub', topic: '>' })).toMatchObject({ op: 'unsub', topic: '>' });
    expect(parseCommand({ op: 'presence', topic: 'a.b' })).toMatchObject({ op: 'presence', topic: 'a.b' });
  });

  it.each([
    ['not an object', 'hello', 'bad_request'],
    ['an array', [1], 'bad_request'],
    ['null', null, 'bad_request'],
    ['unknown op', { op: 'nope' }, 'bad_request'],
    ['op not a string', { op: 1 }, 'bad_request'],
    ['id zero', { op: 'ping', id: 0 }, 'bad_request'],
    ['id negative', { op: 'ping', id: -1 }, 'bad_request'],
    ['id fractional', { op: 'ping', id: 1.5 }, 'bad_request'],
    ['id string', { op: 'ping', id: '1' }, 'bad_request'],
    ['id unsafe', { op: 'ping', id: 2 ** 60 }, 'bad_request'],
    ['sub without topic', { op: 'sub', id: 1 }, 'bad_request'],
    ['sub topic not a string', { op: 'sub', id: 1, topic: 5 }, 'invalid_topic'],
    ['sub bad grammar', { op: 'sub', id: 1, topic: 'a..b' }, 'invalid_topic'],
    ['pub with wildcard', { op: 'pub', topic: 'a.*', data: 1 }, 'invalid_topic'],
    ['pub without data', { op: 'pub', topic: 'a' }, 'bad_request'],
    ['since not an object', { op: 'sub', topic: 'a', since: 3 }, 'bad_request'],
    ['since bad offset', { op: 'sub', topic: 'a', since: { offset: -1, epoch: 'e' } }, 'bad_request'],
    ['since bad epoch', { op: 'sub', topic: 'a', since: { offset: 1, epoch: '' } }, 'bad_request'],
    ['presence flag not boolean', { op: 'sub', topic: 'a', presence: 'yes' }, 'bad_request'],
    ['history bad limit', { op: 'history', topic: 'a', limit: -1 }, 'bad_request'],
    ['history wildcard', { op: 'history', topic: 'a.>' }, 'invalid_topic'],
    ['auth without token', { op: 'auth' }, 'bad_request'],
    ['auth empty token', { op: 'auth', token: '' }, 'bad_request'],
  ])('rejects %s', (_name, raw, code) => {
    expect(codeOf(raw)).toBe(code);
  });

  it('still finds the reply id of a command that fails validation', () => {
    expect(commandId({ op: 'sub', id: 7, topic: '..' })).toBe(7);
    expect(commandId({ op: 'sub', id: -7 })).toBeUndefined();
    expect(commandId('x')).toBeUndefined();
  });
});

describe('unsub reasons', () => {
  it('one registry, documented in docs/protocol.md in the same order', async () => {
    const { UnsubReasons } = await import('../../core/protocol.js');
    const { readFileSync } = await import('node:fs');
    expect(Object.keys(UnsubReasons)).toEqual(['gap', 'forbidden', 'server']);
    const page = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const table = page.slice(page.indexOf('| reason | meaning |'), page.indexOf('- Subscription made by the server'));
    expect([...table.matchAll(/^\s*\| `([a-z_]+)` \|/gm)].map((m) => m[1])).toEqual(Object.keys(UnsubReasons));
  });
});
