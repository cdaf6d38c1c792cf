/**
 * The typed failures of the HTTP/1.1 core.
 *
 *  - H1Error: the peer sent something that is not acceptable HTTP/1.1. `status` is what a server
 *    answers for it (RFC 9110 §15); a client only reports it, there is nobody to tell.
 *    `detail.offset` is the byte offset in the connection's stream where the problem was found,
 *    `detail.field` names what was being read.
 *  - H1UsageError: our own user asked for something impossible (a header that would inject a line,
 *    a body on a 304, more bytes than the Content-Length promised, a call out of order).
 */
import { LwsxError, UsageError } from '../../util/errors.js';

export type H1ErrorCode =
  /** request line: not `method SP target SP version` */
  | 'ERR_H1_REQUEST_LINE'
  /** status line: not `version SP 3DIGIT [SP reason]` */
  | 'ERR_H1_STATUS_LINE'
  /** a line ended in LF without CR, or CR not followed by LF */
  | 'ERR_H1_LINE_ENDING'
  /** a field line that is not `name ":" OWS value OWS`, or a bad byte in name or value */
  | 'ERR_H1_HEADER_SYNTAX'
  /** a field line continued on the next line (obs-fold, RFC 9112 §5.2) */
  | 'ERR_H1_OBS_FOLD'
  /** HTTP version other than 1.x */
  | 'ERR_H1_VERSION'
  /** the body length cannot be trusted: Content-Length with Transfer-Encoding, differing or bad Content-Length, chunked not last */
  | 'ERR_H1_FRAMING'
  /** a transfer coding other than chunked */
  | 'ERR_H1_TRANSFER_CODING'
  /** start line plus fields (or trailers) over the size limit */
  | 'ERR_H1_HEAD_TOO_LARGE'
  /** more field lines than the limit */
  | 'ERR_H1_TOO_MANY_HEADERS'
  /** request target over the length limit */
  | 'ERR_H1_TARGET_TOO_LONG'
  /** request target of the wrong form for its method, a bad percent escape, invalid UTF-8 */
  | 'ERR_H1_TARGET'
  /** no Host, or more than one, in a request */
  | 'ERR_H1_HOST'
  /** body over the size limit */
  | 'ERR_H1_BODY_TOO_LARGE'
  /** chunk size line not hex, too large, too long, or chunk data not followed by CRLF */
  | 'ERR_H1_CHUNK'
  /** the peer closed the connection in the middle of a message */
  | 'ERR_H1_TRUNCATED'
  /** a response when no request is waiting for one, or a 101 nobody asked for */
  | 'ERR_H1_UNEXPECTED_RESPONSE'
  /** the request head did not arrive in time */
  | 'ERR_H1_TIMEOUT'
  /** the peer kept sending pipelined requests while we could not take them */
  | 'ERR_H1_PIPELINE_OVERFLOW';

/** The status a server answers with for each code (the reason is what 9110 names it). */
export const H1_ERROR_STATUS: Readonly<Record<H1ErrorCode, number>> = {
  ERR_H1_REQUEST_LINE: 400,
  ERR_H1_STATUS_LINE: 400,
  ERR_H1_LINE_ENDING: 400,
  ERR_H1_HEADER_SYNTAX: 400,
  ERR_H1_OBS_FOLD: 400,
  ERR_H1_VERSION: 505,
  ERR_H1_FRAMING: 400,
  ERR_H1_TRANSFER_CODING: 501,
  ERR_H1_HEAD_TOO_LARGE: 431,
  ERR_H1_TOO_MANY_HEADERS: 431,
  ERR_H1_TARGET_TOO_LONG: 414,
  ERR_H1_TARGET: 400,
  ERR_H1_HOST: 400,
  ERR_H1_BODY_TOO_LARGE: 413,
  ERR_H1_CHUNK: 400,
  ERR_H1_TRUNCATED: 400,
  ERR_H1_UNEXPECTED_RESPONSE: 400,
  ERR_H1_TIMEOUT: 408,
  ERR_H1_PIPELINE_OVERFLOW: 503,
};

export class H1Error extends LwsxError {
  declare readonly code: H1ErrorCode;
  /** the HTTP status a server sends for this error */
  readonly status: number;

  constructor(code: H1ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(code, `h1: ${message}`, detail);
    this.status = H1_ERROR_STATUS[code];
  }
}

export type H1UsageCode =
  /** a method, target, field name or value, or reason that cannot be sent as given */
  | 'ERR_H1_FIELD'
  /** body bytes that do not fit the framing: over or under Content-Length, a body on a bodyless response */
  | 'ERR_H1_BODY_LENGTH'
  /** a call that the connection's state does not allow now */
  | 'ERR_H1_STATE';

export class H1UsageError extends UsageError {
  declare readonly code: H1UsageCode;

  constructor(code: H1UsageCode, message: string, detail?: Record<string, unknown>) {
    super(code, `h1: ${message}`, detail);
  }
}
