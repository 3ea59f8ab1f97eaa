/** examples/standalone: `npm run example:standalone` (the binary with herald.json) applies every section of the file. */
import { describe, expect, it } from 'vitest';
import { portsIn, runExample } from '../helpers/example.js';
import { TestClient } from '../helpers/ws-client.js';

describe('examples/standalone', () => {
  it('the binary with examples/standalone/herald.json applies its node id, limits, history, presence and stats topic', async () => {
    // The README's command; `-- --port 0` overrides the file's 8080 (flags beat the file, as the README
    // shows with 9000), so the test never collides. The file's logLevel (info) holds: no HERALD_LOG_LEVEL.
    const { line, output } = await runExample('standalone', 'npm run example:standalone', { HERALD_LOG_LEVEL: 'info' }, '-- --port 0');
    const [port] = portsIn(line);
    expect(output.join('').split('\n').some((l) => l.includes('configuration file read') && l.includes('examples/standalone/herald.json'))).toBe(true);
    const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
    expect(ready).toMatchObject({ ok: true, node: 'standalone-1' });

    const url = `ws://127.0.0.1:${port}/ws`;
    const a = await TestClient.connect(url);
    // history: chat.> and feed.> keep it (offsets), other topics do not.
    expect(await a.request('pub', { topic: 'chat.lobby', data: 1 })).toMatchObject({ ok: true, offset: 1 });
    expect(await a.request('pub', { topic: 'misc.thing', data: 1 })).not.toHaveProperty('offset');
    // presence.events: chat.> subscribers see others join.
    await a.request('sub', { topic: 'chat.lobby' });
    const b = await TestClient.connect(url);
    const joined = a.next((m) => m.op === 'join'); // before b subscribes: next() sees future messages only
    await b.request('sub', { topic: 'chat.lobby' });
    await joined;
    // dashboard stats on ops.stats.<node>.
    await a.request('sub', { topic: 'ops.stats.standalone-1' });
    const [stats] = await a.waitForMessages(1, 'ops.stats.standalone-1', 5000);
    expect(stats!.data).toMatchObject({ node: 'standalone-1', connectionsByTransport: { ws: 2 } });
    // limits.maxPayload 16384: a bigger frame closes the connection with 1009.
    b.send({ op: 'pub', topic: 'chat.lobby', data: 'x'.repeat(20_000) });
    expect(await b.waitClose()).toBe(1009);
    // metrics are on.
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^herald_connections\{transport="ws"\} [12]$/m);
    await a.close();
  }, 30_000);
});
