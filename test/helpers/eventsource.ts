/**
 * The `eventsource` package (a spec EventSource for Node 20), loaded from its CommonJS build.
 * Imported by name it resolves, under this project's `source` export condition, to the package's
 * TypeScript sources, which do not type-check under our tsconfig; so the runtime comes through
 * require and the type is the small part tests use.
 */
import { createRequire } from 'node:module';

export interface SseMessageEvent {
  readonly data: string;
  readonly lastEventId: string;
  readonly type: string;
}

export interface EventSourceLike {
  onmessage: ((event: SseMessageEvent) => void) | null;
  onerror: ((event: unknown) => void) | null;
  readonly readyState: number;
  addEventListener(type: string, listener: (event: SseMessageEvent) => void, options?: { once?: boolean }): void;
  close(): void;
}

export const EventSource = (createRequire(import.meta.url)('eventsource') as {
  EventSource: new (url: string, init?: { fetch?: typeof fetch; withCredentials?: boolean }) => EventSourceLike;
}).EventSource;
