/**
 * Log lines a client can cause (internal command failures, unencodable publications, slow
 * consumers...) go through a LogLimiter: each message (its kind) is written at most `perWindow`
 * times per window, and the next line written after a quiet spell says how many were suppressed.
 * So a client repeating one mistake cannot fill the disk. Kinds are the code's own messages, never
 * client input, so the table stays as small as the code.
 */
import type { Logger } from 'pino';

type Level = 'error' | 'warn' | 'info' | 'debug';

interface Kind {
  start: number;
  written: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly logger: Logger;
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly kinds = new Map<string, Kind>();

  constructor(logger: Logger, perWindow = 10, windowMs = 10_000, now: () => number = Date.now) {
    this.logger = logger;
    this.perWindow = perWindow;
    this.windowMs = windowMs;
    this.now = now;
  }

  error(fields: Record<string, unknown>, message: string): void {
    this.write('error', fields, message);
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.write('warn', fields, message);
  }

  private write(level: Level, fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    let kind = this.kinds.get(message);
    if (kind === undefined || t - kind.start >= this.windowMs) {
      const suppressed = kind?.suppressed ?? 0;
      kind = { start: t, written: 0, suppressed: 0 };
      this.kinds.set(message, kind);
      if (suppressed > 0) fields = { ...fields, suppressed };
    }
    if (kind.written >= this.perWindow) {
      kind.suppressed++;
      return;
    }
    kind.written++;
    this.logger[level](fields, message);
  }
}
