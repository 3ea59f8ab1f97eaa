/** adapters/nats/options.ts: zod like createBroker's options, ConfigError naming each key. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { natsAdapter } from '../../adapters/nats/index.js';
import { parseServers, resolveNatsOptions, type NatsAdapterOptions } from '../../adapters/nats/options.js';

function issuesOf(options: unknown): string[] {
  try {
    resolveNatsOptions(options as NatsAdapterOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('invalid_config');
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('nats adapter options', () => {
  it('fills every default, node timeout three heartbeats', () => {
    expect(resolveNatsOptions({})).toEqual({
      servers: ['nats://127.0.0.1:4222'], prefix: 'herald', stream: undefined, storage: 'file', replicas: 1, publishTimeoutMs: 10_000,
      outboxBytes: 8 * 1024 * 1024, outboxAgeMs: 10_000, requestTimeoutMs: 2000, heartbeatMs: 2000, nodeTimeoutMs: 6000,
      reconnectTimeWaitMs: 500, pingIntervalMs: 5000, connectTimeoutMs: 5000, connection: {},
    });
    expect(resolveNatsOptions({ heartbeatMs: 100, nodeTimeoutMs: 1000 })).toMatchObject({ heartbeatMs: 100, nodeTimeoutMs: 1000 });
    expect(resolveNatsOptions({ heartbeatMs: 100 }).nodeTimeoutMs).toBe(300);
  });

  it('splits comma-separated servers, and refuses an empty list', () => {
    expect(parseServers('nats://a:4222, nats://b:4222')).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(resolveNatsOptions({ servers: ['nats://a:1,nats://b:2', 'nats://c:3'] }).servers).toEqual(['nats://a:1', 'nats://b:2', 'nats://c:3']);
    expect(() => parseServers(' , ')).toThrow(ConfigError);
    expect(issuesOf({ servers: '' })).toEqual(['servers: must name at least one URL']);
  });

  it('names every bad key at once, and refuses unknown keys like createBroker does', () => {
    const problems = issuesOf({ heartbeatMs: 0, replicas: 7, storage: 'disk', outboxBytes: Number.POSITIVE_INFINITY, prefix: 'a.b', heartbeat: 5 });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^heartbeatMs: /), expect.stringMatching(/^replicas: /), expect.stringMatching(/^storage: /),
      expect.stringMatching(/^outboxBytes: /), expect.stringMatching(/^prefix: must be one subject token/), expect.stringMatching(/heartbeat/),
    ]));
    expect(problems).toHaveLength(6);
    expect(() => natsAdapter({ replicas: 0 })).toThrow(/invalid nats adapter options: replicas: /);
  });
});
