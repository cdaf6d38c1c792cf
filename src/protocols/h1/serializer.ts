/**
 * Bytes for the wire: request and response heads, and the body framings (Content-Length,
 * chunked, close-delimited). Every method, target, field name, field value and reason is checked
 * before it is written, so no caller-supplied string can end a line early and inject a field or
 * a second message (CR, LF, NUL and the other controls are refused, as is anything above 0xFF).
 * Heads are written straight into one Uint8Array sized in advance, without building a string.
 */
import { H1UsageError } from './errors.js';
import { FIELD_CHAR, TCHAR } from './headers.js';
import type { HttpVersion } from './parser.js';

/** Header fields as the user gives them: [name, value] in the order to send. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

export const CRLF: Uint8Array = /* @__PURE__ */ Uint8Array.of(13, 10);
const LAST_CHUNK: Uint8Array = /* @__PURE__ */ Uint8Array.of(0x30, 13, 10, 13, 10);

const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue', 101: 'Switching Protocols', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large', 414: 'URI Too Long', 417: 'Expectation Failed',
  426: 'Upgrade Required', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The RFC 9110 reason phrase for `status`, or '' (the reason is informational only). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}

function badField(what: string, s: string): never {
  throw new H1UsageError('ERR_H1_FIELD', `${what} ${JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s)} cannot be sent`, { field: what, value: s });
}

/** Throws unless `s` is a non-empty token (method, field name). */
export function checkToken(s: string, what: string): void {
  if (s.length === 0) badField(what, s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) badField(what, s);
  }
}

/** Throws unless `s` is a field value (or reason) without controls and without surrounding whitespace. */
export function checkFieldValue(s: string, what: string): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_CHAR[c] !== 1) badField(what, s);
  }
  if (n > 0) {
    const a = s.charCodeAt(0);
    const z = s.charCodeAt(n - 1);
    if (a === 0x20 || a === 0x09 || z === 0x20 || z === 0x09) badField(what, s);
  }
}

function put(b: Uint8Array, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
  return o;
}

function fieldsSize(headers: HeaderList): number {
  let n = 2; // the empty line
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as readonly [string, string];
    checkToken(f[0], 'field name');
    checkFieldValue(f[1], `value of ${f[0]}`);
    n += f[0].length + f[1].length + 4;
  }
  return n;
}

function putFields(b: Uint8Array, o: number, headers: HeaderList): void {
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as readonly [string, string];
    o = put(b, o, f[0]);
    b[o++] = 0x3a;
    b[o++] = 0x20;
    o = put(b, o, f[1]);
    b[o++] = 13;
    b[o++] = 10;
  }
  b[o++] = 13;
  b[o] = 10;
}

/** `method SP target SP HTTP/x.y CRLF fields CRLF`. */
export function encodeRequestHead(method: string, target: string, headers: HeaderList, version: HttpVersion = '1.1'): Uint8Array {
  checkToken(method, 'method');
  if (target.length === 0) badField('target', target);
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) badField('target', target);
  }
  const b = new Uint8Array(method.length + target.length + 12 + fieldsSize(headers));
  let o = put(b, 0, method);
  b[o++] = 0x20;
  o = put(b, o, target);
  b[o++] = 0x20;
  o = put(b, o, version === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1');
  b[o++] = 13;
  b[o++] = 10;
  putFields(b, o, headers);
  return b;
}

/** `HTTP/x.y SP status SP reason CRLF fields CRLF`; the reason defaults to the RFC 9110 phrase. */
export function encodeResponseHead(status: number, reason: string | undefined, headers: HeaderList, version: HttpVersion = '1.1'): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new H1UsageError('ERR_H1_FIELD', `status ${status} is not three digits`, { field: 'status', value: status });
  }
  const r = reason ?? reasonPhrase(status);
  checkFieldValue(r, 'reason');
  const b = new Uint8Array(15 + r.length + fieldsSize(headers));
  let o = put(b, 0, version === '1.0' ? 'HTTP/1.0 ' : 'HTTP/1.1 ');
  o = put(b, o, String(status));
  b[o++] = 0x20;
  o = put(b, o, r);
  b[o++] = 13;
  b[o++] = 10;
  putFields(b, o, headers);
  return b;
}

