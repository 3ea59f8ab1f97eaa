import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CloseCodes, ErrorCodes, HeraldError, toHeraldError } from '../../core/errors.js';

// Clients branch on these: changing one is a protocol change (docs/protocol.md).
describe('error registry', () => {
  it('pins the error codes of protocol v1', () => {
    expect(Object.keys(ErrorCodes)).toEqual([
      'bad_request', 'invalid_topic', 'unauthorized', 'forbidden', 'too_large', 'rate_limited', 'limit_exceeded', 'unsupported', 'internal', 'unavailable',
    ]);
  });

  it('documents every error code in docs/protocol.md', () => {
    const page = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('## Error codes'), page.indexOf('## Close codes'));
    const documented = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(ErrorCodes));
  });

  it('pins the close codes', () => {
    expect(CloseCodes).toEqual({
      shuttingDown: 1001, tooLarge: 1009, unauthorized: 4001, disconnected: 4002, disconnectedForGood: 4003, slowConsumer: 4008, rateLimited: 4029, protocolViolation: 4400,
    });
  });

  it('documents every close code in docs/protocol.md', () => {
    const page = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('## Close codes'), page.indexOf('## Topics'));
    const documented = [...section.matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual(Object.values(CloseCodes));
  });

  it('serialises as {code, message} and hides unknown failures as internal', () => {
    expect(JSON.parse(JSON.stringify(new HeraldError('forbidden', 'no')))).toEqual({ code: 'forbidden', message: 'no' });
    const hidden = toHeraldError(new Error('secret stack detail'));
    expect(hidden.code).toBe('internal');
    expect(hidden.message).not.toMatch(/secret/);
  });
});
