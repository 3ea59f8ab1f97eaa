/** The binary's MQTT: WebSocket at /mqtt always, TCP only when enabled (--mqtt-port / HERALD_MQTT_PORT / --mqtt on 1883). */
import { describe, expect, it } from 'vitest';
import { startBinary } from '../helpers/binary.js';
import { connectMqtt } from '../helpers/mqtt.js';
import { until } from '../helpers/broker.js';

const endpointsOf = (lines: string[]): Record<string, string> =>
  (lines.map((l) => { try { return JSON.parse(l) as { msg: string; endpoints?: Record<string, string> }; } catch { return undefined; } })
    .find((l) => l?.msg.includes('listening'))!.endpoints!);

describe('herald binary: MQTT', () => {
  it('serves MQTT over WebSocket by default and over TCP only on --mqtt-port, in one topic space', async () => {
    const plain = await startBinary(['--port', '0']);
    expect(endpointsOf(plain.lines).MQTT).toContain('/mqtt');
    expect(endpointsOf(plain.lines)['MQTT TCP']).toBeUndefined();
    plain.child.kill('SIGTERM');

    const { port, lines } = await startBinary(['--port', '0'], { HERALD_MQTT_PORT: '0' });
    const tcp = endpointsOf(lines)['MQTT TCP']!;
    expect(tcp).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(tcp.endsWith(':0')).toBe(false); // the port actually bound
    const device = await connectMqtt(tcp, { protocolVersion: 5 });
    await device.subscribeAsync('bin/test', { qos: 1 });
    const browser = await connectMqtt(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: 4 });
    await browser.publishAsync('bin/test', 'over ws', { qos: 1 });
    await until(() => device.got.length === 1, 'the TCP subscriber');
    expect(device.got[0]).toMatchObject({ topic: 'bin/test', payload: 'over ws' });
  });
});
