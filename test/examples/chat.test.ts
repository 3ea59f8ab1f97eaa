/**
 * examples/chat in headless Chromium: three visitors in one room, one per transport (WebSocket,
 * socket.io, SSE + HTTP), see each other in presence and every message; a latecomer gets history;
 * a refused name is told why on every transport.
 */
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { browserTest, launchChromium } from '../helpers/chromium.js';
import { portsIn, runExample } from '../helpers/example.js';

let close: (() => Promise<void>) | undefined;
afterAll(async () => { await close?.(); });

describe('examples/chat', () => {
  browserTest('three visitors on WebSocket, socket.io and SSE share a room: presence, messages, history', async () => {
    const { line } = await runExample('chat', 'npm run example:chat', { PORT: '0' });
    const [port] = portsIn(line);
    const chromium = await launchChromium();
    close = chromium.close;
    const errors: string[] = [];

    const join = async (name: string, transport: string, room = 'lobby'): Promise<Page> => {
      const tab = await chromium.browser.newPage();
      tab.on('pageerror', (e) => errors.push(`${name}: ${e}`));
      tab.on('dialog', (d) => { errors.push(`${name}: ${d.message()}`); void d.dismiss(); });
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.fill('#name', name);
      await tab.fill('#room', room);
      await tab.selectOption('#transport', transport);
      await tab.click('#login button');
      await tab.waitForFunction(() => (window as any).chat.joined, undefined, { timeout: 10_000 });
      return tab;
    };
    const say = async (tab: Page, text: string) => {
      await tab.fill('#say', text);
      await tab.click('#send button');
    };
    const lines = (tab: Page): Promise<string[]> => tab.evaluate(() => (window as any).chat.lines);
    const waitMembers = (tab: Page, names: string[]) =>
      tab.waitForFunction((n) => JSON.stringify((window as any).chat.members) === JSON.stringify(n), names, { timeout: 10_000 });
    const waitLine = (tab: Page, text: string) =>
      tab.waitForFunction((t) => (window as any).chat.lines.includes(t), text, { timeout: 10_000 });

    const alice = await join('alice', 'ws');
    const bob = await join('bob', 'socketio');
    const carol = await join('carol', 'sse');
    const everyone = ['alice', 'bob', 'carol'];
    for (const tab of [alice, bob, carol]) await waitMembers(tab, everyone);
    await waitLine(alice, 'carol joined');

    await say(alice, 'hello from ws');
    await say(bob, 'hello from socket.io');
    await say(carol, 'hello from sse');
    const said = ['alice: hello from ws', 'bob: hello from socket.io', 'carol: hello from sse'];
    for (const tab of [alice, bob, carol]) for (const l of said) await waitLine(tab, l);
    expect((await lines(bob)).filter((l) => l.includes(': hello'))).toEqual(said);

    // A visitor in another room sees nothing of the lobby.
    const dave = await join('dave', 'ws', 'kitchen');
    await waitMembers(dave, ['dave']);
    // A latecomer in the lobby gets the history, in order.
    const erin = await join('erin', 'socketio');
    expect((await lines(erin)).slice(0, 3)).toEqual(said);
    await waitMembers(alice, ['alice', 'bob', 'carol', 'erin']);
    expect(await lines(dave)).toEqual([]);

    await carol.close();
    await waitLine(alice, 'carol left');
    await waitMembers(alice, ['alice', 'bob', 'erin']);

    // A name the server refuses: the page says why, on every transport, and nobody joins.
    for (const transport of ['ws', 'socketio', 'sse']) {
      const tab = await chromium.browser.newPage();
      tab.on('pageerror', (e) => errors.push(`refused on ${transport}: ${e}`));
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.fill('#name', '<b>mallory</b>');
      await tab.selectOption('#transport', transport);
      await tab.click('#login button');
      await tab.waitForFunction(() => (window as any).chat.refused !== undefined, undefined, { timeout: 10_000 });
      expect(await tab.textContent('#why'), transport).toBe('could not join: a name is 1 to 32 letters, digits, spaces, ".", "-" or "_", starting with a letter or digit');
      expect(await tab.isVisible('#why')).toBe(true);
      expect(await tab.isVisible('#chat')).toBe(false);
      expect(await tab.evaluate(() => (window as any).chat.joined)).toBe(false);
      await tab.close();
    }
    expect((await lines(alice)).filter((l) => l.includes('mallory'))).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);
});
