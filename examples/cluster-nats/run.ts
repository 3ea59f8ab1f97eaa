/**
 * Two Herald brokers, one NATS: a message published on node A reaches a subscriber on node B.
 *
 *   npx tsx examples/cluster-nats/run.ts
 *
 * Uses the NATS server in HERALD_NATS_URL when set; otherwise starts a throwaway `nats-server -js`
 * on a free port (Debian: `apt-get install -y nats-server`). The brokers are the standalone binary,
 * `herald --port 0 --nats <url>`, exactly as you would run them on two machines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function startNats(): Promise<string> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'herald-example-nats-'));
  cleanups.push(() => rmSync(store, { recursive: true, force: true }));
  const nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: 'ignore' });
  nats.once('error', (err) => { console.error(`cannot start nats-server (apt-get install -y nats-server): ${err.message}`); process.exit(1); });
  children.push(nats);
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true)).listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (up) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nats-server did not start');
}

/** Starts `herald --port 0 --nats <url>` and resolves with the port from its listen log line. */
function startHerald(name: string, natsUrl: string, prefix: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin/herald.ts'), '--port', '0', '--nats', natsUrl, '--nats-prefix', prefix],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg?.startsWith('herald listening') && entry.port) {
        console.log(`node ${name}: herald on port ${entry.port}, clustered over ${natsUrl}`);
        resolve(entry.port);
      }
    });
    child.once('exit', (code) => reject(new Error(`node ${name} exited with ${code}`)));
  });
}

/** A tiny protocol v1 client: request() sends a command and waits for its reply. */
async function client(port: number) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['herald.v1.json']);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 1;
  const pending = new Map<number, (reply: any) => void>();
  const pushes: any[] = [];
  socket.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    if (m.id !== undefined) pending.get(m.id)?.(m);
    else pushes.push(m);
  });
  return {
    pushes,
    request(op: string, fields: object): Promise<any> {
      const id = nextId++;
      socket.send(JSON.stringify({ op, id, ...fields }));
      return new Promise((resolve) => pending.set(id, resolve));
    },
    close: () => socket.close(),
  };
}

async function main(): Promise<void> {
  const natsUrl = process.env.HERALD_NATS_URL ?? await startNats();
  const prefix = `example${process.pid}`;
  const [portA, portB] = await Promise.all([startHerald('A', natsUrl, prefix), startHerald('B', natsUrl, prefix)]);

  const onB = await client(portB);
  await onB.request('sub', { topic: 'chat.lobby' });
  const onA = await client(portA);
  const sent = await onA.request('pub', { topic: 'chat.lobby', data: { text: 'hello from node A' } });

  const deadline = Date.now() + 5000;
  while (onB.pushes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const got = onB.pushes[0];
  if (got === undefined) throw new Error('the message did not reach node B');
  console.log(`published on node A (port ${portA}): offset ${sent.offset}`);
  console.log(`received on node B (port ${portB}): ${JSON.stringify(got)}`);
  const presence = await onA.request('presence', { topic: 'chat.lobby' });
  console.log(`presence of chat.lobby asked on node A lists node B's subscriber: ${JSON.stringify(presence.clients)}`);
  console.log('message crossed: A -> NATS -> B');
  onA.close();
  onB.close();
}

/** Stops the brokers (SIGTERM: they close their clients and leave the cluster), then NATS. */
async function shutdown(): Promise<void> {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  for (const cleanup of cleanups) cleanup();
}

process.on('SIGTERM', () => { void shutdown().then(() => process.exit(1)); });
main().then(
  () => shutdown(),
  async (err: unknown) => { console.error(err); await shutdown(); process.exitCode = 1; },
);
