/**
 * Incremental HTTP/1.1 message parser (RFC 9112): requests or responses, fed whatever bytes
 * arrived. Lines may be split anywhere; only an unfinished line is copied (into a buffer bounded
 * by the limits), complete lines and body bytes are read in place. Body bytes come out as views
 * into the caller's input, never gathered.
 *
 * `feed()` stops at the end of each message (state 'done': the caller decides whether to go on
 * with `next()`, which is how a server holds pipelined requests back until it has answered) and
 * after the head of a message that switches protocols (state 'tunnel': a 101, or a 2xx to
 * CONNECT), returning where it stopped so the rest can be handed to the next protocol.
 *
 * Strict where leniency lets two parsers disagree about where a message ends (the request
 * smuggling family): bare LF, obs-fold, whitespace before the colon, Content-Length with
 * Transfer-Encoding, differing Content-Lengths and codings other than chunked are all refused.
 * Every refusal is an H1Error carrying the status to answer; after one the parser stays failed.
 */
import { H1Error } from './errors.js';
import type { H1ErrorCode } from './errors.js';
import { FIELD_CHAR, Headers, StringCache, TCHAR, latin1, listTokens, owsTrim } from './headers.js';
import { parseRequestTarget } from './url.js';
import type { RequestTarget } from './url.js';

export interface H1Limits {
  /** start line plus header fields, CRLFs included (and the same again for trailers): over it, 431 */
  maxHeadBytes: number;
  /** field lines in the head (and in the trailers): over it, 431 */
  maxHeaders: number;
  /** request target length: over it, 414 */
  maxTargetBytes: number;
  /**
   * body bytes (declared by Content-Length, or counted over chunks): over it, 413. The body is
   * streamed, not buffered, so the default is no limit; set one to refuse uploads early.
   */
  maxBodyBytes: number;
  /** a chunk-size line with its extensions: over it, 400 */
  maxChunkLineBytes: number;
}

export const DEFAULT_H1_LIMITS: Readonly<H1Limits> = Object.freeze({
  maxHeadBytes: 16 * 1024,
  maxHeaders: 100,
  maxTargetBytes: 8 * 1024,
  maxBodyBytes: Number.MAX_SAFE_INTEGER,
  maxChunkLineBytes: 1024,
});

export interface H1ParserOptions extends Partial<H1Limits> {
  /**
   * Reuse the strings of field names and values a connection repeats (see StringCache). Default
   * true: on a JIT (V8) it saves far more than it costs. Under XS's interpreter the byte-by-byte
   * confirmation of a hit costs more than the allocation it saves (about 40 % more compute per
   * request in bench/xs/h1.entry.ts), so a device build turns it off.
   */
  cacheStrings?: boolean;
}

export type HttpVersion = '1.0' | '1.1';

interface HeadCommon {
  readonly version: HttpVersion;
  readonly headers: Headers;
  /** the connection may carry another message after this one (version, Connection tokens, framing) */
  readonly keepAlive: boolean;
  /** the body length announced by Content-Length, or undefined */
  readonly contentLength: number | undefined;
  /** the body is chunked */
  readonly chunked: boolean;
}

export interface RequestHead extends HeadCommon {
  readonly kind: 'request';
  readonly method: string;
  /** the request-target exactly as sent */
  readonly target: string;
  readonly url: RequestTarget;
  /** `Expect: 100-continue` in an HTTP/1.1 request: the client waits for 100 before the body */
  readonly expectContinue: boolean;
  /** the Upgrade field value when the request asks to switch (HTTP/1.1, `Connection: upgrade`), else undefined */
  readonly upgrade: string | undefined;
}

