import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childEnv } from '../helpers/child-env.js';
import { browserTest, launchChromium } from '../helpers/chromium.js';
import { matchesOutput } from '../helpers/markdown-blocks.js';
import { TestClient } from '../helpers/ws-client.js';

import { portsIn, runExample } from '../helpers/example.js';
import { until } from '../helpers/until.js';

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
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await c.request('sub', { topic: 'user.42.notifications' });
    const res = await fetch(`http://127.0.0.1:${port}/notify/42`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi 42' }),
    });
    expect(await res.json()).toMatchObject({ ok: true, offset: 1 });
    expect((await c.waitForMessages(1))[0]!.data).toEqual({ text: 'hi 42' });
    await c.close();
  }, 30_000);

  browserTest('embed-express: the page Express serves at / (shown whole in the README) lists what POST /notify/42 sends', async () => {
    const page = readFileSync('examples/embed-express/index.html', 'utf8');
    expect(readFileSync('examples/embed-express/README.md', 'utf8')).toContain(`\`\`\`html\n${page}\`\`\``);
    const { line } = await runExample('embed-express', 'npm run example:embed-express', { PORT: '0' });
    const [port] = portsIn(line);
    const served = await fetch(`http://127.0.0.1:${port}/`);
    expect(served.headers.get('content-type')).toMatch(/text\/html/);
    expect(await served.text()).toBe(page);
    const chromium = await launchChromium();
    try {
      const tab = await chromium.browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(String(e)));
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.waitForFunction(() => document.getElementById('state')!.textContent === 'subscribed', undefined, { timeout: 10_000 });
      for (const text of ['hi', 'second']) {
        const res = await fetch(`http://127.0.0.1:${port}/notify/42`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
        expect(res.status).toBe(200);
      }
      await fetch(`http://127.0.0.1:${port}/notify/7`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'for someone else' }) });
      await tab.waitForFunction(() => document.querySelectorAll('#notes li').length === 2, undefined, { timeout: 10_000 });
      expect(await tab.$$eval('#notes li', (items) => items.map((i) => i.textContent))).toEqual(['hi', 'second']);
      mkdirSync('test-artifacts/examples', { recursive: true });
      await tab.screenshot({ path: 'test-artifacts/examples/embed-express.png' });
      expect(errors).toEqual([]);
    } finally {
      await chromium.close();
    }
  }, 60_000);

  it('custom-transport: the README\'s Node client talks NDJSON over TCP and shares topics with WebSocket clients both ways', async () => {
    const { line } = await runExample('custom-transport', 'npm run example:custom-transport', { PORT: '0', TCP_PORT: '0' });
    const [wsPort, tcpPort] = portsIn(line);
    const readme = readFileSync('examples/custom-transport/README.md', 'utf8');
    const clientCommand = 'npx tsx examples/custom-transport/client.ts';
    expect(readme).toContain(clientCommand);
    const web = await TestClient.connect(`ws://127.0.0.1:${wsPort}/ws`);
    await web.request('sub', { topic: 'chat.lobby' });

    // Interactive: the lines the README says to type, and what it says comes back.
    const typed = spawn('sh', ['-c', `exec ${clientCommand} ${tcpPort}`], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let printed = '';
    typed.stdout.setEncoding('utf8').on('data', (d: string) => (printed += d));
    typed.stderr.setEncoding('utf8').on('data', (d: string) => (printed += d));
    const exited = new Promise<number | null>((r) => typed.once('exit', r));
    const [toType, expected] = [...readme.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const [sub, pub] = toType!.trim().split('\n');
    typed.stdin.write(`${sub}\n`);
    await until(() => printed.includes('{"id":1,"ok":true}'), () => `the output; printed so far:\n${printed}`, 15_000);
    typed.stdin.write(`${pub}\nnot json\n`);
    await until(() => printed.includes('"id":2') && printed.includes('"error"'), () => `the output; printed so far:\n${printed}`, 15_000);
    const lines = printed.trim().split('\n');
    expect(matchesOutput(lines.filter((l) => !l.includes('"error"')).join('\n'), expected!), printed).toBe(true);
    expect(JSON.parse(lines.find((l) => l.includes('"error"'))!)).toMatchObject({ op: 'error', error: { code: 'bad_request' } });
    // The WebSocket client got the TCP client's publication.
    expect((await web.waitForMessages(1))[0]).toMatchObject({ data: 'hello from a TCP socket', offset: 1 });
    // A WebSocket publication reaches the TCP client too.
    await web.request('pub', { topic: 'chat.lobby', data: 'from ws' });
    await until(() => printed.includes('"data":"from ws"'), () => `the output; printed so far:\n${printed}`, 15_000);
    typed.stdin.end(); // input over, every reply in: it exits
    expect(await exited).toBe(0);

    // Piped, as the README's one-liner (its topic, the port the test was given).
    const piped = readme.split('\n').find((l) => l.startsWith('echo ') && l.includes(clientCommand))!;
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('sh', ['-c', `${piped} ${tcpPort}`], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.once('exit', (code) => resolve({ code, out }));
    });
    expect(result.code, result.out).toBe(0);
    expect(JSON.parse(result.out.trim())).toMatchObject({ id: 1, ok: true, offset: 3 });
    await web.close();
  }, 60_000);
});
