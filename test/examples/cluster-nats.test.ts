/** examples/cluster-nats: the README's command runs two brokers and one NATS, and the message crosses; the CLI's NATS flags. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { parseCli } from '../../bin/cli.js';
import { childEnv } from '../helpers/child-env.js';
import { stopExample } from '../helpers/example.js';
import { natsServerBinary } from '../helpers/nats-server.js';

let child: ChildProcess | undefined;
afterEach(async () => {
  if (child) await stopExample(child);
});

it('examples/cluster-nats: its README command runs two brokers and one NATS, and a message published on node A reaches node B', async () => {
  const command = 'npx tsx examples/cluster-nats/run.ts';
  expect(readFileSync('examples/cluster-nats/README.md', 'utf8')).toContain(command);
  const bin = natsServerBinary();
  // The example finds nats-server on PATH; Debian puts it in /usr/sbin, not on every user's PATH.
  child = spawn('sh', ['-c', `exec ${command}`], { env: childEnv({ PATH: `${dirname(bin)}:${process.env.PATH ?? ''}` }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example did not finish:\n${out}`)), 40_000);
    child!.once('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  expect(code, out).toBe(0);
  expect(out).toMatch(/received on node B \(port \d+\): \{"op":"msg","topic":"chat\.lobby","data":\{"text":"hello from node A"\}/);
  expect(out).toContain('message crossed: A -> NATS -> B');
}, 45_000);

it('herald CLI: --nats and HERALD_NATS_URL take one or several comma-separated URLs', () => {
  expect(parseCli([], {}).nats).toBeUndefined();
  expect(parseCli([], { HERALD_NATS_URL: 'nats://10.0.0.1:4222, nats://10.0.0.2:4222' }).nats).toEqual(['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
  expect(parseCli(['--nats', 'nats://127.0.0.1:4222'], { HERALD_NATS_URL: 'nats://elsewhere:4222' })).toMatchObject({ nats: ['nats://127.0.0.1:4222'], natsPrefix: 'herald' });
  expect(parseCli(['--nats-prefix', 'app_herald'], { HERALD_NATS_URL: 'nats://h:4222' }).natsPrefix).toBe('app_herald');
  // One subject token, as the adapter takes it (a dotted prefix would nest under another's).
  expect(() => parseCli(['--nats-prefix', 'app.herald'], { HERALD_NATS_URL: 'nats://h:4222' })).toThrow(/nats-prefix/);
  expect(() => parseCli(['--nats', 'http://x y'], {})).toThrow(/not a NATS URL/);
  expect(() => parseCli(['--nats', 'nats://h:4222', '--nats-prefix', 'a.*'], {})).toThrow(/nats-prefix/);
});
