/**
 * Close frame bodies (RFC 6455 §5.5.1, §7.4): an optional 2-byte status code followed by a
 * UTF-8 reason, 125 bytes in all.
 */
import { Utf8Validator, utf8Decode, utf8Encode } from '../../util/utf8.js';
import { UsageError } from '../../util/errors.js';
import { CLOSE_INVALID_PAYLOAD, CLOSE_NO_STATUS, CLOSE_PROTOCOL_ERROR, WsProtocolError } from './errors.js';
import { MAX_CONTROL_PAYLOAD } from './frame.js';

/**
 * May this status code appear in a Close frame? 1000-1003 and 1007-1014 are defined (1012-1014
 * registered with IANA after the RFC), 3000-3999 are registered by libraries and 4000-4999 are
 * private. 1004 is reserved, 1005/1006/1015 are report-only, everything else is unassigned.
 */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999))
  );
}

export interface CloseBody {
  /** 1005 (CLOSE_NO_STATUS) when the frame carried none */
  code: number;
  reason: string;
}

/** Parses a received Close payload; a bad code is 1002, a bad reason 1007. */
export function parseCloseBody(p: Uint8Array): CloseBody {
  if (p.length === 0) return { code: CLOSE_NO_STATUS, reason: '' };
  if (p.length === 1) {
    throw new WsProtocolError('ERR_WS_CLOSE_PAYLOAD', 'close payload of 1 byte', CLOSE_PROTOCOL_ERROR, { field: 'close' });
  }
  const code = ((p[0] as number) << 8) | (p[1] as number);
  if (!isSendableCloseCode(code)) {
    throw new WsProtocolError('ERR_WS_CLOSE_CODE', `close code ${code} may not be sent`, CLOSE_PROTOCOL_ERROR, {
      field: 'close.code',
      closeCode: code,
    });
  }
  const v = new Utf8Validator();
  const reasonBytes = p.subarray(2);
  const bad = v.push(reasonBytes);
  if (bad >= 0 || !v.end()) {
    throw new WsProtocolError('ERR_WS_UTF8', 'close reason is not UTF-8', CLOSE_INVALID_PAYLOAD, {
      field: 'close.reason',
      offset: bad >= 0 ? bad : reasonBytes.length,
    });
  }
  return { code, reason: utf8Decode(reasonBytes) };
}

/** Builds a Close payload to send; refuses codes that may not be sent and reasons over 123 bytes. */
export function encodeCloseBody(code: number | undefined, reason: string): Uint8Array {
  if (code === undefined) {
    if (reason !== '') throw new UsageError('ERR_WS_CLOSE_REASON', 'a close reason needs a status code');
    return new Uint8Array(0);
  }
  if (!isSendableCloseCode(code)) {
    throw new UsageError('ERR_WS_CLOSE_CODE', `close code ${code} may not be sent`, { closeCode: code });
  }
  const r = utf8Encode(reason);
  if (r.length > MAX_CONTROL_PAYLOAD - 2) {
    throw new UsageError('ERR_WS_CLOSE_REASON', `close reason of ${r.length} bytes over 123`, { length: r.length });
  }
  const out = new Uint8Array(2 + r.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}
