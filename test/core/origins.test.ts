import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { apiKeyChecker, bearerOf } from '../../core/auth/api-key.js';
import { resolveOptions } from '../../core/options.js';
import { normaliseOrigin, OriginPolicy } from '../../core/origins.js';

const req = (origin?: string, method = 'GET', extra: Record<string, string> = {}): IncomingMessage =>
  ({ method, headers: { ...(origin === undefined ? {} : { origin }), ...extra } }) as unknown as IncomingMessage;

describe('origins', () => {
  it('normalises configured origins the way browsers send them and refuses non-origins', () => {
    expect(normaliseOrigin('https://App.Example.com:443')).toBe('https://app.example.com');
    expect(normaliseOrigin('http://localhost:3000/')).toBe('http://localhost:3000');
    for (const bad of ['null', '*', 'app.example.com', 'https://a.example/path', 'ftp://a.example', 'https://u:p@a.example', 'https://a.example?x']) {
      expect(normaliseOrigin(bad), bad).toBeUndefined();
    }
    expect(() => resolveOptions({ noServer: true, allowedOrigins: ['*'] })).toThrow(/allowedOrigins/);
    expect(resolveOptions({ noServer: true, allowedOrigins: ['HTTPS://APP.example.com'] }).allowedOrigins).toEqual(['https://app.example.com']);
  });

  it('compares exactly: look-alikes, case, ports and null are forbidden, a missing Origin passes', () => {
    const p = new OriginPolicy(['https://app.example.com', 'http://localhost:3000']);
    const verdicts = Object.fromEntries([
      'https://app.example.com', 'http://localhost:3000', 'null', 'https://app.example.com.evil.io', 'https://evil-app.example.com',
      'https://APP.example.com', 'https://app.example.com:8443', 'http://app.example.com', 'http://localhost:3001', 'https://app.example.co',
    ].map((o) => [o, p.verdict(req(o))]));
    expect(verdicts).toEqual({
      'https://app.example.com': 'allowed', 'http://localhost:3000': 'allowed', 'null': 'forbidden',
      'https://app.example.com.evil.io': 'forbidden', 'https://evil-app.example.com': 'forbidden', 'https://APP.example.com': 'forbidden',
      'https://app.example.com:8443': 'forbidden', 'http://app.example.com': 'forbidden', 'http://localhost:3001': 'forbidden',
      'https://app.example.co': 'forbidden',
    });
    expect(p.verdict(req(undefined))).toBe('no-origin');
    expect(new OriginPolicy(undefined).verdict(req('https://anything.example'))).toBe('allowed');
  });

  it('answers CORS only for listed origins, echoing the origin (never *), and handles preflight', () => {
    const headers: Record<string, string> = {};
    let status = 0;
    const res = { setHeader: (k: string, v: string) => { headers[k] = v; }, writeHead: (s: number, h: Record<string, string>) => { status = s; Object.assign(headers, h); }, end: () => undefined } as unknown as ServerResponse;
    const p = new OriginPolicy(['https://app.example.com']);
    expect(p.cors(req('https://evil.example'), res)).toBe(false);
    expect(headers).toEqual({ vary: 'Origin' }); // no CORS headers, but a cache must know the answer depends on Origin
    expect(p.cors(req('https://app.example.com'), res)).toBe(false);
    expect(headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(headers['access-control-allow-credentials']).toBe('true');
    expect(p.cors(req('https://app.example.com', 'OPTIONS', { 'access-control-request-method': 'POST' }), res)).toBe(true);
    expect(status).toBe(204);
    expect(Object.values(headers)).not.toContain('*');
  });
});

describe('API keys', () => {
  it('matches exactly, in constant time over hashes, and never matches empty input', () => {
    const check = apiKeyChecker(['0123456789abcdef-key-one', 'fedcba9876543210-key-two']);
    expect(check('0123456789abcdef-key-one')).toBe(true);
    expect(check('fedcba9876543210-key-two')).toBe(true);
    expect(check('0123456789abcdef-key-on')).toBe(false);
    expect(check('0123456789abcdef-key-one ')).toBe(false);
    expect(check('')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(apiKeyChecker([])('anything-long-enough')).toBe(false);
    expect(() => apiKeyChecker(['short'])).toThrow(/16/);
    expect(bearerOf('Bearer abc')).toBe('abc');
    expect(bearerOf('bearer  abc ')).toBe('abc');
    expect(bearerOf('Basic abc', new URLSearchParams('access_token=q'))).toBe('q');
    expect(bearerOf(undefined)).toBeUndefined();
  });
});
