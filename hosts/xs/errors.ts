/**
 * Socket failures as the XS host reports them through onError. Moddable's ECMA-419 sockets
 * call onError() with no reason, so the code says only how far the connection had got: a
 * refused connect, a reset and an orderly close look the same once connected.
 */
import { LwsxError } from '../../src/util/errors.js';

export type XsSocketErrorCode =
  /** the connection never came up (refused, unreachable, timed out) */
  | 'ERR_TCP_CONNECT'
  /** it was up and has ended: closed or reset by the peer, or the network went away */
  | 'ERR_TCP_CLOSED'
  /** TCP or the TLS handshake failed before the stream was ready (XS cannot tell which) */
  | 'ERR_TLS_HANDSHAKE'
  /** the UDP socket failed */
  | 'ERR_UDP_IO';

export class XsSocketError extends LwsxError {
  declare readonly code: XsSocketErrorCode;
}
