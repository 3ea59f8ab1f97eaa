/** JWT matrix (issue 5): every malformed, forged or out-of-policy token is rejected; valid ones pass. */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT, base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtVerifier, jwtAuth } from '../../../core/auth/index.js';
import { HeraldError } from '../../../core/errors.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const secretKey = new TextEncoder().encode(SECRET);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const now = (): number => Math.floor(Date.now() / 1000);

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'u1', exp: now() + 600, subscribe: ['chat.*'], publish: ['chat.room1'], ...extra };
}
function hs(payload = claims(), alg = 'HS256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg }).sign(secretKey);
}
function rs(payload = claims(), key = rsa.privateKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256' }).sign(key);
}
function es(payload = claims()): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
}
/** Re-signs header.payload with HMAC using `key` as the secret: the classic RS/HS key confusion forgery. */
async function hsWithKey(keyText: string, payload = claims()): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(keyText));
}

async function rejection(verify: (t: string) => Promise<unknown>, token: string): Promise<HeraldError> {
  try {
    await verify(token);
  } catch (err) {
    return err as HeraldError;
  }
  throw new Error('token was accepted');
}

describe('JWT matrix', () => {
  const hsv = createJwtVerifier({ secret: SECRET, clockTolerance: 0 });
  const rsv = createJwtVerifier({ publicKey: rsaPem, clockTolerance: 0 });
  const esv = createJwtVerifier({ publicKey: ecPem, clockTolerance: 0 });
  const strict = createJwtVerifier({ secret: SECRET, audience: 'herald', issuer: 'https://issuer.example', clockTolerance: 5 });

  it('accepts valid HS256, RS256 and ES256 tokens and reads sub/exp', async () => {
    const valid = [
      [hsv, await hs()], [rsv, await rs()], [esv, await es()],
      [strict, await hs(claims({ aud: 'herald', iss: 'https://issuer.example' }))],
      [strict, await hs(claims({ aud: ['other', 'herald'], iss: 'https://issuer.example', exp: now() - 3 }))], // within skew
    ] as const;
    for (const [v, t] of valid) {
      const { payload } = await v.verify(t);
      expect(payload.sub).toBe('u1');
    }
    expect(valid).toHaveLength(5);
  });

  it('rejects every hostile or out-of-policy token with unauthorized', async () => {
    const [h, p] = (await hs()).split('.');
    const cases: [string, (t: string) => Promise<unknown>, string][] = [
      ['alg none', (t) => hsv.verify(t), new UnsecuredJWT(claims()).encode()],
      ['alg none (RS verifier)', (t) => rsv.verify(t), new UnsecuredJWT(claims()).encode()],
      ['HS256 signed with the RSA public key PEM', (t) => rsv.verify(t), await hsWithKey(rsaPem)],
      ['HS256 signed with the EC public key PEM', (t) => esv.verify(t), await hsWithKey(ecPem)],
      ['RS256 from another key', (t) => rsv.verify(t), await rs(claims(), otherRsa.privateKey)],
      ['RS256 to an HMAC verifier', (t) => hsv.verify(t), await rs()],
      ['HS512 when HS256 is pinned', (t) => hsv.verify(t), await hs(claims(), 'HS512')],
      ['expired', (t) => hsv.verify(t), await hs(claims({ exp: now() - 10 }))],
      ['expired beyond the skew', (t) => strict.verify(t), await hs(claims({ aud: 'herald', iss: 'https://issuer.example', exp: now() - 60 }))],
      ['future nbf', (t) => hsv.verify(t), await hs(claims({ nbf: now() + 120 }))],
      ['missing exp', (t) => hsv.verify(t), await hs({ sub: 'u1' })],
      ['non-numeric exp', (t) => hsv.verify(t), await hs(claims({ exp: 'tomorrow' }))],
      ['missing sub', (t) => hsv.verify(t), await hs({ exp: now() + 60 })],
      ['wrong aud', (t) => strict.verify(t), await hs(claims({ aud: 'someone-else', iss: 'https://issuer.example' }))],
      ['missing aud', (t) => strict.verify(t), await hs(claims({ iss: 'https://issuer.example' }))],
      ['wrong iss', (t) => strict.verify(t), await hs(claims({ aud: 'herald', iss: 'https://evil.example' }))],
      ['tampered payload', (t) => hsv.verify(t), `${h}.${base64url.encode(JSON.stringify(claims({ sub: 'admin' })))}.${(await hs()).split('.')[2]}`],
      ['tampered signature', (t) => hsv.verify(t), `${h}.${p}.${base64url.encode(Buffer.alloc(32, 7))}`],
      ['oversized', (t) => hsv.verify(t), await hs(claims({ pad: 'x'.repeat(10_000) }))],
      ['malformed: two parts', (t) => hsv.verify(t), `${h}.${p}`],
      ['malformed: garbage', (t) => hsv.verify(t), 'not.a.jwt'],
      ['malformed: empty', (t) => hsv.verify(t), ''],
      ['malformed: header not JSON', (t) => hsv.verify(t), `${base64url.encode('{"alg":')}.${p}.AAAA`],
      ['JWE-shaped (5 parts)', (t) => hsv.verify(t), 'a.b.c.d.e'],
    ];
    const rejected: string[] = [];
    for (const [name, verify, token] of cases) {
      const err = await rejection(verify, token);
      expect(err, name).toBeInstanceOf(HeraldError);
      expect(err.code, name).toBe('unauthorized');
      rejected.push(name);
    }
    expect(rejected).toHaveLength(cases.length);
  });

  it('pins algorithms to the key: configurations that could be confused are refused', () => {
    expect(() => createJwtVerifier({ publicKey: rsaPem, algorithms: ['HS256'] })).toThrow(/does not fit/);
    expect(() => createJwtVerifier({ secret: SECRET, algorithms: ['RS256'] })).toThrow(/does not fit/);
    expect(() => createJwtVerifier({ secret: SECRET, algorithms: ['none'] })).toThrow(/does not fit/);
    expect(() => createJwtVerifier({ publicKey: ecPem, algorithms: ['RS256'] })).toThrow(/does not fit/);
    expect(() => createJwtVerifier({ secret: 'short' })).toThrow(/32 bytes/);
    expect(() => createJwtVerifier({ secret: SECRET, publicKey: rsaPem })).toThrow(/exactly one/);
    expect(() => createJwtVerifier({ secret: SECRET, clockTolerance: 3600 })).toThrow(/clockTolerance/);
    expect(createJwtVerifier({ publicKey: rsaPem }).algorithms).toEqual(['RS256']);
    expect(createJwtVerifier({ publicKey: ecPem }).algorithms).toEqual(['ES256']);
  });

  it('jwtAuth: null without a token, a principal with expiry and grants with one, throws on a bad one', async () => {
    const hooks = jwtAuth({ secret: SECRET, clockTolerance: 0 });
    const base = { transport: 'ws', remoteAddress: '127.0.0.1', headers: {}, query: new URLSearchParams() };
    expect(await hooks.authenticate!(base)).toBeNull();
    const exp = now() + 100;
    const p = (await hooks.authenticate!({ ...base, token: await hs(claims({ exp, info: { name: 'Ann' } })) }))!;
    expect(p).toMatchObject({ user: 'u1', expiresAt: exp * 1000, info: { name: 'Ann' } });
    expect(hooks.authorize!(p, 'subscribe', 'chat.x')).toBe(true);
    expect(hooks.authorize!(p, 'subscribe', 'chat.>')).toBe(false);
    expect(hooks.authorize!(p, 'publish', 'chat.room1')).toBe(true);
    expect(hooks.authorize!(p, 'publish', 'chat.room2')).toBe(false);
    expect(hooks.authorize!(p, 'history', 'chat.room2')).toBe(true);
    await expect(hooks.authenticate!({ ...base, token: await hs(claims({ subscribe: 'chat.*' })) })).rejects.toThrow(/subscribe/);
    await expect(hooks.authenticate!({ ...base, token: await hs(claims({ publish: ['a..b'] })) })).rejects.toThrow(/publish/);
    // A principal from someone else's authenticate hook with malformed claims is denied, not crashed.
    expect(hooks.authorize!({ user: 'x', claims: { subscribe: 5 } }, 'subscribe', 'a')).toBe(false);
  });
});
