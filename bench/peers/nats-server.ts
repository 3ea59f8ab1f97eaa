/**
 * nats-server as a peer: its own process (not the system one on 4222), with a WebSocket listener
 * (`websocket { no_tls: true }`) on a free loopback port, pinned like every server under test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopTracked } from '../lib/children.js';
import { sleep } from '../lib/stats.js';

export const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function waitForPort(port: number, what = 'nats-server', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}`);
    await sleep(50);
  }
}

export interface NatsServer {
  process: ChildProcess;
  pid: number;
  /** Client (TCP) port. */
  port: number;
  /** WebSocket port. */
  wsPort: number;
  stop(): Promise<void>;
}

export async function startNatsServer(cpu?: string, options: { jetstream?: boolean } = {}): Promise<NatsServer> {
  const port = await freePort();
  const wsPort = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-nats-'));
  const config = path.join(dir, 'nats.conf');
  writeFileSync(config, `listen: 127.0.0.1:${port}\nmax_payload: 1MB\nwebsocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n}\n` +
    (options.jetstream ? `jetstream {\n  store_dir: "${path.join(dir, 'js')}"\n}\n` : ''));
  const child = spawnTracked(NATS_SERVER, ['-c', config, '-l', path.join(dir, 'nats.log')], { cpu });
  // An interrupted run kills the server (children.ts) but skips stop(): drop its files on exit too.
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  await Promise.all([waitForPort(port), waitForPort(wsPort)]);
  return {
    process: child,
    pid: child.pid!,
    port,
    wsPort,
    stop: async () => {
      await stopTracked(child);
      process.removeListener('exit', removeDir);
      removeDir();
    },
  };
}
