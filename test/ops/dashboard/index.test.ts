/**
 * The admin dashboard of the standalone broker in headless Chromium: it follows the broker's stats
 * topic, and a visitor subscribes and publishes over WebSocket, socket.io and SSE in turn; the
 * counters, charts, topic browser and connection list follow, its own stats traffic is never
 * counted, no request fails and nothing is logged as an error; with JWT it asks for a token and
 * says what a token lacks; actions go through the control API with the admin token. Screenshots
 * are kept in test-artifacts/.
 */
import { mkdirSync, statSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startBinary } from '../../helpers/binary.js';
import { browserTest, launchChromium } from '../../helpers/chromium.js';
import { TestClient } from '../../helpers/ws-client.js';

const SCREENSHOT = 'test-artifacts/dashboard.png';
const SECRET = 'dashboard-test-secret-of-32-bytes!!';
const API_KEY = 'dashboard-test-api-key-0123456789';

/** Collects what a visitor would see go wrong: page errors, console errors, failed requests. */
function watch(tab: Page): string[] {
  const problems: string[] = [];
  tab.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
  tab.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  tab.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  // A stream the page closes itself (switching transports) ends as ERR_ABORTED: not a failure.
  tab.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`failed ${r.url()}: ${r.failure()?.errorText}`); });
  return problems;
}

let close: (() => Promise<void>) | undefined;
afterAll(async () => { await close?.(); });

const text = (tab: Page, id: string): Promise<string> => tab.locator(`#${id}`).innerText();
const number = async (tab: Page, id: string): Promise<number> => Number(await text(tab, id));

