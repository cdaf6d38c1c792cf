/**
 * The server side of an HTTP/1.1 connection, sans-IO (in the manner of python-hyper's h11):
 * bytes and the time go in through receive(), requests come out as events, the user answers
 * each with respond() / send() / end(), and the bytes to write come out of pendingOutput().
 *
 * One request at a time: once a request has ended, bytes after it (pipelined requests) are held,
 * unparsed, until its response has ended, so responses always go out in request order and a slow
 * handler bounds what the connection buffers (`maxHeldBytes`; `wantsRead` tells the pump to stop
 * reading). A bad request is answered by the machine itself with the error's status and
 * `Connection: close` when no response has started; otherwise the connection is just closed.
 *
 * Timers: `idleTimeoutUs` between requests (the connection is closed quietly), `headTimeoutUs`
 * from a request's first byte to the end of its head (answered 408). Body pacing is the
 * connection layer's business (validity), not this machine's.
 */
import { H1Error, H1UsageError } from './errors.js';
import type { Headers } from './headers.js';
import { H1Parser } from './parser.js';
import type { H1ParserOptions, H1ParseEvent, RequestHead } from './parser.js';
import { BodyWriter, declaredFraming, encodeResponseHead } from './serializer.js';
import type { BodyFraming, HeaderList } from './serializer.js';

export interface H1ServerOptions {
  /** parser limits and options */
  limits?: H1ParserOptions;
  /** µs from a request's first byte to the end of its head; default 20 s */
  headTimeoutUs?: number;
  /** µs a kept-alive connection may wait for its next request; default 5 s */
  idleTimeoutUs?: number;
  /** bytes of pipelined requests held while the current one is answered; default 64 KiB */
  maxHeldBytes?: number;
}

export type H1ServerEvent =
  /** a request head; its body follows as data events, then end */
  | { readonly type: 'head'; readonly head: RequestHead }
  | { readonly type: 'data'; readonly data: Uint8Array }
  | { readonly type: 'trailers'; readonly trailers: Headers }
  /** the request's body is complete */
  | { readonly type: 'end' }
  /** a 101 (or a 2xx to CONNECT) went out: HTTP is over; `rest` is what already arrived for the new protocol */
  | { readonly type: 'upgrade'; readonly rest: Uint8Array }
  /** the peer broke the protocol, or timed out; a 'close' follows */
  | { readonly type: 'error'; readonly error: H1Error }
  /** the machine is finished: write what pendingOutput() holds, then close the connection */
  | { readonly type: 'close' };

export interface ResponseInit {
  status: number;
  /** defaults to the RFC 9110 phrase */
  reason?: string;
  /** sent as given; framing fields (Transfer-Encoding, Connection) are added when needed */
  headers?: HeaderList;
}

const EMPTY = new Uint8Array(0);
const CLOSE_EVENT: H1ServerEvent = Object.freeze({ type: 'close' });

// where the current response is
const R_NONE = 0;
const R_BODY = 1;
const R_DONE = 2;

// what the deadline is for
const T_NONE = 0;
const T_IDLE = 1;
const T_HEAD = 2;

export class H1Server {
  private readonly parser: H1Parser;
  private readonly headTimeoutUs: number;
  private readonly idleTimeoutUs: number;
  private readonly maxHeldBytes: number;

  private events: H1ServerEvent[] = [];
  private out: Uint8Array[] = [];
  /** received but not yet parsed: bytes after a complete request whose response is still going */
  private held: Uint8Array | undefined;
  private heldStart = 0;
  private heldEnd = 0;

  private req: RequestHead | undefined;
  private reqDone = false;
  private resp = R_NONE;
  private continueSent = false;
  private writer: BodyWriter | undefined;
  private keepAlive = true;
  private eof = false;
  private finished = false;

  private now: number;
  private deadline: number | undefined;
  private timer = T_NONE;

  constructor(nowUs: number, options: H1ServerOptions = {}) {
    this.parser = new H1Parser('request', options.limits);
    this.headTimeoutUs = options.headTimeoutUs ?? 20_000_000;
    this.idleTimeoutUs = options.idleTimeoutUs ?? 5_000_000;
    this.maxHeldBytes = options.maxHeldBytes ?? 64 * 1024;
    this.now = nowUs;
    this.timer = T_IDLE;
    this.deadline = nowUs + this.idleTimeoutUs;
  }

  /** The machine is finished (closed or switched protocols): no more events. */
  get closed(): boolean {
    return this.finished;
  }

  /** False while the pump should stop reading: held pipelined bytes have reached their bound. */
  get wantsRead(): boolean {
    return !this.finished && this.heldEnd - this.heldStart < this.maxHeldBytes;
  }

  /** The request being answered, if any. */
  get request(): RequestHead | undefined {
    return this.req;
  }

