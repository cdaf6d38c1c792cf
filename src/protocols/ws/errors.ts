/**
 * The WebSocket core's typed failures. Two kinds, because the peer is told differently:
 *  - WsProtocolError: the peer broke RFC 6455 (or a limit) after the handshake; `closeCode` is
 *    the status code our Close frame carries when we fail the connection.
 *  - WsHandshakeError: the opening handshake is refused; on the server side `status` (and
 *    `headers`) is the HTTP response to send, on the client side the connection just fails.
 */
import { DecodeError, LwsxError } from '../../util/errors.js';

/** RFC 6455 §7.4.1 status codes this core sends or reports. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_UNSUPPORTED_DATA = 1003;
/** reported, never sent: the Close frame had no status code */
export const CLOSE_NO_STATUS = 1005;
/** reported, never sent: the connection ended without a Close frame */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_MANDATORY_EXTENSION = 1010;
export const CLOSE_INTERNAL_ERROR = 1011;

export type WsProtocolCode =
  /** RSV1/2/3 set without an extension that defines them (or RSV1 where deflate does not allow it) */
  | 'ERR_WS_RSV'
  /** opcode 3-7 or 11-15 */
  | 'ERR_WS_OPCODE'
  /** a client sent an unmasked frame (server side) */
  | 'ERR_WS_UNMASKED'
  /** a server sent a masked frame (client side) */
  | 'ERR_WS_MASKED'
  /** a control frame with FIN clear */
  | 'ERR_WS_CONTROL_FRAGMENTED'
  /** a control frame payload over 125 bytes */
  | 'ERR_WS_CONTROL_LENGTH'
  /** a 64-bit length with its most significant bit set */
  | 'ERR_WS_LENGTH'
  /** a frame longer than maxFrameSize */
  | 'ERR_WS_FRAME_TOO_BIG'
  /** a message longer than maxMessageSize (after decompression when compressed) */
  | 'ERR_WS_MESSAGE_TOO_BIG'
  /** a continuation frame with no message in progress */
  | 'ERR_WS_UNEXPECTED_CONTINUATION'
  /** a text or binary frame while a fragmented message is in progress */
  | 'ERR_WS_EXPECTED_CONTINUATION'
  /** a text message (or close reason) that is not UTF-8 */
  | 'ERR_WS_UTF8'
  /** a Close frame whose status code may not be sent on the wire */
  | 'ERR_WS_CLOSE_CODE'
  /** a Close frame with a 1-byte payload */
  | 'ERR_WS_CLOSE_PAYLOAD'
  /** a compressed message that does not inflate */
  | 'ERR_WS_INFLATE'
  /** our Close went unanswered for closeTimeoutUs */
  | 'ERR_WS_CLOSE_TIMEOUT';

export class WsProtocolError extends DecodeError {
  declare readonly code: WsProtocolCode;
  /** what our Close frame tells the peer */
  readonly closeCode: number;

  constructor(code: WsProtocolCode, message: string, closeCode: number, detail?: Record<string, unknown>, cause?: unknown) {
    super(code, `ws: ${message}`, detail, cause);
    this.closeCode = closeCode;
  }
}

export type WsHandshakeCode =
  /** server: not GET */
  | 'ERR_WS_HS_METHOD'
  /** server: not HTTP/1.1 or later */
  | 'ERR_WS_HS_HTTP_VERSION'
  /** server: no Host header */
  | 'ERR_WS_HS_HOST'
  /** no "websocket" token in Upgrade */
  | 'ERR_WS_HS_UPGRADE'
  /** no "upgrade" token in Connection */
  | 'ERR_WS_HS_CONNECTION'
  /** server: Sec-WebSocket-Version is not 13 (answered 426 with the version we speak) */
  | 'ERR_WS_HS_VERSION'
  /** server: Sec-WebSocket-Key missing, repeated or not 16 bytes of base64 */
  | 'ERR_WS_HS_KEY'
  /** a Sec-WebSocket-Protocol list that is not tokens; client: a subprotocol we did not offer */
  | 'ERR_WS_HS_PROTOCOL'
  /** a Sec-WebSocket-Extensions header that does not parse; client: an extension or parameter we did not offer */
  | 'ERR_WS_HS_EXTENSIONS'
  /** client: the response is not 101 */
  | 'ERR_WS_HS_STATUS'
  /** client: the connection closed before the handshake finished */
  | 'ERR_WS_HS_CLOSED'
  /** client: Sec-WebSocket-Accept missing or wrong */
  | 'ERR_WS_HS_ACCEPT';

export class WsHandshakeError extends LwsxError {
  declare readonly code: WsHandshakeCode;
  /** server side: the HTTP status to answer with; undefined on the client side (nothing to answer) */
  readonly status: number | undefined;
  /** server side: headers the refusal must carry (426 names the version we speak) */
  readonly headers: ReadonlyArray<readonly [string, string]>;

  constructor(
    code: WsHandshakeCode,
    message: string,
    status: number | undefined,
    detail?: Record<string, unknown>,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(code, `ws handshake: ${message}`, detail);
    this.status = status;
    this.headers = headers;
  }
}
