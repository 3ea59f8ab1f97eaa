/**
 * The binary's logger: readable lines on a terminal (pino-pretty, in the same thread: a broker's
 * log rate is low and a worker thread would lose the last lines of a crash), JSON lines otherwise
 * (log shippers, `npm start > file`, tests).
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'auto' | 'pretty' | 'json';

export function binaryLogger(level: string, format: LogFormat, stream: NodeJS.WriteStream = process.stdout): Logger {
  const readable = format === 'pretty' || (format === 'auto' && stream.isTTY === true);
  const options = { name: 'herald', level };
  if (!readable) return pino(options, stream);
  return pino(options, pretty({ destination: stream, colorize: stream.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name,host,port,endpoints', sync: true }));
}
