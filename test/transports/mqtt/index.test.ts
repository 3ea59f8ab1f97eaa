/**
 * The MQTT transport against mqtt.js (the `mqtt` package) and raw packets: QoS 1 acknowledgements,
 * wildcards, retained messages, Wills, persistent sessions, auth, malformed and oversize packets,
 * keepalive and the bounds a client could otherwise make the broker hold.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { jwtAuth } from '../../../core/auth/index.js';
import { mqtt, type MqttOptions } from '../../../transports/mqtt/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker, until } from '../../helpers/broker.js';
import { connectMqtt, RawMqtt } from '../../helpers/mqtt.js';
import type { BrokerOptions } from '../../../core/index.js';

async function start(options: MqttOptions = {}, broker: Partial<BrokerOptions> = {}) {
  const transport = mqtt({ port: 0, ...options });
  const running = await startBroker({ transports: [ws(), transport], ...broker });
  return { ...running, tcp: `mqtt://127.0.0.1:${transport.port}`, mqttPort: transport.port, wsUrl: `ws://127.0.0.1:${running.port}/mqtt` };
}

const SECRET = 'mqtt-test-secret-of-at-least-32-bytes!!';
const key = new TextEncoder().encode(SECRET);
const token = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key);

describe('MQTT transport with mqtt.js', () => {
  it('acknowledges a QoS 1 publication once it is stored in the topic history, over TCP and WebSocket', async () => {
    const b = await start();
    for (const [url, protocolVersion] of [[b.tcp, 5], [b.wsUrl, 4]] as const) {
      const client = await connectMqtt(url, { protocolVersion });
      const before = (await b.broker.history('sensors.t')).publications.length;
      await client.publishAsync('sensors/t', '{"c":21.5}', { qos: 1 }); // resolves on PUBACK
      const history = await b.broker.history('sensors.t');
      expect(history.publications.length).toBe(before + 1);
      expect(history.publications.at(-1)!.data).toEqual({ c: 21.5 });
    }
  });

  it('answers pipelined QoS 1 publications in order and in one WebSocket message, behind the deliveries they caused', async () => {
    const b = await start();
    const socket = new WebSocket(b.wsUrl, 'mqtt');
    const messages: Packet[][] = [];
    socket.on('message', (bytes: Buffer) => {
      const packets: Packet[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 4 }).on('packet', (p: Packet) => packets.push(p));
      parser.parse(bytes);
      messages.push(packets);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const send = (packets: Record<string, unknown>[]) => socket.send(Buffer.concat(packets.map((p) => mqttPacket.generate(p as unknown as Packet, { protocolVersion: 4 }))));
    send([{ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pipelined', clean: true, keepalive: 0 }]);
    send([{ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'echo', qos: 0 }] }]);
    await until(() => messages.flat().some((p) => p.cmd === 'suback'), 'SUBACK');
    messages.length = 0;
    // Each reply passes through the session's reply callback, which writes the queue first.
    send(Array.from({ length: 16 }, (_, i) => ({ cmd: 'publish', topic: 'echo', payload: String(i), qos: 1, messageId: i + 1, retain: false, dup: false })));
    await until(() => messages.flat().filter((p) => p.cmd === 'puback').length === 16, '16 PUBACKs');
    const packets = messages.flat().map((p) => `${p.cmd}:${p.cmd === 'puback' ? p.messageId : (p as { payload: Buffer }).payload.toString()}`);
    expect(packets).toEqual([
      ...Array.from({ length: 16 }, (_, i) => `publish:${i}`),
      ...Array.from({ length: 16 }, (_, i) => `puback:${i + 1}`),
    ]);
    expect(messages.length).toBe(1);
    socket.close();
  });

  it('delivers through + and # (a/# includes a itself), granting QoS 2 as 1', async () => {
    const b = await start();
    const sub = await connectMqtt(b.tcp, { protocolVersion: 5 });
    const got = sub.got;
    const granted = await sub.subscribeAsync({ 'home/+/temp': { qos: 2 }, 'alarm/#': { qos: 0 } });
    expect(granted.map((g) => g.qos)).toEqual([1, 0]);
    const pub = await connectMqtt(b.tcp);
    await pub.publishAsync('home/kitchen/temp', '20', { qos: 1 });
    await pub.publishAsync('home/kitchen/humidity', '50', { qos: 1 }); // matches nothing
    await pub.publishAsync('alarm', 'root', { qos: 1 });
    await pub.publishAsync('alarm/door/front', 'open', { qos: 1 });
    await until(() => got.length === 3, 'three deliveries');
    expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      ['home/kitchen/temp', '20', 1], ['alarm', 'root', 0], ['alarm/door/front', 'open', 0],
    ]);
  });

  it('refuses filters and topic names that have no Herald form with their reason codes, never rewriting them', async () => {
    const b = await start();
    const v5 = await connectMqtt(b.tcp, { protocolVersion: 5 });
    const refused = await v5.subscribeAsync({ 'ok/topic': { qos: 1 }, 'bad topic/x': { qos: 1 }, '$share/g/x': { qos: 0 } }).catch((err: { packet: { granted: number[] } }) => err.packet.granted);
    expect(refused).toEqual([1, 0x8f, 0x9e]);
    const err = await v5.publishAsync('has.dot', 'x', { qos: 1 }).then(() => undefined, (e: { code?: number }) => e);
    expect(err?.code).toBe(0x90); // Topic Name invalid
    expect((await b.broker.history('has.dot').catch(() => undefined))?.publications.length ?? 0).toBe(0);

    const v4 = await connectMqtt(b.tcp, { protocolVersion: 4 });
    const v4granted = await v4.subscribeAsync({ 'bad topic': { qos: 0 } }).catch((e: { packet: { granted: number[] } }) => e.packet.granted);
    expect(v4granted).toEqual([0x80]);
    // 3.1.1 has no way to refuse one publication: the connection is closed.
    const closed = new Promise<void>((resolve) => v4.once('close', () => resolve()));
    v4.publish('a//b', 'x', { qos: 1 });
    await closed;
  });

  it('keeps the last retained publication in history and gives it to new subscribers flagged retained', async () => {
    const b = await start();
    const pub = await connectMqtt(b.tcp, { protocolVersion: 5 });
    await pub.publishAsync('dev/1/state', 'old', { qos: 1, retain: true });
    await pub.publishAsync('dev/1/state', 'ON', { qos: 1, retain: true });
    const wsClient = await b.client();
    expect((await wsClient.request('history', { topic: 'dev.1.state' })).messages.map((m: { data: unknown }) => m.data)).toEqual(['old', 'ON']);

    const sub = await connectMqtt(b.tcp, { protocolVersion: 5 });
    const got = sub.got;
    await sub.subscribeAsync('dev/+/state', { qos: 1 });
    await until(() => got.length === 1, 'the retained message');
    expect(got[0]).toEqual({ topic: 'dev/1/state', payload: 'ON', retain: true, qos: 1 });
    await pub.publishAsync('dev/1/state', 'OFF', { qos: 1 });
    await until(() => got.length === 2, 'the live message');
    expect(got[1]).toMatchObject({ payload: 'OFF', retain: false });

    // An empty retained publication clears it: the next subscriber gets nothing retained.
    await pub.publishAsync('dev/1/state', '', { qos: 1, retain: true });
    const late = await connectMqtt(b.tcp, { protocolVersion: 5 });
    const lateGot = late.got;
    await late.subscribeAsync('dev/1/state', { qos: 1 });
    await pub.publishAsync('dev/1/state', 'after', { qos: 1 });
    await until(() => lateGot.length === 1, 'the message after the clear');
    expect(lateGot.map((m) => m.payload)).toEqual(['after']);
  });

  it('refuses retain on a topic without history instead of dropping the flag', async () => {
    const b = await start({}, { history: { topics: ['kept.>'] } });
    const pub = await connectMqtt(b.tcp, { protocolVersion: 5 });
    const err = await pub.publishAsync('volatile/x', 'v', { qos: 1, retain: true }).then(() => undefined, (e: { code?: number }) => e);
    expect(err?.code).toBe(0x83);
    await expect(pub.publishAsync('kept/x', 'v', { qos: 1, retain: true })).resolves.toBeDefined();
  });

  it('publishes the Will when a client vanishes, not when it disconnects', async () => {
    const b = await start();
    const watcher = await b.client();
    await watcher.request('sub', { topic: 'status.*' });
    const polite = await connectMqtt(b.tcp, { will: { topic: 'status/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await polite.endAsync();
    const vanished = await connectMqtt(b.tcp, { protocolVersion: 5, will: { topic: 'status/vanished', payload: Buffer.from('{"online":false}'), qos: 1, retain: false } });
    (vanished.stream as unknown as { destroy(): void }).destroy();
    const will = await watcher.next((m) => m.op === 'msg');
    expect(will).toMatchObject({ topic: 'status.vanished', data: { online: false } });
    expect(watcher.messages().map((m) => m.topic)).toEqual(['status.vanished']);
  });

  it('resumes a persistent session with what it missed, through the topic history', async () => {
    const b = await start();
    const options = { protocolVersion: 5 as const, clientId: 'meter-7', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connectMqtt(b.tcp, options);
    expect(first.connack.sessionPresent).toBe(false);
    const firstGot = first.got;
    await first.subscribeAsync({ 'meter/7/cmd': { qos: 1 }, 'meter/all': { qos: 0 } });
    const pub = await connectMqtt(b.tcp);
    await pub.publishAsync('meter/7/cmd', 'before', { qos: 1 });
    await until(() => firstGot.length === 1, 'the publication before the disconnect');
    await first.endAsync();
    const wsPub = await b.client();
    await wsPub.request('pub', { topic: 'meter.7.cmd', data: { set: 1 } });
    await wsPub.request('pub', { topic: 'meter.all', data: 'while away' });

    const again = await connectMqtt(b.tcp, options);
    const got = again.got;
    expect(again.connack.sessionPresent).toBe(true);
    await until(() => got.length === 2, 'the two missed publications');
    expect(got.map((m) => [m.topic, m.payload])).toEqual([['meter/7/cmd', '{"set":1}'], ['meter/all', 'while away']]);
    // Subscriptions are in force again without a SUBSCRIBE.
    await pub.publishAsync('meter/7/cmd', 'live', { qos: 1 });
    await until(() => got.length === 3, 'the live publication');

    // clean start: the session is gone.
    await again.endAsync();
    const fresh = await connectMqtt(b.tcp, { ...options, clean: true });
    const freshGot = fresh.got;
    await pub.publishAsync('meter/7/cmd', 'not for a clean session', { qos: 1 });
    await wsPub.request('ping');
    expect(freshGot).toEqual([]);
  });

  it('a subscription the application drops (broker.unsubscribe) is not made again when the session resumes', async () => {
    const b = await start({}, { hooks: jwtAuth({ secret: SECRET }) });
    const password = await token({ sub: 'zoe', subscribe: ['>'], publish: ['>'] });
    const options = { protocolVersion: 5 as const, clientId: 'zoe-1', clean: false, username: 'zoe', password, properties: { sessionExpiryInterval: 60 } };
    const first = await connectMqtt(b.tcp, options);
    await first.subscribeAsync({ 'keep/me': { qos: 1 }, 'drop/me': { qos: 1 } });
    expect(await b.broker.unsubscribe({ user: 'zoe' }, 'drop.me')).toMatchObject({ connections: 1 });
    await first.endAsync();
    await b.broker.publish('drop.me', 'missed, not wanted');
    await b.broker.publish('keep.me', 'missed, wanted');
    const again = await connectMqtt(b.tcp, options);
    await until(() => again.got.length >= 1, 'the kept subscription to replay');
    await b.broker.publish('drop.me', 'live, not wanted');
    await b.broker.publish('keep.me', 'live, wanted');
    await until(() => again.got.length >= 2, 'the live publication');
    expect(again.got.map((m) => m.payload)).toEqual(['missed, wanted', 'live, wanted']);
  });

  it('says sessionPresent only when a session was kept', async () => {
    const b = await start();
    const raw = await RawMqtt.open(b.mqttPort);
    raw.send({ cmd: 'connect', protocolVersion: 5, clientId: 'p1', clean: false, keepalive: 30, properties: { sessionExpiryInterval: 30 } });
    expect((await raw.next('connack')).sessionPresent).toBe(false);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/1', qos: 1 }] });
    await raw.next('suback');
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await raw.waitClosed();
    const again = await RawMqtt.open(b.mqttPort);
    again.send({ cmd: 'connect', protocolVersion: 5, clientId: 'p1', clean: false, keepalive: 30, properties: { sessionExpiryInterval: 30 } });
    expect((await again.next('connack')).sessionPresent).toBe(true);
  });

  it('takes the JWT from the password: refused tokens get CONNACK "not authorized", grants apply per packet', async () => {
    const b = await start({}, { hooks: jwtAuth({ secret: SECRET }) });
    const good = await token({ sub: 'dev-1', subscribe: ['cmd.dev-1.>'], publish: ['tele.dev-1.>'] });
    await expect(connectMqtt(b.tcp, { protocolVersion: 5, username: 'dev-1', password: 'not-a-jwt' })).rejects.toMatchObject({ code: 0x87 });
    await expect(connectMqtt(b.tcp, { protocolVersion: 4 })).rejects.toMatchObject({ code: 5 });

    const client = await connectMqtt(b.tcp, { protocolVersion: 5, username: 'dev-1', password: good });
    const granted = await client.subscribeAsync({ 'cmd/dev-1/#': { qos: 1 }, 'cmd/dev-2/#': { qos: 1 } }).catch((e: { packet: { granted: number[] } }) => e.packet.granted);
    // cmd/dev-1/# stands on cmd.dev-1.> alone: the grant does not cover cmd.dev-1 itself.
    expect(granted).toEqual([1, 0x87]);
    await b.broker.publish('cmd.dev-1', 'not granted');
    await b.broker.publish('cmd.dev-1.reboot', 'now');
    await until(() => client.got.length === 1, 'the granted delivery');
    expect(client.got.map((m) => m.topic)).toEqual(['cmd/dev-1/reboot']);
    await expect(client.publishAsync('tele/dev-1/t', '1', { qos: 1 })).resolves.toBeDefined();
    const err = await client.publishAsync('tele/dev-2/t', '1', { qos: 1 }).then(() => undefined, (e: { code?: number }) => e);
    expect(err?.code).toBe(0x87);
    expect((await b.broker.history('tele.dev-2.t')).publications).toEqual([]);
  });

  it('a refused CONNECT with the client id of a connected client does not take its session over', async () => {
    const b = await start({}, { hooks: jwtAuth({ secret: SECRET }) });
    const owner = await connectMqtt(b.tcp, { protocolVersion: 5, clientId: 'meter-1', username: 'owner', password: await token({ sub: 'owner', subscribe: ['m'], publish: ['m'] }) });
    await owner.subscribeAsync('m', { qos: 1 });
    await expect(connectMqtt(b.tcp, { protocolVersion: 5, clientId: 'meter-1', username: 'owner', password: 'forged' })).rejects.toMatchObject({ code: 0x87 });
    await b.broker.publish('m', 'still here');
    await until(() => owner.got.length === 1, 'the owner still subscribed');
    expect(owner.connected).toBe(true);
  });

  it('closes a connection that sends a malformed packet, and other clients carry on', async () => {
    const b = await start();
    const bystander = await connectMqtt(b.tcp);
    const got = bystander.got;
    await bystander.subscribeAsync('keep/going', { qos: 1 });
    const raw = await RawMqtt.open(b.mqttPort);
    raw.socket.write(Buffer.from([0x10, 0x04, 0x00, 0x04, 0x4d, 0x51])); // CONNECT cut short, then garbage
    raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]));
    await raw.waitClosed();
    const notFirst = await RawMqtt.open(b.mqttPort);
    notFirst.send({ cmd: 'pingreq' });
    await notFirst.waitClosed('a connection whose first packet is not CONNECT to close');
    const pub = await connectMqtt(b.tcp);
    await pub.publishAsync('keep/going', 'yes', { qos: 1 });
    await until(() => got.length === 1, 'the bystander delivery');
  });

  it('refuses a packet over maxPacketSize with DISCONNECT 0x95 before it is buffered whole', async () => {
    const b = await start({ maxPacketSize: 1024 });
    const raw = await RawMqtt.open(b.mqttPort);
    raw.send({ cmd: 'connect', protocolVersion: 5, clientId: 'big', clean: true, keepalive: 30 });
    expect((await raw.next('connack')).properties?.maximumPacketSize).toBe(1024);
    // Announce 1 MiB and send only the first bytes: refused on the announcement.
    const header = Buffer.from([0x30, 0x80, 0x80, 0x40]);
    raw.socket.write(Buffer.concat([header, Buffer.alloc(100)]));
    expect((await raw.next('disconnect')).reasonCode).toBe(0x95);
    await raw.waitClosed();
  });

  it('disconnects a client silent past 1.5 × its keepalive, and publishes its Will', async () => {
    const b = await start();
    const watcher = await b.client();
    await watcher.request('sub', { topic: 'lost' });
    const raw = await RawMqtt.open(b.mqttPort);
    raw.send({ cmd: 'connect', protocolVersion: 5, clientId: 'quiet', clean: true, keepalive: 1, will: { topic: 'lost', payload: Buffer.from('quiet'), qos: 0, retain: false } });
    await raw.next('connack');
    expect((await raw.next('disconnect', 'DISCONNECT keepalive timeout')).reasonCode).toBe(0x8d);
    await until(() => watcher.messages('lost').length === 1, 'the Will');
    expect(watcher.messages('lost')[0]!.data).toBe('quiet');
  });

  it('sends at most maxInflight unacknowledged QoS 1 deliveries; a PUBACK frees the next', async () => {
    const b = await start({ maxInflight: 3 });
    const raw = await RawMqtt.open(b.mqttPort);
    raw.send({ cmd: 'connect', protocolVersion: 5, clientId: 'slow', clean: true, keepalive: 30 });
    expect((await raw.next('connack')).properties?.receiveMaximum).toBe(3);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'burst', qos: 1 }] });
    await raw.next('suback');
    for (let i = 0; i < 6; i++) await b.broker.publish('burst', i);
    const publishes = () => raw.packets.filter((p) => p.cmd === 'publish') as (Extract<typeof raw.packets[number], { cmd: 'publish' }>)[];
    await until(() => publishes().length === 3, 'three deliveries');
    const probe = await b.client();
    await probe.request('ping'); // a full turn later, still three
    expect(publishes().length).toBe(3);
    raw.send({ cmd: 'puback', messageId: publishes()[0]!.messageId, reasonCode: 0 });
    await until(() => publishes().length === 4, 'the fourth delivery after a PUBACK');
    expect(publishes().map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3']);
  });

  it('applies the message rate to MQTT publications: PUBACK 0x97 over it, then DISCONNECT 0x96', async () => {
    const b = await start({}, { limits: { messageRate: 1, messageBurst: 4, rateLimitStrikes: 3 } });
    const raw = await RawMqtt.open(b.mqttPort);
    raw.send({ cmd: 'connect', protocolVersion: 5, clientId: 'flood', clean: true, keepalive: 30 });
    await raw.next('connack');
    for (let i = 1; i <= 8; i++) raw.send({ cmd: 'publish', topic: 'flood', payload: Buffer.from(String(i)), qos: 1, messageId: i, retain: false, dup: false });
    await raw.waitClosed('the flooding connection to be closed');
    const acks = raw.packets.filter((p) => p.cmd === 'puback') as { reasonCode?: number }[];
    expect(acks.some((a) => a.reasonCode === 0x97)).toBe(true);
    expect((raw.packets.find((p) => p.cmd === 'disconnect') as { reasonCode?: number } | undefined)?.reasonCode).toBe(0x96);
    // Never an ack for what was not stored, never a refusal for what was (an accepted one may lose
    // its PUBACK to the close: the client sends it again, QoS 1 is at least once).
    const accepted = acks.filter((a) => (a.reasonCode ?? 0) === 0).length;
    const refused = acks.length - accepted;
    const stored = (await b.broker.history('flood')).publications.length;
    expect(stored).toBeGreaterThanOrEqual(accepted);
    expect(stored + refused).toBeLessThanOrEqual(8);
  });

  it('answers a CONNECT over the per-IP connection rate with 0x9F', async () => {
    const b = await start({}, { limits: { exemptLoopback: false, connectionRate: 1, connectionBurst: 2 } });
    await connectMqtt(b.tcp, { protocolVersion: 5 });
    await connectMqtt(b.tcp, { protocolVersion: 5 });
    await expect(connectMqtt(b.tcp, { protocolVersion: 5 })).rejects.toMatchObject({ code: 0x9f });
  });

  it('takes over a session when the same client id connects again', async () => {
    const b = await start();
    const first = await connectMqtt(b.tcp, { protocolVersion: 5, clientId: 'twin' });
    const reason = new Promise<number | undefined>((resolve) => first.once('disconnect', (p) => resolve(p.reasonCode)));
    await connectMqtt(b.tcp, { protocolVersion: 5, clientId: 'twin' });
    expect(await reason).toBe(0x8e);
  });
});
