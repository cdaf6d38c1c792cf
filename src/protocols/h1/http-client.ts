/**
 * An HTTP/1.1 client connection: the H1Client machine on a wsi. Requests to one origin run in
 * order on one kept-alive connection (lws reuses a connection the same way); the response body
 * is streamed to the caller as it arrives. `httpFetch` is the convenience that collects it.
 */
import type { Context } from '../../loop/context.js';
import { Wsi } from '../../loop/wsi.js';
import type { ConnectOptions, WsiValidity } from '../../loop/wsi.js';
import { LwsxError } from '../../util/errors.js';
import { utf8Encode } from '../../util/utf8.js';
import { H1Client } from './client.js';
import type { H1ClientEvent, H1ClientOptions } from './client.js';
import type { Headers } from './headers.js';
import type { ResponseHead } from './parser.js';
import type { HeaderList } from './serializer.js';

export class HttpClientError extends LwsxError {}

export interface HttpOrigin {
  host: string;
  port?: number;
  /** true, or TLS options: https */
  tls?: boolean | NonNullable<ConnectOptions<H1ClientEvent>['tls']>;
  resolve?: ConnectOptions<H1ClientEvent>['resolve'];
  timeouts?: ConnectOptions<H1ClientEvent>['timeouts'];
  validity?: WsiValidity;
  limits?: H1ClientOptions['limits'];
}

export interface HttpRequest {
  method?: string;
  /** origin-form target: "/path?query" */
  path?: string;
  headers?: HeaderList;
  body?: Uint8Array | string;
}

export interface HttpResponseHandler {
  onHead?(head: ResponseHead): void;
  onData?(data: Uint8Array): void;
  onEnd?(trailers: Headers | undefined): void;
  onError?(e: LwsxError): void;
}

interface Pending {
  req: HttpRequest;
  h: HttpResponseHandler;
}

export class HttpClientConnection {
  private readonly ctx: Context;
  private readonly origin: HttpOrigin;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private trailers: Headers | undefined;
  private wsi: Wsi<H1ClientEvent> | undefined;
  private machine: H1Client | undefined;
  private connected = false;

  constructor(ctx: Context, origin: HttpOrigin) {
    this.ctx = ctx;
    this.origin = origin;
  }

  /** Queues a request; its response goes to `h`. Connects (again) when needed. */
  request(req: HttpRequest, h: HttpResponseHandler): void {
    this.queue.push({ req, h });
    if (!this.wsi) this.connect();
    else if (this.connected) this.next();
  }

  close(): void {
    this.wsi?.close();
  }

  private connect(): void {
    const o = this.origin;
    const machine = new H1Client(o.limits ? { limits: o.limits } : {});
    this.machine = machine;
    this.connected = false;
    const opts: ConnectOptions<H1ClientEvent> = {
      host: o.host,
      port: o.port ?? (o.tls ? 443 : 80),
      machine,
      name: `http ${o.host}`,
      callbacks: {
        onConnected: () => {
          this.connected = true;
          this.next();
        },
        onEvents: (_w, events) => this.onEvents(events),
        onClose: (_w, err) => this.onClose(err),
      },
    };
    if (o.tls) opts.tls = o.tls === true ? {} : o.tls;
    if (o.resolve) opts.resolve = o.resolve;
    if (o.timeouts) opts.timeouts = o.timeouts;
    if (o.validity) opts.validity = o.validity;
    this.wsi = Wsi.connect(this.ctx, opts);
  }

  private next(): void {
    const machine = this.machine as H1Client;
    if (this.current || !machine.canRequest) return;
    const p = this.queue.shift();
    if (!p) return;
    this.current = p;
    this.trailers = undefined;
    const body = typeof p.req.body === 'string' ? utf8Encode(p.req.body) : p.req.body;
    const headers: Array<readonly [string, string]> = [];
    let host = false;
    for (const f of p.req.headers ?? []) {
      if (f[0].toLowerCase() === 'host') host = true;
      headers.push(f);
    }
    const o = this.origin;
    const defaultPort = o.tls ? 443 : 80;
    if (!host) headers.unshift(['host', o.port && o.port !== defaultPort ? `${o.host}:${o.port}` : o.host]);
    if (body) headers.push(['content-length', String(body.length)]);
    try {
      machine.request({ method: p.req.method ?? 'GET', target: p.req.path ?? '/', headers });
      if (body) {
        if (body.length) machine.send(body);
        machine.end();
      }
    } catch (e) {
      this.current = undefined;
      p.h.onError?.(e instanceof LwsxError ? e : new HttpClientError('ERR_HTTP_REQUEST', String(e), {}, e));
      this.next();
      return;
    }
    this.wsi?.flush();
  }

  private onEvents(events: H1ClientEvent[]): void {
    for (const ev of events) {
      const p = this.current;
      switch (ev.type) {
        case 'head':
          this.wsi?.validityConfirmed();
          p?.h.onHead?.(ev.head);
          break;
        case 'data':
          p?.h.onData?.(ev.data);
          break;
        case 'trailers':
          this.trailers = ev.trailers;
          break;
        case 'end':
          this.current = undefined;
          p?.h.onEnd?.(this.trailers);
          break;
        case 'error':
          this.current = undefined;
          p?.h.onError?.(ev.error);
          break;
        default:
          break;
      }
    }
    if (!this.current && !this.ctx.isDestroyed) this.ctx.defer(() => this.next());
  }

  private onClose(err: LwsxError | undefined): void {
    const p = this.current;
    this.current = undefined;
    this.wsi = undefined;
    if (p) p.h.onError?.(err ?? new HttpClientError('ERR_HTTP_CLOSED', `http ${this.origin.host}: connection closed before the response ended`));
    if (this.ctx.isDestroyed) {
      for (const q of this.queue.splice(0)) q.h.onError?.(new HttpClientError('ERR_HTTP_CLOSED', 'the context was destroyed'));
      return;
    }
    // the server closed a kept-alive connection between requests: the next one reconnects
    if (this.queue.length) {
      if (err && !this.connected) {
        // could not connect at all: every waiting request hears why
        for (const q of this.queue.splice(0)) q.h.onError?.(err);
        return;
      }
      this.connect();
    }
  }
}

export interface FetchedResponse {
  head: ResponseHead;
  body: Uint8Array;
  trailers: Headers | undefined;
}

/** One request on `conn`, the body collected (bounded by `maxBody`, default 8 MiB). */
export function httpFetch(conn: HttpClientConnection, req: HttpRequest, maxBody = 8 * 1024 * 1024): Promise<FetchedResponse> {
  return new Promise((resolve, reject) => {
    let head: ResponseHead | undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    let failed = false;
    conn.request(req, {
      onHead: (h) => { head = h; },
      onData: (d) => {
        size += d.length;
        if (size > maxBody) {
          if (!failed) reject(new HttpClientError('ERR_HTTP_BODY_TOO_LARGE', `response body over ${maxBody} bytes`, { maxBody }));
          failed = true;
          return;
        }
        chunks.push(d.slice());
      },
      onEnd: (trailers) => {
        if (failed) return;
        const body = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) { body.set(c, at); at += c.length; }
        resolve({ head: head as ResponseHead, body, trailers });
      },
      onError: (e) => { if (!failed) reject(e); failed = true; },
    });
  });
}
