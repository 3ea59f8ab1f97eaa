/**
 * The child side of children.ts: registers the methods the parent may call and exits when the
 * parent disconnects (or dies), so no load client or server outlives a run.
 */
export type Handlers = Record<string, (params: any) => unknown>;

export function serve(handlers: Handlers, onExit?: () => void | Promise<void>): void {
  if (!process.send) throw new Error('bench child started without an IPC channel');
  process.on('message', async (m: { id: number; method: string; params: unknown }) => {
    const handler = handlers[m.method];
    try {
      if (!handler) throw new Error(`unknown method ${m.method}`);
      const result = await handler(m.params);
      process.send!({ id: m.id, result });
    } catch (err) {
      process.send!({ id: m.id, error: (err as Error).stack ?? String(err) });
    }
  });
  process.once('disconnect', async () => {
    const hardExit = setTimeout(() => process.exit(0), 1000);
    hardExit.unref();
    try { await onExit?.(); } catch { /* exiting anyway */ }
    process.exit(0);
  });
}

/** CPU time this process has used, in microseconds (user + system). */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
