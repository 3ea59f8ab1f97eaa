/**
 * An MQTT device and ws / socket.io / SSE / HTTP clients share one topic space with no bridge: on
 * one node, and across two Herald nodes clustered over a real nats-server spawned here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsAdapter } from '../../adapters/nats/index.js';
import { httpApi } from '../../transports/http/index.js';
import { mqtt } from '../../transports/mqtt/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker, until } from '../helpers/broker.js';
import { connectMqtt } from '../helpers/mqtt.js';
import { startNatsServer, type NatsCluster, type NatsServer } from '../helpers/nats-server.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { SseReader } from '../helpers/sse-reader.js';

afterEach(() => closeSocketIoClients());

describe('MQTT in the shared topic space', () => {
  it('an MQTT device and ws, socket.io, SSE and HTTP clients reach each other on one topic', async () => {
    const transport = mqtt({ port: 0 });
    const b = await startBroker({ transports: [ws(), socketio(), sse(), httpApi(), transport] });
    const device = await connectMqtt(`mqtt://127.0.0.1:${transport.port}`, { protocolVersion: 5 });
    await device.subscribeAsync('room/1/#', { qos: 1 });
    const wsClient = await b.client();
    await wsClient.request('sub', { topic: 'room.1.>' });
    const sio = await connectSocketIo(b.port);
    expect(await sio.socket.emitWithAck('subscribe', 'room.1.>')).toMatchObject({ ok: true });
    const stream = await SseReader.open(`http://127.0.0.1:${b.port}/events?topic=room.1.temp`);
    await stream.waitFor(() => stream.named('herald-ready').length === 1, 'herald-ready');

    await device.publishAsync('room/1/temp', '{"c":22}', { qos: 1 });
    await wsClient.waitForMessages(1);
    await until(() => sio.messages.length === 1, 'the socket.io message');
    await stream.waitFor(() => stream.messages().length === 1, 'the SSE message');
    for (const m of [wsClient.messages()[0], sio.messages[0], stream.messages()[0]]) expect(m).toMatchObject({ topic: 'room.1.temp', data: { c: 22 } });
    expect(device.got).toEqual([{ topic: 'room/1/temp', payload: '{"c":22}', retain: false, qos: 1 }]); // its own, as MQTT does

    await wsClient.request('pub', { topic: 'room.1.light', data: 'ON' });
    await sio.socket.emitWithAck('publish', 'room.1.light', { level: 3 });
    const res = await fetch(`http://127.0.0.1:${b.port}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'room.1.fan', data: 2 }) });
    expect(res.status).toBe(200);
    await until(() => device.got.length === 4, 'three publications at the device');
    expect(device.got.slice(1).map((m) => [m.topic, m.payload])).toEqual([['room/1/light', 'ON'], ['room/1/light', '{"level":3}'], ['room/1/fan', '2']]);
    stream.close();
  });
});

describe('MQTT across a NATS cluster', () => {
  let nats: NatsCluster & { server: NatsServer; url: string };
  beforeAll(async () => { nats = await startNatsServer(); });
  afterAll(async () => { await nats?.stop(); });

  it('publications cross nodes between MQTT and ws clients both ways', async () => {
    const prefix = `mqtt${process.pid}`;
    const node = async () => {
      const transport = mqtt({ port: 0 });
      const running = await startBroker({ transports: [ws(), transport], adapter: natsAdapter({ servers: nats.url, prefix, storage: 'memory' }) });
      return { ...running, mqttUrl: `mqtt://127.0.0.1:${transport.port}` };
    };
    const a = await node();
    const b = await node();
    const deviceA = await connectMqtt(a.mqttUrl, { protocolVersion: 4 });
    await deviceA.subscribeAsync('fleet/+/cmd', { qos: 1 });
    const dashboardB = await b.client();
    await dashboardB.request('sub', { topic: 'fleet.*.telemetry' });
    const deviceB = await connectMqtt(b.mqttUrl, { protocolVersion: 5 });
    await deviceB.subscribeAsync('fleet/7/telemetry', { qos: 0 });

    await deviceA.publishAsync('fleet/7/telemetry', '{"speed":12}', { qos: 1 });
    const [seen] = await dashboardB.waitForMessages(1);
    expect(seen).toMatchObject({ topic: 'fleet.7.telemetry', data: { speed: 12 } });
    await until(() => deviceB.got.length === 1, 'the MQTT subscriber on the other node');
    expect(deviceB.got[0]).toMatchObject({ topic: 'fleet/7/telemetry', payload: '{"speed":12}' });
    // Same position on both nodes: the offset is the cluster's.
    expect(seen!.offset).toBe((await a.broker.history('fleet.7.telemetry')).position.offset);

    expect((await dashboardB.request('pub', { topic: 'fleet.7.cmd', data: { stop: true } })).ok).toBe(true);
    await until(() => deviceA.got.length === 1, 'the command at the device on node A');
    expect(deviceA.got[0]).toMatchObject({ topic: 'fleet/7/cmd', payload: '{"stop":true}', qos: 1 });
  });
});