export interface ResponseHead extends HeadCommon {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type MessageHead = RequestHead | ResponseHead;

export type H1ParseEvent =
  | { readonly type: 'head'; readonly head: MessageHead }
  | { readonly type: 'data'; readonly data: Uint8Array }
  | { readonly type: 'trailers'; readonly trailers: Headers }
  | { readonly type: 'end' };

export type H1ParserState = 'idle' | 'head' | 'body' | 'done' | 'tunnel' | 'error';

// parser states (numbers: they are compared on every loop turn)
const S_START = 0;
const S_HEADERS = 1;
const S_LENGTH = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_CR = 5;
const S_CHUNK_LF = 6;
const S_TRAILERS = 7;
const S_CLOSE = 8;
const S_DONE = 9;
const S_TUNNEL = 10;
const S_ERROR = 11;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/** room for method, spaces and version around a request target of maxTargetBytes */
const START_LINE_SLACK = 64;
/** larger chunk sizes are refused before they lose precision in a double */
const MAX_CHUNK = 2 ** 51;

const END: H1ParseEvent = Object.freeze({ type: 'end' });

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

export class H1Parser {
  readonly kind: 'request' | 'response';
  private readonly limits: H1Limits;
  /** for a response parser: the method of the request being answered (HEAD and CONNECT change the framing) */
  requestMethod = 'GET';

  private st = S_START;
  private err: H1Error | undefined;
  /** bytes of the current line that arrived in earlier feeds */
  private line: Uint8Array = new Uint8Array(256);
  private lineLen = 0;
  /** stream offset of the current line's first byte */
  private lineStart = 0;
  /** bytes of the current head (or trailer section) so far */
  private section = 0;
  /** stream offset of input consumed before this feed */
  private total = 0;
  /** body bytes still due: of the Content-Length, or of the current chunk */
  private remaining = 0;
  /** body bytes of this message so far (chunked) */
  private bodyBytes = 0;
  private fields: string[] = [];
  /** undefined when options.cacheStrings is false */
  private readonly strings: StringCache | undefined;

  // the start line, until the head is complete
  private method = '';
  private target = '';
  private minor = 1;
  private status = 0;
  private reason = '';

  constructor(kind: 'request' | 'response', options: H1ParserOptions = {}) {
    this.kind = kind;
    const { cacheStrings, ...limits } = options;
    this.limits = { ...DEFAULT_H1_LIMITS, ...limits };
    this.strings = cacheStrings === false ? undefined : new StringCache();
  }

  get state(): H1ParserState {
    switch (this.st) {
      case S_START:
        return this.section === 0 && this.lineLen === 0 ? 'idle' : 'head';
      case S_HEADERS:
        return 'head';
      case S_DONE:
        return 'done';
      case S_TUNNEL:
        return 'tunnel';
      case S_ERROR:
        return 'error';
      default:
        return 'body';
    }
  }

  /** the error that stopped the parser, if any */
  get error(): H1Error | undefined {
    return this.err;
  }

  /** total bytes consumed so far on this connection */
  get offset(): number {
    return this.total;
  }

  /**
   * Parses b[off..] and pushes events onto `out`. Returns the index where it stopped: the end of
   * `b`, or just after a message (state 'done') or a switching head (state 'tunnel'). Throws the
   * H1Error that fails the message; events pushed before it stay valid.
   */
  feed(b: Uint8Array, off: number, out: H1ParseEvent[]): number {
    if (this.st === S_ERROR) throw this.err as H1Error;
    const base = this.total - off;
    try {
      off = this.run(b, off, base, out);
    } catch (e) {
      this.st = S_ERROR;
      this.err = e as H1Error;
      throw e;
    }
    this.total = base + off;
    return off;
  }

  /**
   * The peer closed its side. A body delimited by the close ends here; a message cut short
   * throws 'ERR_H1_TRUNCATED'; between messages nothing happens.
   */
  finish(out: H1ParseEvent[]): void {
    if (this.st === S_ERROR) throw this.err as H1Error;
    if (this.st === S_CLOSE) {
      out.push(END);
      this.st = S_DONE;
      return;
    }
    if (this.st === S_DONE || this.st === S_TUNNEL || (this.st === S_START && this.section === 0 && this.lineLen === 0)) return;
    this.st = S_ERROR;
    this.err = new H1Error('ERR_H1_TRUNCATED', 'connection closed in the middle of a message', { offset: this.total, field: 'eof' });
    throw this.err;
  }

