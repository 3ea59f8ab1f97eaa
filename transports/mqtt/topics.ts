/**
 * MQTT topic names and filters ↔ Herald topics and patterns (docs/transports.md, "MQTT"): levels
 * become tokens (`a/b/c` ↔ `a.b.c`), `+` ↔ `*`, `#` ↔ `>`. A name or filter with no Herald form
 * (empty level, `$` prefix, a character outside the token grammar) is refused, never rewritten.
 */
import { isPattern, isTopic } from '../../core/plugin.js';

/** An MQTT topic name as a Herald topic, or undefined when it has none. */
export function topicFromMqtt(name: string): string | undefined {
  if (name.includes('.') || name.includes('*') || name.includes('>')) return undefined;
  const topic = name.replaceAll('/', '.');
  // '+' is a valid character inside a Herald token but a wildcard in MQTT: a name holding it is malformed MQTT.
  if (name.includes('+') || name.includes('#')) return undefined;
  return isTopic(topic) ? topic : undefined;
}

/**
 * An MQTT filter as the Herald patterns it stands for. `a/#` matches `a` itself too in MQTT, while
 * Herald's `>` needs at least one token: it becomes `a.>` and `a`. Undefined when it has no form.
 */
export function patternsFromMqtt(filter: string): string[] | undefined {
  if (filter.includes('.') || filter.includes('*') || filter.includes('>')) return undefined;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '+') levels[i] = '*';
    else if (level === '#') {
      if (i !== levels.length - 1) return undefined;
      levels[i] = '>';
    } else if (level.includes('+') || level.includes('#')) return undefined;
  }
  const pattern = levels.join('.');
  if (!isPattern(pattern)) return undefined;
  if (levels.length > 1 && levels[levels.length - 1] === '>') return [pattern, levels.slice(0, -1).join('.')];
  return [pattern];
}

/** A Herald topic as an MQTT topic name (always possible: tokens never hold '/'). */
export function topicToMqtt(topic: string): string {
  return topic.replaceAll('.', '/');
}
