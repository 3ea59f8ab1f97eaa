import { describe, expect, expectTypeOf, it } from 'vitest';
import type { HistorySettings, Limits } from '../../core/contracts.js';
import { resolveOptions, type ResolvedOptions } from '../../core/options.js';

// The contracts declare the settings plugins read (so they need not import options.ts); the zod
// schema must resolve to exactly those types. Type-level: tsc fails when either side drifts.
describe('resolved settings match the contracts', () => {
  it('limits and history resolve to Limits and HistorySettings, both ways', () => {
    expectTypeOf<ResolvedOptions['limits']>().toEqualTypeOf<Limits>();
    expectTypeOf<ResolvedOptions['history']>().toEqualTypeOf<HistorySettings>();
    // The compiler makes these key lists complete and exact; the schema must fill every key.
    const limitKeys: Record<keyof Limits, true> = {
      maxPayload: true, maxDepth: true, outboundBytes: true, maxSubscriptions: true, protocolErrors: true, pendingCommands: true,
      authTimeout: true, pingInterval: true, messageRate: true, messageBurst: true, principalRate: true, principalBurst: true,
      rateLimitStrikes: true, connectionsPerIp: true, connectionRate: true, connectionBurst: true, exemptLoopback: true,
      headersTimeout: true, requestTimeout: true,
    };
    const historyKeys: Record<Exclude<keyof HistorySettings, 'store'>, true> = {
      size: true, ttl: true, topics: true, maxTopics: true, maxBytes: true,
    };
    const resolved = resolveOptions({ noServer: true });
    expect(Object.keys(resolved.limits).sort()).toEqual(Object.keys(limitKeys).sort());
    expect(Object.keys(resolved.history).sort()).toEqual(Object.keys(historyKeys).sort());
  });
});
