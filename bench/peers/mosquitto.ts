/**
 * Mosquitto as a peer: its own process on a free loopback port (never a system one on 1883),
 * pinned like every server under test. No persistence, anonymous, TCP_NODELAY as Herald sets it,
 * and no queue caps (a capped queue would drop QoS 0 messages instead of costing CPU).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopTracked } from '../lib/children.js';
import { freePort, waitForPort } from './nats-server.js';

export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface MosquittoServer {
  process: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startMosquitto(cpu?: string): Promise<MosquittoServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(config, [
    `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true',
    'max_queued_messages 0', 'max_queued_bytes 0', 'max_connections -1', 'log_dest none', '',
  ].join('\n'));
  const child = spawnTracked(MOSQUITTO, ['-c', config], { cpu });
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  await waitForPort(port, 'mosquitto');
  return {
    process: child,
    pid: child.pid!,
    port,
    stop: async () => {
      await stopTracked(child);
      process.removeListener('exit', removeDir);
      removeDir();
    },
  };
}
