/**
 * A loopback TCP proxy for cutting connections under a client: `drop()` destroys every proxied
 * connection (the client sees the socket die, as on a network failure), `refuse(ms)` resets new
 * connections for a while, `blackhole()` keeps sockets open but forwards nothing (a dead server
 * that never closes), `deafen()` lets requests through but swallows the answers (a request reaches
 * the server, its reply is lost). Listens on 127.0.0.1 only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Open proxied connections now. */
  readonly open: number;
  /** Destroys every proxied connection (both sides). */
  drop(): void;
  /** Resets new connections until `ms` have passed (0: accept again). */
  refuse(ms: number): void;
  /** While on, bytes are swallowed in both directions and sockets stay open. */
  blackhole(on: boolean): void;
  /** While on, bytes from the target to the client are swallowed (the client's still go through). */
  deafen(on: boolean): void;
  /** Points new connections at another port. */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  let refuseUntil = 0;
  let swallowing = false;
  let deaf = false;
  let accepted = 0;
  const pairs = new Set<[Socket, Socket]>();

  const server: Server = createServer((downstream) => {
    accepted++;
    if (Date.now() < refuseUntil) {
      downstream.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: target });
    const pair: [Socket, Socket] = [downstream, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    downstream.on('data', (chunk) => { if (!swallowing) upstream.write(chunk); });
    upstream.on('data', (chunk) => { if (!swallowing && !deaf) downstream.write(chunk); });
  });
  server.maxConnections = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const proxy: TcpProxy = {
    port,
    get accepted() { return accepted; },
    get open() { return pairs.size; },
    drop() {
      for (const [down, up] of [...pairs]) {
        // A reset, not a FIN: the client learns at once, without a close handshake.
        down.resetAndDestroy();
        up.destroy();
      }
      pairs.clear();
    },
    refuse(ms) {
      refuseUntil = ms > 0 ? Date.now() + ms : 0;
    },
    blackhole(on) {
      swallowing = on;
    },
    deafen(on) {
      deaf = on;
    },
    retarget(p) {
      target = p;
    },
    close() {
      proxy.drop();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
