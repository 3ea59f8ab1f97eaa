/**
 * The WebSocket the client uses: the browser's own, or `ws` in Node. `ws` is loaded lazily
 * through a computed specifier so that bundlers leave it out of the browser build; `ws` exposes
 * the same WHATWG surface (binaryType, onopen/onmessage/onclose/onerror) that this file types.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  /** `ws` only: drops the socket without a close handshake. */
  terminate?(): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export const OPEN = 1;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

let nodeWebSocket: Promise<WebSocketConstructor> | undefined;

/**
 * Node: `ws` (a dependency of herald, consistent across Node versions; Node 20 has no global
 * WebSocket). Elsewhere: the global WebSocket.
 */
export function defaultWebSocket(): Promise<WebSocketConstructor> {
  if (!isNode()) {
    const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof native !== 'function') return Promise.reject(new Error('no WebSocket in this environment; pass options.WebSocket'));
    return Promise.resolve(native);
  }
  nodeWebSocket ??= (async () => {
    const specifier = 'ws';
    const mod = (await import(/* @vite-ignore */ specifier)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
    return (mod.WebSocket ?? mod.default)!;
  })();
  return nodeWebSocket;
}
