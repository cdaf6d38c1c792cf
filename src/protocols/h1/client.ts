/**
 * The client side of an HTTP/1.1 connection, sans-IO: request() / send() / end() queue bytes
 * for pendingOutput(); receive() turns the server's bytes into response events.
 *
 * Requests may be pipelined (up to `maxPipelined` waiting for their responses); each response
 * is read with the method of the request it answers, so a HEAD's response has no body and a 2xx
 * to CONNECT, like a 101 to a request that asked to upgrade, hands the connection over: an
 * 'upgrade' event carries the bytes that already arrived for the new protocol. 1xx responses
 * are surfaced ('continue' for 100, the cue to send a body held back by `Expect: 100-continue`;
 * 'informational' for the others) and the final response follows.
 *
 * This machine has no timers of its own: connect, first-byte and idle limits are phases of the
 * connection layer, which owns the clock policy.
 */
import { H1Error, H1UsageError } from './errors.js';
import type { Headers } from './headers.js';
import { hasToken } from './headers.js';
import { H1Parser } from './parser.js';
import type { H1ParserOptions, H1ParseEvent, HttpVersion, ResponseHead } from './parser.js';
import { BodyWriter, declaredFraming, encodeRequestHead } from './serializer.js';
import type { HeaderList } from './serializer.js';

export interface H1ClientOptions {
  /** parser limits and options */
  limits?: H1ParserOptions;
  /** requests that may wait for their responses at once; default 1 (no pipelining) */
  maxPipelined?: number;
}

export interface RequestInit {
  method: string;
  /** origin-form ('/path?q'), absolute-form for a proxy, authority-form for CONNECT */
  target: string;
  /**
   * Sent as given; an HTTP/1.1 request needs Host. A body needs Content-Length or
   * `Transfer-Encoding: chunked` here; without either the request has no body.
   */
  headers?: HeaderList;
  version?: HttpVersion;
}

export type H1ClientEvent =
  /** the final response head; its body follows as data events, then end */
  | { readonly type: 'head'; readonly head: ResponseHead }
  /** 100 Continue: the server wants the body */
  | { readonly type: 'continue' }
  /** another 1xx (102, 103): informational, the final response follows */
  | { readonly type: 'informational'; readonly head: ResponseHead }
  | { readonly type: 'data'; readonly data: Uint8Array }
  | { readonly type: 'trailers'; readonly trailers: Headers }
  /** the response's body is complete */
  | { readonly type: 'end' }
  /** after the head of a 101, or of a 2xx to CONNECT: HTTP is over; `rest` already belongs to the new protocol */
  | { readonly type: 'upgrade'; readonly rest: Uint8Array }
  /** the server broke the protocol or closed too early; a 'close' follows */
  | { readonly type: 'error'; readonly error: H1Error }
  /** the machine is finished: write what pendingOutput() holds, then close the connection */
  | { readonly type: 'close' };

interface Outstanding {
  readonly method: string;
  /** the request asked to upgrade: only then is a 101 acceptable */
  readonly upgrade: boolean;
  /** the request said Connection: close */
  readonly close: boolean;
}

const CLOSE_EVENT: H1ClientEvent = Object.freeze({ type: 'close' });
const CONTINUE_EVENT: H1ClientEvent = Object.freeze({ type: 'continue' });

export class H1Client {
  private readonly parser: H1Parser;
  private readonly maxPipelined: number;
  private events: H1ClientEvent[] = [];
  private out: Uint8Array[] = [];
  private readonly waiting: Outstanding[] = [];
  private writer: BodyWriter | undefined;
  private responseKeepAlive = true;
  private finished = false;

  constructor(options: H1ClientOptions = {}) {
    this.parser = new H1Parser('response', options.limits);
    this.maxPipelined = options.maxPipelined ?? 1;
  }

  get closed(): boolean {
    return this.finished;
  }

  /** A new request may be started now. */
  get canRequest(): boolean {
    return !this.finished && this.writer === undefined && this.waiting.length < this.maxPipelined;
  }

  /** Requests sent whose responses have not ended. */
  get inFlight(): number {
    return this.waiting.length;
  }

  /** Queues a request head; its body (if its fields announce one) follows with send() and end(). */
  request(init: RequestInit): void {
    if (!this.canRequest) throw new H1UsageError('ERR_H1_STATE', this.finished ? 'connection is closed' : 'a request is still being sent, or too many wait for responses');
    const headers = init.headers ?? [];
    const version = init.version ?? '1.1';
    const d = declaredFraming(headers);
    let host = false;
    let upgrade = false;
    let connUpgrade = false;
    let connKeepAlive = false;
    for (const [name, value] of headers) {
      const n = name.toLowerCase();
      if (n === 'host') host = true;
      else if (n === 'upgrade') upgrade = true;
      else if (n === 'connection') {
        connUpgrade ||= hasToken(value, 'upgrade');
        connKeepAlive ||= hasToken(value, 'keep-alive');
      }
    }
    if (!host && version === '1.1') throw new H1UsageError('ERR_H1_FIELD', 'an HTTP/1.1 request needs a Host field', { field: 'host' });
    if (d.chunked && version === '1.0') throw new H1UsageError('ERR_H1_FIELD', 'chunked request in HTTP/1.0', { field: 'transfer-encoding' });
    this.out.push(encodeRequestHead(init.method, init.target, headers, version));
    this.waiting.push({ method: init.method, upgrade: upgrade && connUpgrade, close: d.close || (version === '1.0' && !connKeepAlive) });
    if (d.chunked) this.writer = new BodyWriter('chunked');
    else if (d.length > 0) this.writer = new BodyWriter('length', d.length);
  }

