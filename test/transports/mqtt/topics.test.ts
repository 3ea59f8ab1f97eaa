import { describe, expect, it } from 'vitest';
import { patternsFromMqtt, topicFromMqtt, topicToMqtt } from '../../../transports/mqtt/topics.js';

describe('MQTT topic mapping', () => {
  it('maps levels to tokens both ways', () => {
    expect(topicFromMqtt('a/b/c')).toBe('a.b.c');
    expect(topicToMqtt('a.b.c')).toBe('a/b/c');
    expect(topicFromMqtt(topicToMqtt('sensors.room-1.t'))).toBe('sensors.room-1.t');
  });

  it('maps + to * and # to > (a/# also names a itself, as in MQTT)', () => {
    expect(patternsFromMqtt('a/+/c')).toEqual(['a.*.c']);
    expect(patternsFromMqtt('a/#')).toEqual(['a.>', 'a']);
    expect(patternsFromMqtt('#')).toEqual(['>']);
    expect(patternsFromMqtt('+')).toEqual(['*']);
  });

  it('refuses names and filters with no Herald form instead of rewriting them', () => {
    for (const name of ['a//b', '/a', 'a/', '$SYS/x', 'a.b', 'a b', 'a/+', 'a/#', 'a*', 'x>', '']) expect(topicFromMqtt(name)).toBeUndefined();
    for (const filter of ['a/#/b', 'a/b#', 'a/+b', 'a//b', '$SYS/#', 'a.b', 'a b', '']) expect(patternsFromMqtt(filter)).toBeUndefined();
  });
});