/** Waits until the page's own counter `id` satisfies `test` (stats arrive every 200 ms here). */
async function until(tab: Page, id: string, test: (n: number) => boolean, what: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const n = await number(tab, id);
    if (test(n)) return n;
    if (Date.now() > deadline) throw new Error(`#${id} never ${what} (last ${n})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dashboard', () => {
  browserTest('shows live stats and lets a visitor subscribe and publish over WebSocket, socket.io and SSE', async () => {
    const { port } = await startBinary(['--port', '0'], { HERALD_DASHBOARD_INTERVAL: '200' });
    const chromium = await launchChromium();
    close = chromium.close;
    const tab = await chromium.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watch(tab);
    await tab.goto(`http://127.0.0.1:${port}/`);
    expect(await tab.title()).toBe('Herald dashboard');

    // The page's own WebSocket shows up in the stats it receives over that same WebSocket.
    await tab.waitForFunction(() => (window as any).herald.connected && (window as any).herald.snapshots > 0, undefined, { timeout: 10_000 });
    await until(tab, 'connections-ws', (n) => n === 1, 'counted the page');
    expect(await number(tab, 'nodes')).toBe(1);

    // Another client on the broker moves the counters too.
    const outsider = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await outsider.request('sub', { topic: 'demo.hello' });
    await until(tab, 'connections-ws', (n) => n === 2, 'counted the outsider');

    // Only the dashboard's own stats have flowed so far: none of it is user traffic.
    await until(tab, 'total-publications', (n) => n === 0, 'stayed at zero');
    expect(await number(tab, 'total-deliveries')).toBe(0);
    const transports = [['ws', 'connections-ws', 2], ['socketio', 'connections-socketio', 1], ['sse', 'connections-sse', 1]] as const;
    for (const [i, [transport, counter, expected]] of transports.entries()) {
      if (transport !== 'ws') {
        await tab.selectOption('#transport', transport);
        await tab.waitForFunction((t) => (window as any).herald.transport === t && (window as any).herald.connected, transport, { timeout: 10_000 });
        // The new link is counted under its own transport (the previous one is gone).
        await until(tab, counter, (n) => n === expected, `counted the ${transport} link`);
        expect(await number(tab, 'connections-total')).toBe(2);
      }
      await tab.fill('#pub-data', JSON.stringify({ via: transport }));
      await tab.click('#pub-form button');
      await tab.waitForFunction((n) => (window as any).herald.received.length >= n, i + 1, { timeout: 10_000 });
      await outsider.waitForMessages(i + 1, 'demo.hello');
    }
    const received = await tab.evaluate(() => (window as any).herald.received.map((m: any) => m.data.via));
    expect(received).toEqual(['ws', 'socketio', 'sse']);
    expect(outsider.messages('demo.hello').map((m) => m.data.via)).toEqual(['ws', 'socketio', 'sse']);
    expect(await tab.evaluate(() => (window as any).herald.published.map((r: any) => r.offset))).toEqual([1, 2, 3]);

    // Counters moved by exactly the user traffic: 3 publications, each delivered to the page and the outsider.
    await tab.waitForFunction(() => document.getElementById('recent')!.innerText.includes('demo.hello #3'), undefined, { timeout: 10_000 });
    const recent = await text(tab, 'recent');
    for (const n of [1, 2, 3]) expect(recent).toContain(`demo.hello #${n}`);
    await until(tab, 'total-publications', (n) => n === 3, 'counted the 3 user publications');
    await until(tab, 'total-deliveries', (n) => n === 6, 'counted the 6 user deliveries');
    expect(await text(tab, 'messages')).toContain('"via":"sse"');

    // Charts over time: uPlot drew one canvas per chart, over several points.
    await tab.waitForFunction(() => (window as any).herald.chartPoints >= 3, undefined, { timeout: 10_000 });
    for (const chart of ['connections', 'publications', 'deliveries']) expect(await tab.locator(`#chart-${chart} canvas`).count()).toBe(1);
    expect(await text(tab, 'chart-connections')).toContain('all nodes');

    // Topic browser: the outsider's topic with its subscriber; its detail shows recent history and presence.
    await tab.waitForFunction(() => document.querySelector('#topic-list tr[data-topic="demo.hello"]') !== null, undefined, { timeout: 10_000 });
    expect(await tab.locator('#topic-list').innerText()).not.toContain('herald.stats');
    // The detail asks over the page's link: SSE cannot, and says so; WebSocket can.
    await tab.click('#topic-list tr[data-topic="demo.hello"]');
    await tab.waitForFunction(() => document.getElementById('topic-detail')!.innerText.includes('switch to WebSocket'), undefined, { timeout: 10_000 });
    await tab.selectOption('#transport', 'ws');
    await tab.waitForFunction(() => (window as any).herald.transport === 'ws' && (window as any).herald.connected, undefined, { timeout: 10_000 });
    await tab.click('#topic-list tr[data-topic="demo.hello"]');
    await tab.waitForFunction(() => document.getElementById('topic-detail')!.innerText.includes('#3 {"via":"sse"}'), undefined, { timeout: 10_000 });
    const detail = await text(tab, 'topic-detail');
    expect(detail).toMatch(/recent history: #1 \{"via":"ws"\}.*#2 \{"via":"socketio"\}/);
    expect(detail).toMatch(/presence: /);

    // Connection list: the outsider's connection with its subscription; actions need an admin token.
    const outsiderRow = tab.locator('#connection-list tr', { hasText: 'demo.hello ✕' }).filter({ hasText: 'ws' }).first();
    await outsiderRow.waitFor({ timeout: 10_000 });
    expect(await outsiderRow.locator('button.danger').isDisabled()).toBe(true);
    expect(await text(tab, 'node-list')).toMatch(/\d+ s/);
    expect(errors).toEqual([]);

    mkdirSync('test-artifacts', { recursive: true });
    await tab.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    await outsider.close();
  }, 60_000);

  browserTest('with JWT: says a token is needed, says what a token lacks, and signed in acts through the control API', async () => {
    const { port } = await startBinary(['--port', '0'], { HERALD_DASHBOARD_INTERVAL: '200', HERALD_JWT_SECRET: SECRET, HERALD_API_KEY: API_KEY });
    const key = new TextEncoder().encode(SECRET);
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('ops').setExpirationTime('5m').sign(key);
    const chromium = await launchChromium();
    const previous = close;
    close = async () => { await previous?.(); await chromium.close(); };
    const tab = await chromium.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watch(tab);
    await tab.goto(`http://127.0.0.1:${port}/`);
    await tab.waitForFunction(() => document.getElementById('notice')!.innerText.includes('requires authentication'), undefined, { timeout: 10_000 });
    expect(await text(tab, 'notice')).toContain('herald.stats.*');
    expect(await number(tab, 'nodes')).toBe(0);
    mkdirSync('test-artifacts', { recursive: true });
    await tab.screenshot({ path: 'test-artifacts/dashboard-login.png' });

    // A valid token without the stats grant: told exactly which grant is missing. The control API's
    // 403 is held until the link's refusal has been shown, the order in which it once hid it.
    await tab.route('**/api/info', async (route) => {
      await tab.waitForFunction(() => (window as unknown as { herald: { denied: { topic: string }[] } }).herald.denied.some((d) => d.topic === 'herald.stats.*'), undefined, { timeout: 10_000 });
      await route.continue();
    });
    await tab.fill('#admin-token', await sign({ subscribe: ['demo.>'] }));
    await tab.click('#login-button');
    await tab.waitForFunction(() => document.getElementById('action-error')!.innerText.includes('no admin rights'), undefined, { timeout: 10_000 });
    expect(await text(tab, 'notice')).toContain('may not subscribe to herald.stats.*');
    expect(await text(tab, 'notice')).toContain('no admin rights');
    await tab.unroute('**/api/info');
    await tab.click('#logout-button');
    // The only failures so far: the control API refusing that token (403), which the page named.
    const refused = errors.splice(0);
    expect(refused.some((e) => /^403 .*\/api\/info$/.test(e))).toBe(true);
    expect(refused.filter((e) => !/^403 .*\/api\/(info|topics)$/.test(e) && !e.includes('status of 403'))).toEqual([]);
    const controlCalls: string[] = [];
    tab.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/api/')) controlCalls.push(`${r.method()} ${u.pathname}`); });

    // An admin token with the grant: live data, and the actions are enabled.
    await tab.fill('#admin-token', await sign({ admin: true, subscribe: ['herald.stats.*', 'demo.>'], publish: ['demo.>'] }));
    await tab.click('#login-button');
    await until(tab, 'nodes', (n) => n === 1, 'showed the node');
    const outsider = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${await sign({ subscribe: ['demo.>'] })}` } });
    await outsider.request('sub', { topic: 'demo.watched' });
    await outsider.request('sub', { topic: 'demo.other' });

    // Node and topic lists from the control API: this node with its version, the outsider's topics with exact counts.
    await tab.waitForFunction(() => document.getElementById('lists-source')!.innerText.includes('control API'), undefined, { timeout: 10_000 });
    const info = (await (await fetch(`http://127.0.0.1:${port}/api/info`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { nodes: { id: string; version: string }[] };
    expect(info.nodes).toHaveLength(1);
    const nodeRow = tab.locator(`#node-list tr[data-node="${info.nodes[0]!.id}"]`);
    await nodeRow.waitFor({ timeout: 10_000 });
    expect(await nodeRow.locator('td').nth(1).innerText()).toBe('0.1.0');
    await tab.waitForFunction(() => document.querySelector('#topic-list tr[data-topic="demo.other"]') !== null, undefined, { timeout: 10_000 });
    const topicRows = await tab.locator('#topic-list tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText)));
    // The page's own console subscription (demo.>) counts; its stats subscription does not show.
    expect(topicRows).toEqual([['demo.>', '1', info.nodes[0]!.id], ['demo.other', '1', info.nodes[0]!.id], ['demo.watched', '1', info.nodes[0]!.id]]);
    expect(controlCalls).toContain('GET /api/info');
    expect(controlCalls).toContain('GET /api/topics');

    // Unsubscribe (a chip) and disconnect (the button) through the control routes, with exact results.
    const row = tab.locator('#connection-list tr', { hasText: 'demo.watched ✕' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('button.danger').isEnabled()).toBe(true);
    await row.locator('span.act', { hasText: 'demo.watched ✕' }).click();
    expect(await outsider.first((m) => m.op === 'unsub')).toEqual({ op: 'unsub', topic: 'demo.watched', reason: 'server' });
    await tab.waitForFunction(() => document.getElementById('action-error')!.innerText === 'unsubscribe demo.watched: 1 connection(s) on 1 node(s)', undefined, { timeout: 10_000 });
    await tab.waitForFunction(() => document.querySelector('#topic-list tr[data-topic="demo.watched"]') === null, undefined, { timeout: 10_000 });
    expect(controlCalls).toContain('POST /api/unsubscribe');
    const outsiderRow = tab.locator('#connection-list tr', { hasText: 'demo.other ✕' });
    await outsiderRow.waitFor({ timeout: 10_000 });
    const client = await outsiderRow.getAttribute('data-client');
    await outsiderRow.locator('button.danger').click();
    expect(await outsider.waitClose()).toBe(4002);
    await tab.waitForFunction((c) => document.getElementById('action-error')!.innerText === `disconnect ${c}: 1 connection(s) on 1 node(s)`, client, { timeout: 10_000 });
    expect(controlCalls).toContain('POST /api/disconnect');
    await tab.waitForFunction(() => document.querySelector('#topic-list tr[data-topic="demo.other"]') === null, undefined, { timeout: 10_000 });
    expect(errors).toEqual([]);
  }, 60_000);
});