  /** Body bytes of the current request (queued as given, not copied). */
  send(data: Uint8Array): void {
    if (this.writer === undefined || this.finished) throw new H1UsageError('ERR_H1_STATE', 'no request body in progress');
    this.writer.write(data, this.out);
  }

  /** Ends the current request's body; trailers need a chunked body. */
  end(trailers?: HeaderList): void {
    if (this.writer === undefined || this.finished) throw new H1UsageError('ERR_H1_STATE', 'no request body in progress');
    this.writer.end(this.out, trailers);
    this.writer = undefined;
  }

  /** Bytes from the server. Data events are views into `bytes`. */
  receive(bytes: Uint8Array, nowUs: number): H1ClientEvent[] {
    void nowUs;
    let off = 0;
    while (off < bytes.length && !this.finished) {
      const w = this.waiting[0];
      if (w === undefined) {
        this.fail(new H1Error('ERR_H1_UNEXPECTED_RESPONSE', 'bytes from the server with no request waiting', { offset: this.parser.offset, field: 'response' }));
        break;
      }
      this.parser.requestMethod = w.method;
      const first = this.events.length;
      try {
        off = this.parser.feed(bytes, off, this.events as H1ParseEvent[]);
      } catch (e) {
        if (!(e instanceof H1Error)) throw e;
        this.scan(first, w);
        this.fail(e);
        break;
      }
      if (!this.scan(first, w)) break;
      const s = this.parser.state;
      if (s === 'tunnel') {
        this.finished = true;
        this.events.push({ type: 'upgrade', rest: bytes.slice(off) });
      } else if (s === 'done') this.responseEnded();
    }
    return this.pollEvents();
  }

  /** The server closed its side: ends a body delimited by the close, or reports what was cut short. */
  receiveEof(nowUs: number): H1ClientEvent[] {
    void nowUs;
    if (this.finished) return this.pollEvents();
    const w = this.waiting[0];
    if (w === undefined) {
      this.close();
      return this.pollEvents();
    }
    const first = this.events.length;
    const idle = this.parser.state === 'idle';
    try {
      this.parser.finish(this.events as H1ParseEvent[]);
    } catch (e) {
      if (!(e instanceof H1Error)) throw e;
      this.fail(e);
      return this.pollEvents();
    }
    this.scan(first, w);
    if (this.parser.state === 'done') this.responseEnded();
    if (!this.finished) {
      // closed before any byte of the response: the request may be retried if it is idempotent
      this.fail(new H1Error('ERR_H1_TRUNCATED', idle ? 'connection closed before the response' : 'connection closed in a response', { offset: this.parser.offset, field: 'eof', unanswered: this.waiting.length }));
    }
    return this.pollEvents();
  }

  pollEvents(): H1ClientEvent[] {
    const e = this.events;
    if (e.length === 0) return e;
    this.events = [];
    return e;
  }

  pendingOutput(): Uint8Array[] {
    const o = this.out;
    if (o.length === 0) return o;
    this.out = [];
    return o;
  }

  /** No timers of its own (see the file comment). */
  nextDeadlineUs(): number | undefined {
    return undefined;
  }

  onTimer(nowUs: number): H1ClientEvent[] {
    void nowUs;
    return this.pollEvents();
  }

  /** Renames interim heads and checks a 101 was asked for. Returns false if that failed the connection. */
  private scan(from: number, w: Outstanding): boolean {
    const ev = this.events;
    for (let i = from; i < ev.length; i++) {
      const e = ev[i] as H1ClientEvent;
      if (e.type !== 'head') continue;
      const h = e.head;
      if (h.status === 101) {
        if (!w.upgrade) {
          ev.length = i;
          this.fail(new H1Error('ERR_H1_UNEXPECTED_RESPONSE', '101 to a request that did not ask to upgrade', { offset: this.parser.offset, field: 'status' }));
          return false;
        }
      } else if (h.status === 100) ev[i] = CONTINUE_EVENT;
      else if (h.status < 200) ev[i] = { type: 'informational', head: h };
      else this.responseKeepAlive = h.keepAlive;
    }
    return true;
  }

  private responseEnded(): void {
    const w = this.waiting.shift() as Outstanding;
    if (!this.responseKeepAlive || w.close) {
      if (this.waiting.length > 0) {
        this.fail(new H1Error('ERR_H1_TRUNCATED', 'server closes with requests unanswered', { offset: this.parser.offset, field: 'connection', unanswered: this.waiting.length }));
      } else this.close();
      return;
    }
    this.parser.next();
  }

  private fail(e: H1Error): void {
    if (this.finished) return;
    this.events.push({ type: 'error', error: e });
    this.close();
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    this.writer = undefined;
    this.events.push(CLOSE_EVENT);
  }
}
