/**
 * What a decoded publication costs in memory, roughly: enough for a byte budget to hold within a small
 * factor. Walks the value without recursion (the broker's depth limit does not bind app publishes).
 */

/** Per-value overheads, in bytes: V8 headers and pointers, rounded up. */
const SLOT = 8;
const HEADER = 16;

export function approximateSize(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    total += SLOT;
    switch (typeof v) {
      case 'string':
        total += HEADER + v.length * 2;
        break;
      case 'bigint':
        total += HEADER + 8;
        break;
      case 'object':
        if (v === null) break;
        if (ArrayBuffer.isView(v)) total += 4 * HEADER + v.byteLength;
        else if (Array.isArray(v)) {
          total += HEADER;
          for (let i = 0; i < v.length; i++) stack.push(v[i]);
        } else {
          total += 2 * HEADER;
          for (const key in v) {
            if (!Object.hasOwn(v, key)) continue;
            total += HEADER + key.length * 2;
            stack.push((v as Record<string, unknown>)[key]);
          }
        }
        break;
      default:
        break;
    }
  }
  return total;
}
