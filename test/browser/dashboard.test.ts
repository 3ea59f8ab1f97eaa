/**
 * The live dashboard of the standalone broker in headless Chromium: it follows the broker's stats
 * topic, and a visitor subscribes and publishes over WebSocket, socket.io and SSE in turn; the
 * counters on the page move, and a screenshot is kept in test-artifacts/.
 */
import { mkdirSync, statSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startBinary } from '../helpers/binary.js';
import { browserTest, launchChromium } from '../helpers/chromium.js';
import { TestClient } from '../helpers/ws-client.js';

const SCREENSHOT = 'test-artifacts/dashboard.png';

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
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
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

    const before = await number(tab, 'total-publications');
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

    // Counters moved: total publications (the stats' own excluded from the rate, not the total), recent list.
    await tab.waitForFunction(() => document.getElementById('recent')!.innerText.includes('demo.hello #3'), undefined, { timeout: 10_000 });
    const recent = await text(tab, 'recent');
    for (const n of [1, 2, 3]) expect(recent).toContain(`demo.hello #${n}`);
    expect(await number(tab, 'total-publications')).toBeGreaterThanOrEqual(before + 3);
    expect(await number(tab, 'total-deliveries')).toBeGreaterThanOrEqual(6); // each to the page and the outsider
    expect(await text(tab, 'messages')).toContain('"via":"sse"');
    expect(errors).toEqual([]);

    mkdirSync('test-artifacts', { recursive: true });
    await tab.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    await outsider.close();
  }, 60_000);
});
