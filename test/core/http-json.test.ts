import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { HeraldError } from '../../core/errors.js';
import { sendError, STATUS_OF } from '../../core/http-json.js';

/** A real server whose one route is the answer under test. */
let answer: (res: ServerResponse) => void = (res) => res.end();
const server = createServer((_req, res) => answer(res));
const listening = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function fetchWith(write: (res: ServerResponse) => void): Promise<Response> {
  answer = write;
  return fetch(`http://127.0.0.1:${await listening}/`);
}

describe('sendError', () => {
  it("answers {ok:false,error} with the code's status, or the one given, or the error's own", async () => {
    const byCode = await fetchWith((res) => sendError(res, new HeraldError('rate_limited', 'slow down')));
    expect(byCode.status).toBe(STATUS_OF.rate_limited);
    expect(byCode.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(byCode.headers.get('cache-control')).toBe('no-store');
    expect(await byCode.json()).toEqual({ ok: false, error: { code: 'rate_limited', message: 'slow down' } });
    const given = await fetchWith((res) => sendError(res, new HeraldError('bad_request', 'no such path'), 404, { 'x-extra': 'yes' }));
    expect([given.status, given.headers.get('x-extra')]).toEqual([404, 'yes']);
    const own = await fetchWith((res) => sendError(res, Object.assign(new HeraldError('bad_request', 'json only'), { status: 415 })));
    expect(own.status).toBe(415);
  });

  it('answers any other error as internal, without its message', async () => {
    const res = await fetchWith((r) => sendError(r, new Error('secret detail')));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal');
    expect(body.error.message).not.toContain('secret detail');
  });
});