  /**
   * Bytes from the peer. The returned events include any queued by earlier calls. Data events
   * are views into `bytes`, which must not be reused while they are in use.
   */
  receive(bytes: Uint8Array, nowUs: number): H1ServerEvent[] {
    this.now = nowUs;
    let off = 0;
    while (off < bytes.length && !this.finished) {
      // a request that ended may already be answered (a response ended before its body): then go on parsing
      if (this.held !== undefined || this.parser.state === 'done') {
        this.hold(bytes, off);
        break;
      }
      off = this.feed(bytes, off);
    }
    return this.pollEvents();
  }

  /** The peer closed its sending side. */
  receiveEof(nowUs: number): H1ServerEvent[] {
    this.now = nowUs;
    if (!this.finished && !this.eof) {
      this.eof = true;
      // a complete request waiting for its answer (and any held behind it) is still served
      if (this.parser.state !== 'done') this.finishInput();
    }
    return this.pollEvents();
  }

  /** Events produced since the last receive(): by respond(), end() or onTimer(). */
  pollEvents(): H1ServerEvent[] {
    const e = this.events;
    if (e.length === 0) return e;
    this.events = [];
    return e;
  }

  /** Bytes to write, in order; the queue is emptied. */
  pendingOutput(): Uint8Array[] {
    const o = this.out;
    if (o.length === 0) return o;
    this.out = [];
    return o;
  }

  nextDeadlineUs(): number | undefined {
    return this.deadline;
  }

  onTimer(nowUs: number): H1ServerEvent[] {
    this.now = nowUs;
    if (this.deadline !== undefined && nowUs >= this.deadline && !this.finished) {
      if (this.timer === T_IDLE) this.close();
      else this.fail(new H1Error('ERR_H1_TIMEOUT', 'request head not complete in time', { field: 'head', offset: this.parser.offset }));
    }
    return this.pollEvents();
  }

  /**
   * `100 Continue` for a request that asked for it (`head.expectContinue`), before any final
   * response; otherwise nothing. Refusing is answering with a final status instead.
   */
  sendContinue(): void {
    const r = this.req;
    if (this.finished || r === undefined || !r.expectContinue || this.continueSent || this.resp !== R_NONE || this.reqDone) return;
    this.continueSent = true;
    this.out.push(encodeResponseHead(100, undefined, []));
  }

  /**
   * The response head for the current request. 1xx other than 101 are interim and may be sent
   * before the final response. 101 (to a request with `upgrade`) and 2xx to CONNECT switch the
   * connection away from HTTP once the request has ended: an 'upgrade' event follows.
   */
  respond(init: ResponseInit): void {
    const r = this.req;
    if (this.finished || r === undefined || this.resp !== R_NONE) throw new H1UsageError('ERR_H1_STATE', 'no request waiting for a response');
    const status = init.status;
    const headers = init.headers ?? [];
    if (status < 200 && status !== 101) {
      if (r.version === '1.1') this.out.push(encodeResponseHead(status, init.reason, headers));
      if (status === 100) this.continueSent = true;
      return;
    }
    if (status === 101 || (r.method === 'CONNECT' && status >= 200 && status < 300)) {
      if (status === 101 && r.upgrade === undefined) throw new H1UsageError('ERR_H1_STATE', '101 to a request that did not ask to upgrade');
      if (!this.reqDone) throw new H1UsageError('ERR_H1_STATE', 'switching protocols before the request ended');
      this.out.push(encodeResponseHead(status, init.reason, headers));
      const rest = this.held === undefined ? EMPTY : this.held.slice(this.heldStart, this.heldEnd);
      this.held = undefined;
      this.heldStart = this.heldEnd = 0;
      this.finished = true;
      this.deadline = undefined;
      this.events.push({ type: 'upgrade', rest });
      return;
    }
    const d = declaredFraming(headers);
    const head = r.method === 'HEAD';
    const bodyless = head || status === 204 || status === 304;
    let framing: BodyFraming;
    let extra: [string, string] | undefined;
    if (bodyless) framing = 'none';
    else if (d.chunked) {
      if (r.version === '1.0') throw new H1UsageError('ERR_H1_FIELD', 'chunked response to an HTTP/1.0 request', { field: 'transfer-encoding' });
      framing = 'chunked';
    } else if (d.length >= 0) framing = 'length';
    else if (r.version === '1.1') {
      framing = 'chunked';
      extra = ['transfer-encoding', 'chunked'];
    } else framing = 'close';
    // a client still waiting for 100 may never send the body it announced: the connection cannot be reused
    const unreadBody = r.expectContinue && !this.continueSent && !this.reqDone;
    this.keepAlive = r.keepAlive && !d.close && framing !== 'close' && !unreadBody;
    let all: HeaderList = headers;
    if (extra !== undefined || (!this.keepAlive && !d.close) || (this.keepAlive && r.version === '1.0')) {
      const more = headers.slice();
      if (extra !== undefined) more.push(extra);
      if (!this.keepAlive && !d.close) more.push(['connection', 'close']);
      else if (this.keepAlive && r.version === '1.0') more.push(['connection', 'keep-alive']);
      all = more;
    }
    this.out.push(encodeResponseHead(status, init.reason, all));
    this.writer = new BodyWriter(framing, d.length, head);
    this.resp = R_BODY;
  }