/** `hex-size CRLF`, what goes before a chunk's data. */
export function encodeChunkHeader(size: number): Uint8Array {
  const hex = size.toString(16);
  const b = new Uint8Array(hex.length + 2);
  const o = put(b, 0, hex);
  b[o] = 13;
  b[o + 1] = 10;
  return b;
}

/** The last chunk and the trailer section: `0 CRLF fields CRLF`. */
export function encodeLastChunk(trailers?: HeaderList): Uint8Array {
  if (trailers === undefined || trailers.length === 0) return LAST_CHUNK;
  const b = new Uint8Array(3 + fieldsSize(trailers));
  b[0] = 0x30;
  b[1] = 13;
  b[2] = 10;
  putFields(b, 3, trailers);
  return b;
}

export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

/**
 * Frames one message body into output chunks. The data views are queued as given, not copied:
 * the caller must not change them until they are written.
 */
export class BodyWriter {
  readonly framing: BodyFraming;
  /** the Content-Length promised ('length'), else -1 */
  readonly length: number;
  /** for a HEAD response: the framing fields describe a body that is never sent */
  private readonly discard: boolean;
  private sent = 0;
  private ended = false;

  constructor(framing: BodyFraming, length = -1, discard = false) {
    this.framing = framing;
    this.length = length;
    this.discard = discard;
  }

  get bytesWritten(): number {
    return this.sent;
  }

  get done(): boolean {
    return this.ended;
  }

  write(data: Uint8Array, out: Uint8Array[]): void {
    if (this.ended) throw new H1UsageError('ERR_H1_STATE', 'body already ended');
    const n = data.length;
    if (n === 0 || this.discard) return;
    switch (this.framing) {
      case 'none':
        throw new H1UsageError('ERR_H1_BODY_LENGTH', 'this message has no body', { bytes: n });
      case 'length':
        if (this.sent + n > this.length) {
          throw new H1UsageError('ERR_H1_BODY_LENGTH', `body over its Content-Length ${this.length}`, { length: this.length, bytes: this.sent + n });
        }
        out.push(data);
        break;
      case 'chunked':
        out.push(encodeChunkHeader(n), data, CRLF);
        break;
      case 'close':
        out.push(data);
    }
    this.sent += n;
  }

  end(out: Uint8Array[], trailers?: HeaderList): void {
    if (this.ended) throw new H1UsageError('ERR_H1_STATE', 'body already ended');
    if (this.framing === 'length' && this.sent !== this.length && !this.discard) {
      throw new H1UsageError('ERR_H1_BODY_LENGTH', `body of ${this.sent} bytes ended short of its Content-Length ${this.length}`, { length: this.length, bytes: this.sent });
    }
    if (trailers !== undefined && trailers.length > 0 && this.framing !== 'chunked') {
      throw new H1UsageError('ERR_H1_STATE', 'trailers need a chunked body');
    }
    if (this.framing === 'chunked' && !this.discard) out.push(encodeLastChunk(trailers));
    this.ended = true;
  }
}

/** What the user's own fields say about framing and persistence. */
export interface DeclaredFraming {
  /** the Content-Length given, else -1 */
  length: number;
  /** Transfer-Encoding: chunked given */
  chunked: boolean;
  /** Connection: close given */
  close: boolean;
}

/**
 * Reads Content-Length, Transfer-Encoding and Connection from fields about to be sent. Only
 * `chunked` can be declared as a transfer coding (this core applies no other), and not together
 * with a Content-Length.
 */
export function declaredFraming(headers: HeaderList): DeclaredFraming {
  const d: DeclaredFraming = { length: -1, chunked: false, close: false };
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as readonly [string, string];
    const name = f[0].length === 14 || f[0].length === 17 || f[0].length === 10 ? f[0].toLowerCase() : '';
    if (name === 'content-length') {
      const v = f[1];
      if (!/^[0-9]{1,15}$/.test(v) || (d.length >= 0 && d.length !== Number(v))) badField('content-length', v);
      d.length = Number(v);
    } else if (name === 'transfer-encoding') {
      if (f[1].toLowerCase() !== 'chunked' || d.chunked) badField('transfer-encoding', f[1]);
      d.chunked = true;
    } else if (name === 'connection') {
      for (const t of f[1].split(',')) if (t.trim().toLowerCase() === 'close') d.close = true;
    }
  }
  if (d.chunked && d.length >= 0) badField('transfer-encoding', 'chunked with a Content-Length');
  return d;
}
