/**
 * Mosquitto's own command-line clients (`mosquitto_pub`, `mosquitto_sub`, Debian mosquitto-clients)
 * against Herald's MQTT port: both directions with ws and SSE, wildcards, QoS 1, retained, Will,
 * persistent session resume, refused credentials.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { jwtAuth } from '../../../core/auth/index.js';
import type { Broker, BrokerOptions } from '../../../core/index.js';
import { mqtt } from '../../../transports/mqtt/index.js';
import { sse } from '../../../transports/sse/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker, until } from '../../helpers/broker.js';
import { SseReader } from '../../helpers/sse-reader.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Run {
  child: ChildProcess;
  /** stdout lines so far. */
  lines: string[];
  stderr: string;
  /** The exit code once stdout is closed too ('exit' can come before its last data). */
  exit: Promise<number | null>;
}

function run(command: 'mosquitto_pub' | 'mosquitto_sub', args: string[]): Run {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const result: Run = { child, lines: [], stderr: '', exit: new Promise((resolve, reject) => { child.once('error', reject); child.once('close', (code) => resolve(code)); }) };
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    result.lines.push(...lines);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => { result.stderr += text; });
  return result;
}

/**
 * mosquitto_sub printing `retain|topic|payload` per message (its stdout is block-buffered in a pipe,
 * so lines show when it exits). `subscribed` resolves once the broker holds one more subscription.
 */
function subscriber(b: { broker: Broker; mqttPort: number }, args: string[]): Run & { messages(): string[]; subscribed: Promise<void> } {
  const before = b.broker.stats().subscriptions;
  const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(b.mqttPort), '-F', 'MSG|%r|%t|%p', ...args]);
  const messages = () => sub.lines.filter((l) => l.startsWith('MSG|')).map((l) => l.slice(4));
  const subscribed = until(() => b.broker.stats().subscriptions > before, 'mosquitto_sub to subscribe', 10_000);
  return Object.assign(sub, { messages, subscribed });
}

async function publish(port: number, args: string[]): Promise<void> {
  const pub = run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  const code = await pub.exit;
  if (code !== 0) throw new Error(`mosquitto_pub exited ${code}: ${pub.stderr}`);
}

async function start(broker: Partial<BrokerOptions> = {}) {
  const transport = mqtt({ port: 0 });
  const running = await startBroker({ transports: [ws(), sse(), transport], ...broker });
  return { ...running, mqttPort: transport.port };
}

describe('MQTT transport with Mosquitto clients', () => {
  for (const version of ['mqttv311', 'mqttv5'] as const) {
    it(`mosquitto_sub (${version}) gets ws and mosquitto_pub publications through a wildcard; SSE gets mosquitto_pub's`, async () => {
      const b = await start();
      const sub = subscriber(b, ['-V', version, '-q', '1', '-t', 'plant/+/temp', '-C', '2']);
      await sub.subscribed;
      const stream = await SseReader.open(`http://127.0.0.1:${b.port}/events?topic=plant.line-1.temp`);
      await stream.waitFor(() => stream.named('herald-ready').length === 1, 'herald-ready');
      const wsClient = await b.client();
      expect((await wsClient.request('pub', { topic: 'plant.line-2.temp', data: { c: 80 } })).ok).toBe(true);
      await publish(b.mqttPort, ['-V', version, '-q', '1', '-t', 'plant/line-1/temp', '-m', '81.5']);
      expect(await sub.exit).toBe(0);
      expect(sub.messages()).toEqual(['0|plant/line-2/temp|{"c":80}', '0|plant/line-1/temp|81.5']);
      await stream.waitFor(() => stream.messages().length === 1, 'the SSE message');
      expect(stream.messages()[0]).toMatchObject({ topic: 'plant.line-1.temp', data: 81.5 });
      stream.close();
    });
  }

  it('a retained mosquitto_pub reaches a later mosquitto_sub flagged retained', async () => {
    const b = await start();
    await publish(b.mqttPort, ['-q', '1', '-r', '-t', 'door/front', '-m', 'locked']);
    const sub = subscriber(b, ['-q', '1', '-t', 'door/#', '-C', '1']);
    expect(await sub.exit).toBe(0);
    expect(sub.messages()).toEqual(['1|door/front|locked']);
  });

  it("a killed mosquitto_sub's Will reaches a ws subscriber", async () => {
    const b = await start();
    const watcher = await b.client();
    await watcher.request('sub', { topic: 'status.>' });
    const sub = subscriber(b, ['-t', 'anything', '--will-topic', 'status/sensor-9', '--will-payload', 'offline', '--will-qos', '1']);
    await sub.subscribed;
    sub.child.kill('SIGKILL');
    await watcher.waitForMessages(1, 'status.sensor-9');
    expect(watcher.messages()[0]).toMatchObject({ topic: 'status.sensor-9', data: 'offline' });
  });

  it('a persistent mosquitto_sub session gets what was published while it was away', async () => {
    const b = await start();
    const session = ['-V', 'mqttv5', '-c', '-x', '60', '-i', 'logger-1', '-q', '1', '-t', 'jobs/queue'];
    const first = subscriber(b, [...session, '-C', '1']);
    await first.subscribed;
    await publish(b.mqttPort, ['-q', '1', '-t', 'jobs/queue', '-m', 'job-1']);
    expect(await first.exit).toBe(0);
    const wsClient = await b.client();
    await wsClient.request('pub', { topic: 'jobs.queue', data: 'job-2' });
    await wsClient.request('pub', { topic: 'jobs.queue', data: 'job-3' });
    const again = subscriber(b, [...session, '-C', '2']);
    expect(await again.exit).toBe(0);
    expect(again.messages()).toEqual(['0|jobs/queue|job-2', '0|jobs/queue|job-3']);
  });

  it('refuses mosquitto_pub with a bad JWT as password, and accepts a good one', async () => {
    const secret = 'mosquitto-test-secret-of-32-bytes-or-more';
    const b = await start({ hooks: jwtAuth({ secret }) });
    const bad = run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(b.mqttPort), '-V', 'mqttv5', '-u', 'dev', '-P', 'forged', '-t', 'x', '-m', '1']);
    expect(await bad.exit).not.toBe(0);
    expect(bad.stderr.toLowerCase()).toContain('not authorized');
    const good = await new SignJWT({ sub: 'dev', publish: ['x'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    await publish(b.mqttPort, ['-V', 'mqttv5', '-u', 'dev', '-P', good, '-q', '1', '-t', 'x', '-m', '1']);
    expect((await b.broker.history('x')).publications.map((p) => p.data)).toEqual([1]);
  });
});