  /** After 'done': get ready for the next message on the same connection. */
  next(): void {
    if (this.st !== S_DONE) return;
    this.st = S_START;
    this.section = 0;
  }

  private fail(code: H1ErrorCode, message: string, field: string, offset = this.lineStart): never {
    throw new H1Error(code, `${message} (at byte ${offset})`, { offset, field });
  }

  private run(b: Uint8Array, off: number, base: number, out: H1ParseEvent[]): number {
    const end = b.length;
    while (off < end) {
      const st = this.st;
      if (st === S_LENGTH || st === S_CHUNK_DATA) {
        const n = Math.min(this.remaining, end - off);
        out.push({ type: 'data', data: b.subarray(off, off + n) });
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          if (st === S_CHUNK_DATA) this.st = S_CHUNK_CR;
          else {
            out.push(END);
            this.st = S_DONE;
            return off;
          }
        }
      } else if (st <= S_HEADERS || st === S_CHUNK_SIZE || st === S_TRAILERS) {
        if (this.lineLen === 0) this.lineStart = base + off;
        const lf = b.indexOf(LF, off);
        const stop = lf < 0 ? end : lf;
        this.section += stop - off + (lf < 0 ? 0 : 1);
        this.checkLine(this.lineLen + stop - off);
        if (lf < 0) {
          this.keep(b, off, end);
          return end;
        }
        let src = b;
        let s = off;
        let e = lf;
        if (this.lineLen > 0) {
          this.keep(b, off, lf);
          src = this.line;
          s = 0;
          e = this.lineLen;
          this.lineLen = 0;
        }
        off = lf + 1;
        if (e === s || src[e - 1] !== CR) this.fail('ERR_H1_LINE_ENDING', 'line ends in LF without CR', 'line', base + lf);
        this.onLine(src, s, e - 1, out);
        if (this.st >= S_DONE) return off;
      } else if (st === S_CHUNK_CR || st === S_CHUNK_LF) {
        const want = st === S_CHUNK_CR ? CR : LF;
        if (b[off] !== want) this.fail('ERR_H1_CHUNK', 'chunk data not followed by CRLF', 'chunk', base + off);
        off++;
        this.st = st === S_CHUNK_CR ? S_CHUNK_LF : S_CHUNK_SIZE;
        this.section = 0;
      } else if (st === S_CLOSE) {
        out.push({ type: 'data', data: off === 0 ? b : b.subarray(off) });
        return end;
      } else return off; // done, tunnel
    }
    return off;
  }

  /** Refuses a line (or section) grown past its limit, before any of it is kept. */
  private checkLine(lineBytes: number): void {
    const L = this.limits;
    switch (this.st) {
      case S_START:
        if (this.kind === 'request' && lineBytes > L.maxTargetBytes + START_LINE_SLACK) {
          this.fail('ERR_H1_TARGET_TOO_LONG', `request line over ${L.maxTargetBytes + START_LINE_SLACK} bytes`, 'target');
        }
        if (this.section > L.maxHeadBytes) this.fail('ERR_H1_HEAD_TOO_LARGE', `head over ${L.maxHeadBytes} bytes`, 'start-line');
        return;
      case S_HEADERS:
      case S_TRAILERS:
        if (this.section > L.maxHeadBytes) {
          this.fail('ERR_H1_HEAD_TOO_LARGE', `${this.st === S_HEADERS ? 'head' : 'trailers'} over ${L.maxHeadBytes} bytes`, this.st === S_HEADERS ? 'headers' : 'trailers');
        }
        return;
      default:
        if (lineBytes > L.maxChunkLineBytes) this.fail('ERR_H1_CHUNK', `chunk size line over ${L.maxChunkLineBytes} bytes`, 'chunk-size');
    }
  }

