/**
 * examples/notifications: two browser users with their own JWT see only their own notifications;
 * with a user's token, a raw client cannot read another user's topic by name, by wildcard, or
 * through SSE, and cannot publish.
 */
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { browserTest, launchChromium } from '../helpers/chromium.js';
import { portsIn, runExample } from '../helpers/example.js';
import { TestClient } from '../helpers/ws-client.js';

let close: (() => Promise<void>) | undefined;
afterAll(async () => { await close?.(); });

async function login(port: number, user: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) });
  return ((await res.json()) as { token: string }).token;
}

async function notify(port: number, user: string, text: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/notify/${user}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
  expect(await res.json()).toMatchObject({ ok: true });
}

describe('examples/notifications', () => {
  it('a user\'s token reads only that user\'s topic: not another by name, by wildcard or over SSE, and publishes nothing', async () => {
    const { line } = await runExample('notifications', 'npm run example:notifications', { PORT: '0' });
    const [port] = portsIn(line);
    const alice = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${await login(port!, 'alice')}` } });
    expect(await alice.request('sub', { topic: 'user.alice.notifications' })).toMatchObject({ ok: true });
    for (const topic of ['user.bob.notifications', 'user.*.notifications', 'user.>', '>']) {
      expect(await alice.request('sub', { topic })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(await alice.request('pub', { topic: 'user.alice.notifications', data: 'self' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const sse = await fetch(`http://127.0.0.1:${port}/events?topic=user.bob.notifications`, { headers: { authorization: `Bearer ${await login(port!, 'alice')}` } });
    // SSE answers per topic: the stream opens and says the topic is forbidden.
    const reader = sse.body!.getReader();
    let text = '';
    while (!text.includes('herald-ready')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/event: herald-error\ndata: .*"topic":"user\.bob\.notifications".*"forbidden"/);
    await reader.cancel();
    const forged = await fetch(`http://127.0.0.1:${port}/events?topic=user.bob.notifications`, { headers: { authorization: 'Bearer not.a.token' } });
    expect(forged.status).toBe(401);
    await forged.body?.cancel();

    await notify(port!, 'bob', 'for bob');
    await notify(port!, 'alice', 'for alice');
    const [got] = await alice.waitForMessages(1);
    expect(got).toMatchObject({ topic: 'user.alice.notifications', data: { text: 'for alice' } });
    expect(alice.messages()).toHaveLength(1);

    // The admin action: alice is logged out everywhere (ws and SSE, 4003), bob stays.
    const bob = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${await login(port!, 'bob')}` } });
    expect(await bob.request('sub', { topic: 'user.bob.notifications' })).toMatchObject({ ok: true });
    const stream = await fetch(`http://127.0.0.1:${port}/events?topic=user.alice.notifications`, { headers: { authorization: `Bearer ${await login(port!, 'alice')}` } });
    const events = stream.body!.getReader();
    let streamed = '';
    while (!streamed.includes('herald-ready')) streamed += new TextDecoder().decode((await events.read()).value);
    const out = await fetch(`http://127.0.0.1:${port}/logout/alice`, { method: 'POST' });
    const answer = (await out.json()) as { ok: boolean; connections: number; nodes: Record<string, number> };
    expect([answer.ok, answer.connections, Object.values(answer.nodes)]).toEqual([true, 2, [2]]);
    expect(await alice.waitClose()).toBe(4003);
    for (let r = await events.read(); !r.done; r = await events.read()) streamed += new TextDecoder().decode(r.value);
    expect(streamed).toContain('event: herald-close\ndata: {"code":4003,"reason":"logged out everywhere","reconnect":false}');
    expect((await bob.request('ping')).ok).toBe(true);
    await bob.close();
    await alice.close();
  }, 30_000);

  browserTest('two browser users, logged in with their own JWT, each see only their own notifications', async () => {
    const { line } = await runExample('notifications', 'npm run example:notifications', { PORT: '0' });
    const [port] = portsIn(line);
    const chromium = await launchChromium();
    close = chromium.close;
    const errors: string[] = [];
    const open = async (user: string): Promise<Page> => {
      const tab = await chromium.browser.newPage();
      tab.on('pageerror', (e) => errors.push(`${user}: ${e}`));
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.fill('#user', user);
      await tab.click('#login button');
      await tab.waitForFunction(() => (window as any).ready === true, undefined, { timeout: 15_000 });
      return tab;
    };
    const alice = await open('alice');
    const bob = await open('bob');
    // Bob asks the back end to notify Alice through his page; the back end also notifies each directly.
    await bob.fill('#to', 'alice');
    await bob.fill('#text', 'alice, from bob\'s page');
    await bob.click('#notify button');
    for (let i = 1; i <= 3; i++) {
      await notify(port!, 'alice', `alice ${i}`);
      await notify(port!, 'bob', `bob ${i}`);
    }
    const inbox = async (tab: Page, n: number): Promise<string[]> => {
      await tab.waitForFunction((k) => (window as any).inbox.length >= k, n, { timeout: 10_000 });
      return tab.evaluate(() => (window as any).inbox);
    };
    expect(await inbox(alice, 4)).toEqual(['alice, from bob\'s page', 'alice 1', 'alice 2', 'alice 3']);
    expect(await inbox(bob, 3)).toEqual(['bob 1', 'bob 2', 'bob 3']);
    // The last publication reached both inboxes; nothing else is on its way to either.
    await notify(port!, 'bob', 'bob 4');
    expect(await inbox(bob, 4)).toEqual(['bob 1', 'bob 2', 'bob 3', 'bob 4']);
    expect(await inbox(alice, 4)).toHaveLength(4);
    expect(await alice.locator('#inbox').innerText()).not.toMatch(/bob \d/);
    expect(errors).toEqual([]);
  }, 60_000);
});
