/**
 * Socket failures as the Node host reports them through onError. The core matches on `code`;
 * `detail.errno` keeps Node's own code (ECONNREFUSED, ECONNRESET, a TLS verify reason, ...) and
 * `cause` the original error.
 */
import { LwsxError } from '../../src/util/errors.js';

export type SocketErrorCode =
  /** the TCP connection could not be made (refused, unreachable, timed out, name not found) */
  | 'ERR_TCP_CONNECT'
  /** the peer closed the connection in order (FIN), after every byte it sent was read */
  | 'ERR_TCP_CLOSED'
  /** the connection broke: reset by the peer, broken pipe, or it timed out */
  | 'ERR_TCP_RESET'
  /** any other failure of an established connection */
  | 'ERR_TCP_IO'
  /** TCP connected but the TLS handshake failed (certificate not trusted, name mismatch, alert) */
  | 'ERR_TLS_HANDSHAKE'
  /** the UDP socket could not bind its address/port */
  | 'ERR_UDP_BIND'
  /** the UDP socket failed after binding */
  | 'ERR_UDP_IO'
  /** the listener could not bind or failed */
  | 'ERR_LISTEN';

export class SocketError extends LwsxError {
  declare readonly code: SocketErrorCode;
}

/** Node's error code ("ECONNRESET", "DEPTH_ZERO_SELF_SIGNED_CERT", ...), if it has one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function socketError(code: SocketErrorCode, message: string, cause: unknown, detail: Record<string, unknown> = {}): SocketError {
  const errno = errnoOf(cause);
  const why = cause instanceof Error ? cause.message : undefined;
  return new SocketError(code, why ? `${message}: ${why}` : message, errno ? { ...detail, errno } : detail, cause);
}