  /** Appends b[s, e) to the unfinished line. */
  private keep(b: Uint8Array, s: number, e: number): void {
    const need = this.lineLen + e - s;
    if (need > this.line.length) {
      let cap = this.line.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.line.subarray(0, this.lineLen));
      this.line = grown;
    }
    this.line.set(b.subarray(s, e), this.lineLen);
    this.lineLen = need;
  }

  /** One complete line, src[s, e), without its CRLF. */
  private onLine(src: Uint8Array, s: number, e: number, out: H1ParseEvent[]): void {
    switch (this.st) {
      case S_START:
        // RFC 9112 §2.2: empty lines before the start line (after a previous body) are ignored
        if (e === s) return;
        if (this.kind === 'request') this.requestLine(src, s, e);
        else this.statusLine(src, s, e);
        this.fields = [];
        this.st = S_HEADERS;
        return;
      case S_HEADERS:
        if (e === s) this.endHead(out);
        else this.fieldLine(src, s, e);
        return;
      case S_CHUNK_SIZE:
        this.chunkLine(src, s, e);
        return;
      default: // S_TRAILERS
        if (e !== s) {
          this.fieldLine(src, s, e);
          return;
        }
        if (this.fields.length > 0) out.push({ type: 'trailers', trailers: new Headers(this.fields) });
        out.push(END);
        this.st = S_DONE;
    }
  }

  private requestLine(b: Uint8Array, s: number, e: number): void {
    let i = s;
    while (i < e && TCHAR[b[i] as number] === 1) i++;
    if (i === s || i === e || b[i] !== SP) this.fail('ERR_H1_REQUEST_LINE', 'method is not a token followed by one space', 'method');
    if (this.strings === undefined) this.method = latin1(b, s, i);
    else {
      let mh = 0;
      for (let k = s; k < i; k++) mh = (mh * 31 + (b[k] as number)) | 0;
      this.method = this.strings.get(b, s, i, mh, false);
    }
    const ts = ++i;
    for (let c = b[i] as number; i < e && c > 0x20 && c < 0x7f; c = b[++i] as number);
    if (i === ts || i === e || b[i] !== SP) this.fail('ERR_H1_REQUEST_LINE', 'request target is not visible ASCII followed by one space', 'target');
    if (i - ts > this.limits.maxTargetBytes) this.fail('ERR_H1_TARGET_TOO_LONG', `request target over ${this.limits.maxTargetBytes} bytes`, 'target');
    this.target = latin1(b, ts, i);
    this.minor = this.version(b, i + 1, e, 'ERR_H1_REQUEST_LINE');
  }

  private statusLine(b: Uint8Array, s: number, e: number): void {
    const vEnd = s + 8;
    if (vEnd > e) this.fail('ERR_H1_STATUS_LINE', 'status line too short', 'version');
    this.minor = this.version(b, s, vEnd, 'ERR_H1_STATUS_LINE');
    const d0 = (b[vEnd + 1] as number) - 0x30;
    const d1 = (b[vEnd + 2] as number) - 0x30;
    const d2 = (b[vEnd + 3] as number) - 0x30;
    if (b[vEnd] !== SP || vEnd + 4 > e || !(d0 >= 1 && d0 <= 9) || !(d1 >= 0 && d1 <= 9) || !(d2 >= 0 && d2 <= 9)) {
      this.fail('ERR_H1_STATUS_LINE', 'status is not three digits after one space', 'status');
    }
    this.status = d0 * 100 + d1 * 10 + d2;
    // RFC 9112 §4 wants the SP even with an empty reason; servers that drop it are common and harmless
    let r = vEnd + 4;
    if (r < e) {
      if (b[r] !== SP) this.fail('ERR_H1_STATUS_LINE', 'status not followed by a space', 'status');
      r++;
      for (let i = r; i < e; i++) if (FIELD_CHAR[b[i] as number] !== 1) this.fail('ERR_H1_STATUS_LINE', 'control byte in reason phrase', 'reason');
    }
    this.reason = r < e ? latin1(b, r, e) : '';
  }

  /** `HTTP/1.x` at b[s, e): returns x (0 for 1.0, 1 for 1.1 and later minors). */
  private version(b: Uint8Array, s: number, e: number, code: H1ErrorCode): number {
    const major = (b[s + 5] as number) - 0x30;
    const minor = (b[s + 7] as number) - 0x30;
    if (e - s !== 8 || b[s] !== 0x48 || b[s + 1] !== 0x54 || b[s + 2] !== 0x54 || b[s + 3] !== 0x50 || b[s + 4] !== 0x2f || b[s + 6] !== 0x2e || !(major >= 0 && major <= 9) || !(minor >= 0 && minor <= 9)) {
      this.fail(code, 'version is not HTTP/d.d', 'version');
    }
    // RFC 9110 §2.5: a later 1.x minor is answered as the highest 1.x we speak
    if (major !== 1) this.fail('ERR_H1_VERSION', `HTTP/${major}.${minor} is not supported`, 'version');
    return minor === 0 ? 0 : 1;
  }

  private fieldLine(b: Uint8Array, s: number, e: number): void {
    const c0 = b[s] as number;
    if (c0 === SP || c0 === HTAB) {
      if (this.fields.length > 0) this.fail('ERR_H1_OBS_FOLD', 'folded field line (obs-fold)', 'field');
      this.fail('ERR_H1_HEADER_SYNTAX', 'whitespace before the first field line', 'field');
    }
    const cache = this.strings;
    let i = s;
    let upper = false;
    // the name's hash (for the string cache) is computed in its validation loop, case-folded
    let nh = 0;
    if (cache !== undefined) {
      for (; i < e; i++) {
        const x = b[i] as number;
        if (TCHAR[x] !== 1) break;
        if (x >= 0x41 && x <= 0x5a) upper = true;
        nh = (nh * 31 + (x | 0x20)) | 0;
      }
    } else {
      for (; i < e; i++) {
        const x = b[i] as number;
        if (TCHAR[x] !== 1) break;
        if (x >= 0x41 && x <= 0x5a) upper = true;
      }
    }
    if (i === s || i === e || b[i] !== 0x3a) this.fail('ERR_H1_HEADER_SYNTAX', 'field name is not a token followed by a colon', 'field-name');
    let vs = i + 1;
    while (vs < e && (b[vs] === SP || b[vs] === HTAB)) vs++;
    let ve = e;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    for (let j = vs; j < ve; j++) {
      if (FIELD_CHAR[b[j] as number] !== 1) this.fail('ERR_H1_HEADER_SYNTAX', 'control byte in field value', 'field-value');
    }
    if (this.fields.length >= this.limits.maxHeaders * 2) {
      this.fail('ERR_H1_TOO_MANY_HEADERS', `more than ${this.limits.maxHeaders} field lines`, this.st === S_HEADERS ? 'headers' : 'trailers');
    }
    if (cache === undefined) {
      const name = latin1(b, s, i);
      this.fields.push(upper ? name.toLowerCase() : name, ve > vs ? latin1(b, vs, ve) : '');
      return;
    }
    // a value's hash: its length, first bytes and last byte are enough to spread the slots
    const vn = ve - vs;
    let vh = vn;
    for (let j = vs, z = vs + (vn < 6 ? vn : 6); j < z; j++) vh = (vh * 31 + (b[j] as number)) | 0;
    if (vn > 0) vh = (vh * 31 + (b[ve - 1] as number)) | 0;
    this.fields.push(cache.get(b, s, i, nh, upper), ve > vs ? cache.get(b, vs, ve, vh, false) : '');
  }

  private chunkLine(b: Uint8Array, s: number, e: number): void {
    let i = s;
    let size = 0;
    for (; i < e; i++) {
      const h = hexVal(b[i] as number);
      if (h < 0) break;
      if (size >= MAX_CHUNK / 16) this.fail('ERR_H1_CHUNK', 'chunk size too large', 'chunk-size');
      size = size * 16 + h;
    }
    if (i === s) this.fail('ERR_H1_CHUNK', 'chunk size is not hex', 'chunk-size');
    // chunk extensions (BWS ";" …) are allowed and ignored; nothing else may follow the size
    let j = i;
    while (j < e && (b[j] === SP || b[j] === HTAB)) j++;
    if (j < e) {
      if (b[j] !== 0x3b) this.fail('ERR_H1_CHUNK', 'chunk size followed by something other than an extension', 'chunk-size');
      for (let k = j + 1; k < e; k++) if (FIELD_CHAR[b[k] as number] !== 1) this.fail('ERR_H1_CHUNK', 'control byte in chunk extension', 'chunk-ext');
    } else if (j > i) this.fail('ERR_H1_CHUNK', 'whitespace after chunk size', 'chunk-size');
    this.bodyBytes += size;
    if (this.bodyBytes > this.limits.maxBodyBytes) this.fail('ERR_H1_BODY_TOO_LARGE', `body over ${this.limits.maxBodyBytes} bytes`, 'body');
    if (size === 0) {
      this.st = S_TRAILERS;
      this.section = 0;
      this.fields = [];
      return;
    }
    this.remaining = size;
    this.st = S_CHUNK_DATA;
  }

  /** The empty line after the fields: decide the framing (RFC 9112 §6.3) and emit the head. */
  private endHead(out: H1ParseEvent[]): void {
    const f = this.fields;
    let cl = -1;
    let te: string | undefined;
    let hosts = 0;
    let close = false;
    let keepAlive = false;
    let upgradeToken = false;
    let upgrade: string | undefined;
    let expect: string | undefined;
    for (let i = 0; i < f.length; i += 2) {
      const v = f[i + 1] as string;
      switch (f[i]) {
        case 'content-length':
          cl = this.contentLength(cl, v);
          break;
        case 'transfer-encoding':
          te = te === undefined ? v : `${te},${v}`;
          break;
        case 'host':
          hosts++;
          break;
        case 'connection': {
          // the usual single token without splitting
          const one = v.length <= 10 ? v.toLowerCase() : '';
          if (one === 'keep-alive') keepAlive = true;
          else if (one === 'close') close = true;
          else if (one === 'upgrade') upgradeToken = true;
          else {
            for (const t of listTokens(v)) {
              if (t === 'close') close = true;
              else if (t === 'keep-alive') keepAlive = true;
              else if (t === 'upgrade') upgradeToken = true;
            }
          }
          break;
        }
        case 'upgrade':
          upgrade = v;
          break;
        case 'expect':
          expect = v;
          break;
      }
    }
    const http11 = this.minor === 1;
    let chunked = false;
    if (te !== undefined) {
      // RFC 9112 §6.1: in 1.0 or beside Content-Length, the framing cannot be trusted
      if (!http11) this.fail('ERR_H1_FRAMING', 'Transfer-Encoding in an HTTP/1.0 message', 'transfer-encoding');
      if (cl >= 0) this.fail('ERR_H1_FRAMING', 'both Content-Length and Transfer-Encoding', 'transfer-encoding');
      const codings = te.length === 7 && te.toLowerCase() === 'chunked' ? ['chunked'] : listTokens(te);
      for (const c of codings) if (c !== 'chunked') this.fail('ERR_H1_TRANSFER_CODING', `transfer coding "${c}" is not supported`, 'transfer-encoding');
      if (codings.length !== 1) this.fail('ERR_H1_FRAMING', codings.length === 0 ? 'empty Transfer-Encoding' : 'chunked applied more than once', 'transfer-encoding');
      chunked = true;
    }
    if (cl > this.limits.maxBodyBytes) this.fail('ERR_H1_BODY_TOO_LARGE', `Content-Length ${cl} over ${this.limits.maxBodyBytes}`, 'content-length');
    const persistent = !close && (http11 || keepAlive);
    const version: HttpVersion = http11 ? '1.1' : '1.0';
    const headers = new Headers(f);
    const contentLength = cl >= 0 ? cl : undefined;
    this.bodyBytes = 0;

    if (this.kind === 'request') {
      // RFC 9112 §3.2: exactly one Host in 1.1, at most one in 1.0
      if (hosts > 1 || (http11 && hosts === 0)) this.fail('ERR_H1_HOST', hosts === 0 ? 'no Host field' : 'more than one Host field', 'host');
      const url = parseRequestTarget(this.method, this.target);
      const head: RequestHead = {
        kind: 'request',
        method: this.method,
        target: this.target,
        url,
        version,
        headers,
        keepAlive: persistent,
        contentLength,
        chunked,
        // RFC 9110 §10.1.1: a 1.0 client cannot be waiting for 100
        expectContinue: http11 && expect !== undefined && expect.toLowerCase() === '100-continue',
        // RFC 9110 §7.8: Upgrade in a 1.0 request is ignored
        upgrade: http11 && upgradeToken && upgrade !== undefined ? upgrade : undefined,
      };
      out.push({ type: 'head', head });
      this.startBody(chunked, cl, out);
      return;
    }

    const status = this.status;
    const method = this.requestMethod;
    let tunnel = false;
    let bodyless = false;
    if (status < 200) {
      bodyless = true;
      tunnel = status === 101;
    } else if (method === 'HEAD' || status === 204 || status === 304) bodyless = true;
    else if (method === 'CONNECT' && status < 300) tunnel = true;
    const byClose = !bodyless && !tunnel && !chunked && cl < 0;
    const head: ResponseHead = {
      kind: 'response',
      status,
      reason: this.reason,
      version,
      headers,
      keepAlive: persistent && !byClose && !tunnel,
      contentLength,
      chunked: chunked && !bodyless && !tunnel,
    };
    out.push({ type: 'head', head });
    if (tunnel) this.st = S_TUNNEL;
    else if (status < 200) {
      // an interim response: the final one for the same request follows
      this.st = S_START;
      this.section = 0;
    } else if (bodyless) {
      out.push(END);
      this.st = S_DONE;
    } else if (byClose) this.st = S_CLOSE;
    else this.startBody(chunked, cl, out);
  }

  private startBody(chunked: boolean, cl: number, out: H1ParseEvent[]): void {
    if (chunked) {
      this.st = S_CHUNK_SIZE;
      this.section = 0;
    } else if (cl > 0) {
      this.remaining = cl;
      this.st = S_LENGTH;
    } else {
      out.push(END);
      this.st = S_DONE;
    }
  }

  /** Content-Length: digits, possibly a list of the same number repeated (RFC 9112 §6.3 item 5). */
  private contentLength(prev: number, v: string): number {
    let n = prev;
    const parts = v.indexOf(',') < 0 ? [v] : v.split(',');
    for (let k = 0; k < parts.length; k++) {
      const p = owsTrim(parts[k] as string);
      if (p.length === 0 || p.length > 16) this.fail('ERR_H1_FRAMING', 'Content-Length is not a number', 'content-length');
      let cur = 0;
      for (let i = 0; i < p.length; i++) {
        const d = p.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) this.fail('ERR_H1_FRAMING', 'Content-Length is not a number', 'content-length');
        cur = cur * 10 + d;
      }
      if (cur > Number.MAX_SAFE_INTEGER) this.fail('ERR_H1_FRAMING', 'Content-Length too large', 'content-length');
      if (n >= 0 && n !== cur) this.fail('ERR_H1_FRAMING', 'differing Content-Length values', 'content-length');
      n = cur;
    }
    return n;
  }
}
