/** Errors the client reports: the server's protocol codes plus the client's own. */
import type { ErrorCode } from '../core/errors.js';

/**
 * `timeout`: no reply within the command timeout. `disconnected`: the connection went away before
 * the reply (the command may or may not have run). `closed`: the client was closed or stopped.
 * `protocol_violation`: the server closed with 4400. `transport`: the connection could not be made.
 */
export type ClientErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'closed' | 'protocol_violation' | 'transport';

export class HeraldClientError extends Error {
  readonly code: ClientErrorCode;
  /** The WebSocket close code behind the error, when there was one. */
  readonly closeCode: number | undefined;

  constructor(code: ClientErrorCode, message: string, closeCode?: number) {
    super(message);
    this.name = 'HeraldClientError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** Server error codes worth retrying: the same command can succeed later. */
export function isTransient(code: ClientErrorCode): boolean {
  return code === 'internal' || code === 'unavailable' || code === 'rate_limited' || code === 'timeout' || code === 'disconnected' || code === 'transport';
}
