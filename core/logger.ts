import { pino, type Logger } from 'pino';

/** The broker's logger: the embedder's pino instance, a silent one for `false`, or pino at `info`. */
export function createLogger(option: Logger | false | undefined): Logger {
  if (option === false) return pino({ level: 'silent' });
  return option ?? pino({ name: 'herald', level: process.env.HERALD_LOG_LEVEL ?? 'info' });
}
