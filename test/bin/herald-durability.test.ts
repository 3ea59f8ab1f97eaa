/**
 * The standalone binary keeps history on disk by default (adapters/lmdb): what a restart, a crash and
 * a full disk do to it, through the real binary and real WebSocket clients.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBinary } from '../helpers/binary.js';
import { freshDataDir } from '../helpers/child-env.js';
import { TestClient, type Message } from '../helpers/ws-client.js';

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));

async function stop(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill('SIGTERM');
  expect(await done).toBe(0);
}

/** Subscribes with `since`, then publishes a marker: what arrived before it is exactly what was replayed. */
async function resume(port: number, topic: string, since: { offset: number; epoch: string }): Promise<{ ack: Message; replayed: unknown[] }> {
  const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
  const ack = await c.request('sub', { topic, since });
  const marker = c.next((m) => m.op === 'msg' && m.data === 'marker');
  await c.request('pub', { topic, data: 'marker' });
  await marker;
  const replayed = c.messages(topic).map((m) => m.data);
  await c.close();
  return { ack, replayed: replayed.slice(0, -1) };
}

describe('herald binary: durable history', () => {
  it('keeps positions and epochs across SIGTERM and a start, in ./herald-data by default; --in-memory does not', async () => {
    const cwd = freshDataDir();
    const env = { HERALD_DATA_DIR: undefined };
    let run = await startBinary(['--port', '0'], env, { cwd });
    expect(run.lines.some((l) => l.includes(`history kept on disk in ${join(cwd, 'herald-data')} (durability commit)`))).toBe(true);
    const c = await TestClient.connect(`ws://127.0.0.1:${run.port}/ws`);
    const acks = [];
    for (const n of [1, 2, 3, 4, 5]) acks.push(await c.request('pub', { topic: 'inbox.u1', data: { n } }));
    await c.close();
    await stop(run.child);
    expect(existsSync(join(cwd, 'herald-data', 'data.mdb'))).toBe(true);

    run = await startBinary(['--port', '0'], env, { cwd });
    const { ack, replayed } = await resume(run.port, 'inbox.u1', { offset: acks[1]!.offset, epoch: acks[1]!.epoch });
    expect(ack).toMatchObject({ ok: true, recovered: true, offset: 5, epoch: acks[0]!.epoch });
    expect(replayed).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }]);
    await stop(run.child);

    // The control: memory only, the same steps lose the history (the old behaviour of the binary).
    const memoryCwd = freshDataDir();
    run = await startBinary(['--port', '0', '--in-memory'], env, { cwd: memoryCwd });
    const m = await TestClient.connect(`ws://127.0.0.1:${run.port}/ws`);
    const first = await m.request('pub', { topic: 'inbox.u1', data: 1 });
    await m.request('pub', { topic: 'inbox.u1', data: 2 });
    await m.close();
    await stop(run.child);
    run = await startBinary(['--port', '0', '--in-memory'], env, { cwd: memoryCwd });
    expect((await resume(run.port, 'inbox.u1', { offset: first.offset, epoch: first.epoch })).ack.recovered).toBe(false);
    expect(existsSync(join(memoryCwd, 'herald-data'))).toBe(false);
  }, 150_000);

  it('after kill -9 during a publish stream, every acknowledged publication is there and the store opens cleanly', async () => {
    const dir = freshDataDir();
    const env = { HERALD_DATA_DIR: dir, HERALD_HISTORY_SIZE: '100000' };
    let run = await startBinary(['--port', '0', '--no-dashboard'], env);
    const c = await TestClient.connect(`ws://127.0.0.1:${run.port}/ws`);
    const acked = new Map<number, number>();
    let epoch = '';
    let sent = 0;
    let killed = false;
    // Keeps 32 publishes in flight; kills the broker once 600 were acknowledged, with more on their way.
    await new Promise<void>((resolve) => {
      const more = (): void => {
        while (!killed && sent - acked.size < 32) {
          const n = ++sent;
          c.request('pub', { topic: 'stream', data: n }).then((ack) => {
            if (ack.ok !== true || killed) return;
            acked.set(ack.offset as number, n);
            epoch = ack.epoch as string;
            if (acked.size >= 600) {
              killed = true;
              run.child.kill('SIGKILL');
              resolve();
            } else more();
          }, () => undefined);
        }
      };
      more();
    });
    await exited(run.child);
    expect(sent).toBeGreaterThan(acked.size);

    run = await startBinary(['--port', '0', '--no-dashboard'], env);
    const r = await TestClient.connect(`ws://127.0.0.1:${run.port}/ws`);
    const kept = await r.request('history', { topic: 'stream', since: { offset: 0, epoch }, limit: 10_000 });
    expect(kept).toMatchObject({ ok: true, recovered: true, epoch });
    const byOffset = new Map((kept.messages as Message[]).map((m) => [m.offset as number, m.data as number]));
    for (const [offset, n] of acked) expect(byOffset.get(offset)).toBe(n);
    // Offsets go on where the store left off, under the same epoch.
    const next = await r.request('pub', { topic: 'stream', data: 'after' });
    expect(next).toMatchObject({ ok: true, epoch, offset: kept.offset + 1 });
    await r.close();
    await stop(run.child);
  }, 150_000);

  it('a full disk answers publishes with the retryable unavailable error and the broker keeps serving', async () => {
    const dir = freshDataDir();
    // A 1 MiB file system of its own, mounted in a private mount namespace (as root, or via a user namespace).
    const prefix = ['unshare', '-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"', dir];
    expect(spawnSync('unshare', ['-rm', 'true']).status).toBe(0);
    const run = await startBinary(['--port', '0', '--no-dashboard'], { HERALD_DATA_DIR: dir, HERALD_HISTORY_SIZE: '100000', HERALD_LIMITS_MAX_PAYLOAD: '131072' }, { prefix });
    const c = await TestClient.connect(`ws://127.0.0.1:${run.port}/ws`);
    const payload = 'x'.repeat(16 * 1024);
    let refused: Message | undefined;
    let stored = 0;
    for (let i = 0; i < 200 && refused === undefined; i++) {
      const replies = await Promise.all(Array.from({ length: 4 }, () => c.request('pub', { topic: 'big', data: payload })));
      for (const reply of replies) {
        if (reply.ok === true) stored++;
        else refused ??= reply;
      }
    }
    expect(stored).toBeGreaterThan(0);
    expect(refused).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    // Still serving: another publish gets an answer (refused again, or stored), history reads work.
    const again = await c.request('pub', { topic: 'big', data: payload });
    expect(again.ok === true || again.error?.code === 'unavailable').toBe(true);
    expect((await c.request('ping')).ok).toBe(true);
    expect((await c.request('history', { topic: 'big', limit: 1 })).ok).toBe(true);
    expect(run.child.exitCode).toBeNull();
    await c.close();
    await stop(run.child);
  }, 150_000);

  it('an unusable data directory is one clear line at start and exit 1', async () => {
    const file = join(freshDataDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    const failed = await startBinary(['--port', '0'], { HERALD_DATA_DIR: join(file, 'data') }).then(() => undefined, (err: Error) => err.message);
    expect(failed).toMatch(/binary exited with 1/);
    expect(failed).toMatch(/herald: history directory .*a-file\/data is not usable: .*--data-dir or HERALD_DATA_DIR, or run with --in-memory/);
    expect(failed).not.toMatch(/\n\s+at /);
  }, 60_000);
});
