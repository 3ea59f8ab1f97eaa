import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/ws-client.js';
import { portsIn, runExample } from '../helpers/example.js';

describe('examples', () => {
  it('embed-http: the app keeps its routes, Herald serves /ws and the app publishes', async () => {
    const { line } = await runExample('embed-http', 'npm run example:embed-http', { PORT: '0' });
    const [port] = portsIn(line);
    const res = await fetch(`http://127.0.0.1:${port}/anything`);
    expect(await res.text()).toBe('my app answered /anything\n');
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await c.request('sub', { topic: 'time.tick' });
    const [tick] = await c.waitForMessages(1, 'time.tick', 5000);
    expect(Date.parse(tick!.data.now)).toBeGreaterThan(0);
    await c.close();
  }, 30_000);

  it('embed-express: a REST route publishes to a user topic that a WebSocket client receives', async () => {
    const { line } = await runExample('embed-express', 'npm run example:embed-express', { PORT: '0' });
    const [port] = portsIn(line);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/Express app/);
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await c.request('sub', { topic: 'user.42.notifications' });
    const res = await fetch(`http://127.0.0.1:${port}/notify/42`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi 42' }),
    });
    expect(await res.json()).toMatchObject({ ok: true, offset: 1 });
    expect((await c.waitForMessages(1))[0]!.data).toEqual({ text: 'hi 42' });
    await c.close();
  }, 30_000);

  it('custom-transport: NDJSON-over-TCP clients and WebSocket clients share topics both ways', async () => {
    const { line } = await runExample('custom-transport', 'npm run example:custom-transport', { PORT: '0', TCP_PORT: '0' });
    const [wsPort, tcpPort] = portsIn(line);
    const tcp = connect(tcpPort!, '127.0.0.1');
    const lines: Record<string, unknown>[] = [];
    let rest = '';
    tcp.setEncoding('utf8').on('data', (d: string) => {
      rest += d;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const p of parts) lines.push(JSON.parse(p));
    });
    const until = async (test: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`timeout; tcp lines: ${JSON.stringify(lines)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    tcp.write('{"op":"sub","id":1,"topic":"chat.>"}\n');
    await until(() => lines.some((l) => l.id === 1));
    const web = await TestClient.connect(`ws://127.0.0.1:${wsPort}/ws`);
    await web.request('sub', { topic: 'chat.lobby' });
    await web.request('pub', { topic: 'chat.lobby', data: 'from ws' });
    await until(() => lines.some((l) => l.op === 'msg'));
    expect(lines.find((l) => l.op === 'msg')).toMatchObject({ topic: 'chat.lobby', data: 'from ws', offset: 1 });
    tcp.write('{"op":"pub","id":2,"topic":"chat.lobby","data":"from tcp"}\nnot json\n');
    const fromTcp = await web.waitForMessages(2);
    expect(fromTcp[1]).toMatchObject({ data: 'from tcp', offset: 2 });
    await until(() => lines.some((l) => l.op === 'error'));
    expect(lines.find((l) => l.op === 'error')).toMatchObject({ error: { code: 'bad_request' } });
    tcp.destroy();
    await web.close();
  }, 30_000);
});
