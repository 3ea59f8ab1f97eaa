/**
 * The built bundle in headless Chromium: a plain page imports /client.js from the broker, subscribes,
 * recovers across a cut connection (recovered: true) and reports recovered: false after the broker
 * restarts with a new in-memory epoch. Skips only when Chromium cannot run here (reason printed).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { clientBundle } from '../../ops/client-bundle/index.js';
import { createBroker, type Broker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import { browserTest, chromiumUnavailable, launchChromium, pageTransport } from '../helpers/chromium.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';


const PAGE = `<!doctype html><meta charset="utf-8"><title>herald client</title>
<script type="module">
  import { HeraldClient } from '/client.js';
  const log = { messages: [], subscribed: [], states: [] };
  const client = new HeraldClient({ url: 'ws://' + location.host + '/ws', protocol: 'msgpack', minReconnectDelay: 100, maxReconnectDelay: 400 });
  client.on('state', (s) => log.states.push(s));
  const sub = client.subscribe('news.local', (m) => log.messages.push(m.data.n));
  sub.on('subscribed', (e) => log.subscribed.push({ recovered: e.recovered, resubscribed: e.resubscribed }));
  Object.assign(window, { log, client });
  await client.connect();
</script>`;

let browser: { browser: Browser; close: () => Promise<void> } | undefined;
beforeAll(async () => {
  if (!chromiumUnavailable) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const testPage = pageTransport('/index.html', PAGE);

function brokerOn(port: number): Promise<Broker> {
  return createBroker({ port, transports: [ws(), clientBundle(), testPage], logger: false });
}

type Log = { messages: number[]; subscribed: { recovered: boolean; resubscribed: boolean }[]; states: string[] };
const readLog = (page: Page): Promise<Log> => page.evaluate(() => (window as unknown as { log: Log }).log);

browserTest('the /client.js bundle subscribes, recovers after a cut and reports recovered:false after a restart', async () => {
  let broker = await brokerOn(0);
  const port = broker.address()!.port;
  let proxy: TcpProxy | undefined;
  const page = await browser!.browser.newPage();
  try {
    proxy = await startTcpProxy(port);
    const origin = `http://127.0.0.1:${proxy.port}`;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/index.html`);
    const waitFor = (fn: (log: Log) => boolean, arg?: unknown) =>
      page.waitForFunction(`(${fn.toString()})(window.log ?? { messages: [], subscribed: [], states: [] })`, arg, { timeout: 10_000 });

    await waitFor((log) => log.subscribed.length === 1);
    for (let n = 1; n <= 3; n++) await broker.publish('news.local', { n });
    await waitFor((log) => log.messages.length === 3);

    // Cut the connection; publish while the page is away.
    proxy.refuse(500);
    proxy.drop();
    await waitFor((log) => log.states.at(-1) === 'connecting');
    for (let n = 4; n <= 5; n++) await broker.publish('news.local', { n });
    await waitFor((log) => log.subscribed.length === 2);
    await waitFor((log) => log.messages.length === 5);

    // The page publishes too, through the bundle's publish().
    const reply = await page.evaluate(() => (window as unknown as { client: { publish(t: string, d: unknown): Promise<unknown> } }).client.publish('news.local', { n: 6 }));
    expect(reply).toEqual({ offset: 6, epoch: expect.any(String) });
    await waitFor((log) => log.messages.length === 6);

    // Restart: new memory history, new epoch.
    // Restart on a port the kernel picks, behind the same proxy address.
    await broker.close();
    broker = await brokerOn(0);
    proxy.retarget(broker.address()!.port);
    await waitFor((log) => log.subscribed.length === 3);
    await broker.publish('news.local', { n: 7 });
    await waitFor((log) => log.messages.length === 7);

    const log = await readLog(page);
    expect(log.messages).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log.subscribed).toEqual([
      { recovered: false, resubscribed: false },
      { recovered: true, resubscribed: true },
      { recovered: false, resubscribed: true },
    ]);
    expect(log.states[0]).toBe('connecting');
    expect(log.states.filter((s) => s === 'connected')).toHaveLength(3);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
    await proxy?.close();
    await broker.close();
  }
});
