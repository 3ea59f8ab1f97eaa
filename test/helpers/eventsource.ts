/**
 * The `eventsource` package (a spec EventSource for Node 20). Its exports carry a `source` condition
 * (its TypeScript sources), the condition this project resolves its own sources with, and those files
 * do not type-check under our tsconfig. So it is imported by a specifier tsc does not follow, and typed
 * here with the part tests use; at run time vitest loads it as before.
 */
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

const specifier: string = 'eventsource';

export const { EventSource } = (await import(specifier)) as {
  EventSource: new (url: string, init?: { fetch?: typeof fetch; withCredentials?: boolean }) => EventSourceLike;
};