  /** Body bytes of the response (queued as given, not copied). */
  send(data: Uint8Array): void {
    if (this.resp !== R_BODY || this.finished) throw new H1UsageError('ERR_H1_STATE', 'no response body in progress');
    (this.writer as BodyWriter).write(data, this.out);
  }

  /** Ends the response; trailers need a chunked response. */
  end(trailers?: HeaderList): void {
    if (this.resp !== R_BODY || this.finished) throw new H1UsageError('ERR_H1_STATE', 'no response in progress');
    (this.writer as BodyWriter).end(this.out, trailers);
    this.resp = R_DONE;
    this.writer = undefined;
    if (this.reqDone) this.nextCycle();
    else if (!this.keepAlive) this.close();
  }

  private feed(b: Uint8Array, off: number): number {
    const ev = this.events;
    const first = ev.length;
    try {
      off = this.parser.feed(b, off, ev as H1ParseEvent[]);
    } catch (e) {
      this.scan(first);
      if (!(e instanceof H1Error)) throw e;
      this.fail(e);
      return b.length;
    }
    this.scan(first);
    this.armTimer();
    return off;
  }

  /** Notes what the parser just reported. */
  private scan(from: number): void {
    const ev = this.events;
    for (let i = from; i < ev.length; i++) {
      const e = ev[i] as H1ServerEvent;
      if (e.type === 'head') {
        this.req = e.head;
        this.reqDone = false;
        this.continueSent = false;
      } else if (e.type === 'end') {
        this.reqDone = true;
        if (this.resp === R_DONE && this.keepAlive) this.nextCycle();
      }
    }
  }

  private armTimer(): void {
    const s = this.parser.state;
    if (s === 'head') {
      if (this.timer !== T_HEAD) {
        this.timer = T_HEAD;
        this.deadline = this.now + this.headTimeoutUs;
      }
    } else if (s === 'idle') {
      if (this.timer !== T_IDLE) {
        this.timer = T_IDLE;
        this.deadline = this.now + this.idleTimeoutUs;
      }
    } else {
      this.timer = T_NONE;
      this.deadline = undefined;
    }
  }

  /** Keeps b[off..] for later, copied: the caller may reuse its buffer. */
  private hold(b: Uint8Array, off: number): void {
    const n = b.length - off;
    const have = this.heldEnd - this.heldStart;
    if (have + n > this.maxHeldBytes) {
      this.fail(new H1Error('ERR_H1_PIPELINE_OVERFLOW', `more than ${this.maxHeldBytes} bytes of pipelined requests`, { field: 'pipeline', offset: this.parser.offset + have }));
      return;
    }
    let h = this.held;
    if (h === undefined || this.heldEnd + n > h.length) {
      // a new buffer rather than compacting: data events of parsed bytes may still point into the old one
      const g = new Uint8Array(Math.min(this.maxHeldBytes, Math.max(4096, (have + n) * 2)));
      if (h !== undefined) g.set(h.subarray(this.heldStart, this.heldEnd));
      this.held = h = g;
      this.heldStart = 0;
      this.heldEnd = have;
    }
    h.set(off === 0 ? b : b.subarray(off), this.heldEnd);
    this.heldEnd += n;
  }

  /** Request and response both over: on to the next request, or close. */
  private nextCycle(): void {
    this.req = undefined;
    this.reqDone = false;
    this.resp = R_NONE;
    this.continueSent = false;
    if (!this.keepAlive) {
      this.close();
      return;
    }
    this.parser.next();
    this.timer = T_NONE;
    const h = this.held;
    if (h !== undefined) {
      const off = this.feed(h.subarray(0, this.heldEnd), this.heldStart);
      if (this.held === h) {
        this.heldStart = off;
        if (off === this.heldEnd) {
          this.held = undefined;
          this.heldStart = this.heldEnd = 0;
        }
      }
    } else this.armTimer();
    if (this.eof && !this.finished && this.parser.state !== 'done') this.finishInput();
  }

  /** No more bytes will come: a body delimited by... nothing; whatever is half-parsed is truncated. */
  private finishInput(): void {
    const ev = this.events;
    const first = ev.length;
    try {
      this.parser.finish(ev as H1ParseEvent[]);
    } catch (e) {
      if (!(e instanceof H1Error)) throw e;
      this.fail(e);
      return;
    }
    this.scan(first);
    if (this.req === undefined) this.close();
  }

  /** The peer broke the protocol: answer with its status if we still can, then close. */
  private fail(e: H1Error): void {
    if (this.finished) return;
    this.events.push({ type: 'error', error: e });
    if (this.resp === R_NONE) {
      this.out.push(encodeResponseHead(e.status, undefined, [['content-length', '0'], ['connection', 'close']]));
    }
    this.close();
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    this.deadline = undefined;
    this.timer = T_NONE;
    this.held = undefined;
    this.heldStart = this.heldEnd = 0;
    this.events.push(CLOSE_EVENT);
  }
}
