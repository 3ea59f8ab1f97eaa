/**
 * The engine.io server class, loaded the way socket.io itself loads it: Herald must drive the very
 * engine.io that socket.io was built against (their internal APIs move together), and need not list
 * engine.io as a dependency of its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';

/** The part of engine.io's Server that Herald drives (socket.io's `bind()` needs the rest). */
export interface EngineServer {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

export type EngineOptions = Record<string, unknown>;

export function createEngine(options: EngineOptions): EngineServer {
  const here = createRequire(import.meta.url);
  const fromSocketIo = createRequire(here.resolve('socket.io'));
  const { Server } = fromSocketIo('engine.io') as { Server: new (o: EngineOptions) => EngineServer };
  return new Server(options);
}
