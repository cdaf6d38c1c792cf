/**
 * An HTTP/1.1 server on a vhost: each accepted connection is an H1Server machine on a wsi;
 * each request is routed through the mount table. A callback mount gets an HttpExchange: the
 * request head, its body streamed (onData/onEnd), and respond/send/end for the answer.
 */
import type { Context } from '../../loop/context.js';
import { Wsi } from '../../loop/wsi.js';
import type { AcceptedTCP, Listener, ListenOptions } from '../../net/host.js';
import type { LwsxError } from '../../util/errors.js';
import { utf8Encode } from '../../util/utf8.js';
import type { Headers } from './headers.js';
import { contentType, matchMount, mountRelativePath } from './mount.js';
import type { Mount } from './mount.js';
import type { RequestHead } from './parser.js';
import type { HeaderList } from './serializer.js';
import { H1Server } from './server.js';
import type { WsConnectionOptions } from '../ws/connection.js';
import { WsHandshakeError } from '../ws/errors.js';
import { acceptHandshake, refusal } from '../ws/handshake.js';
import { WsSocket } from '../ws/ws-socket.js';
import type { H1ServerEvent, H1ServerOptions } from './server.js';

/** One request and its answer. */
export class HttpExchange {
  readonly head: RequestHead;
  onData: ((d: Uint8Array) => void) | undefined;
  onEnd: ((trailers: Headers | undefined) => void) | undefined;
  /** the request was upgraded (101 sent): the connection's remaining bytes belong to the new protocol */
  onUpgrade: ((rest: Uint8Array, wsi: Wsi<H1ServerEvent>) => void) | undefined;
  private readonly conn: HttpConnection;

  constructor(conn: HttpConnection, head: RequestHead) {
    this.conn = conn;
    this.head = head;
  }

  get path(): string {
    return this.head.url.path;
  }

  get query(): string {
    return this.head.url.query ?? '';
  }

  sendContinue(): void {
    // the client may be gone by the time an asynchronous answer is ready
    if (this.conn.wsi.isClosed) return;
    this.conn.machine.sendContinue();
    this.conn.pump();
  }

  respond(status: number, headers: HeaderList = [], reason?: string): void {
    // the client may be gone by the time an asynchronous answer is ready
    if (this.conn.wsi.isClosed) return;
    this.conn.machine.respond(reason === undefined ? { status, headers } : { status, headers, reason });
    this.conn.pump();
  }

  send(data: Uint8Array | string): void {
    // the client may be gone by the time an asynchronous answer is ready
    if (this.conn.wsi.isClosed) return;
    this.conn.machine.send(typeof data === 'string' ? utf8Encode(data) : data);
    this.conn.pump();
  }

  end(trailers?: HeaderList): void {
    // the client may be gone by the time an asynchronous answer is ready
    if (this.conn.wsi.isClosed) return;
    this.conn.machine.end(trailers);
    this.conn.pump();
  }

  /** A whole response in one call, with Content-Length: head and body leave in one write. */
  reply(status: number, body: Uint8Array | string, headers: HeaderList = []): void {
    // the client may be gone by the time an asynchronous answer is ready
    if (this.conn.wsi.isClosed) return;
    const b = typeof body === 'string' ? utf8Encode(body) : body;
    const m = this.conn.machine;
    m.respond({ status, headers: [...headers, ['content-length', String(b.length)]] });
    if (b.length) m.send(b);
    m.end();
    this.conn.pump();
  }

  /** Stop reading this connection until resume() (backpressure from a slow consumer). */
  pause(): void {
    this.conn.wsi.pauseRx();
  }

  resume(): void {
    this.conn.wsi.resumeRx();
  }
}

interface HttpConnection {
  machine: H1Server;
  wsi: Wsi<H1ServerEvent>;
  exchange: HttpExchange | undefined;
  /**
   * After the user answered: handle what the answer produced (a 101 yields 'upgrade', which
   * must switch the wsi before the flush sees an HTTP machine that is finished), then send.
   */
  pump(): void;
}

export interface HttpServerOptions {
  /** the vhost's name, for logs */
  name?: string;
  listen: Omit<ListenOptions, 'onReadable' | 'onError'>;
  mounts: Mount[];
  h1?: H1ServerOptions;
  onError?(e: LwsxError): void;
}

export class HttpServer {
  readonly name: string;
  readonly listener: Listener;
  private readonly ctx: Context;
  private readonly opts: HttpServerOptions;
  private readonly conns = new Set<HttpConnection>();
  /**
   * Upgraded connections belong to their new protocol, which replaced the wsi's callbacks (so
   * no onClose reaches us): kept only so close() can end them, and pruned once closed.
   */
  private readonly upgraded = new Set<Wsi<H1ServerEvent>>();
  private closed = false;

  constructor(ctx: Context, opts: HttpServerOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.name = opts.name ?? 'default';
    this.listener = ctx.host.listener({
      ...opts.listen,
      onReadable: () => this.accept(),
      onError: (e?: Error) => ctx.logger.err('vhost', `${this.name}: listener failed: ${e?.message ?? ''}`),
    });
    ctx.track(this);
  }

  get port(): number {
    return this.listener.port;
  }

  /** live connections, HTTP and upgraded */
  get connections(): number {
    let n = this.conns.size;
    for (const w of this.upgraded) if (!w.isClosed) n++;
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.untrack(this);
    this.listener.close();
    for (const c of [...this.conns]) c.wsi.close();
    for (const w of [...this.upgraded]) w.close();
  }

  private accept(): void {
    for (const w of this.upgraded) if (w.isClosed) this.upgraded.delete(w);
    for (let a: AcceptedTCP | undefined = this.listener.read(); a; a = this.listener.read()) {
      if (this.closed) return;
      const machine = new H1Server(this.ctx.nowUs(), this.opts.h1);
      const conn = { machine, exchange: undefined } as unknown as HttpConnection;
      conn.pump = () => {
        const ev = machine.pollEvents();
        if (ev.length) this.onEvents(conn, ev);
        else conn.wsi.flush();
      };
      conn.wsi = Wsi.adopt(this.ctx, a, {
        machine,
        name: `${this.name} http`,
        callbacks: {
          onEvents: (_w, events) => this.onEvents(conn, events),
          onClose: () => {
            this.conns.delete(conn);
          },
        },
      });
      this.conns.add(conn);
    }
  }

  private onEvents(conn: HttpConnection, events: H1ServerEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'head':
          conn.exchange = new HttpExchange(conn, ev.head);
          this.route(conn.exchange);
          break;
        case 'data':
          conn.exchange?.onData?.(ev.data);
          break;
        case 'end':
          conn.exchange?.onEnd?.(undefined);
          break;
        case 'trailers':
          conn.exchange?.onEnd?.(ev.trailers);
          if (conn.exchange) conn.exchange.onEnd = undefined;
          break;
        case 'upgrade':
          this.conns.delete(conn);
          this.upgraded.add(conn.wsi);
          conn.exchange?.onUpgrade?.(ev.rest, conn.wsi);
          break;
        case 'error':
          this.opts.onError?.(ev.error);
          break;
        case 'close':
          break;
      }
    }
    conn.wsi.flush();
  }

  private route(x: HttpExchange): void {
    const m = matchMount(this.opts.mounts, x.path);
    if (!m) {
      x.reply(404, 'not found\n', [['content-type', 'text/plain']]);
      return;
    }
    switch (m.kind) {
      case 'callback':
        try {
          m.handler(x);
        } catch (e) {
          this.ctx.logger.err('vhost', `${this.name}: handler for ${m.prefix} threw: ${(e as Error)?.message ?? e}`);
          x.reply(500, 'internal error\n', [['content-type', 'text/plain']]);
        }
        return;
      case 'redirect':
        x.reply(m.status ?? 302, '', [['location', m.location + x.path.slice(m.prefix.length)]]);
        return;
      case 'ws': {
        const h = x.head;
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < h.headers.fields.length; i += 2) pairs.push([h.headers.fields[i] as string, h.headers.fields[i + 1] as string]);
        try {
          const deflater = this.ctx.host.deflater;
          const hsOpts: Parameters<typeof acceptHandshake>[1] = {};
          if (m.protocols) hsOpts.protocols = m.protocols;
          if (m.deflate && deflater) hsOpts.deflate = m.deflate;
          const hs = acceptHandshake({ method: h.method, target: h.target, version: h.version, headers: pairs }, hsOpts);
          const handlers = m.handlers(x);
          const co: WsConnectionOptions = { ...m.connection, role: 'server' };
          if (hs.negotiated.protocol !== undefined) co.protocol = hs.negotiated.protocol;
          if (hs.negotiated.extensions !== undefined) co.extensions = hs.negotiated.extensions;
          if (hs.negotiated.deflate && deflater) co.deflater = deflater.call(this.ctx.host, hs.negotiated.deflate, 'server');
          x.onUpgrade = (rest, wsi) => new WsSocket(this.ctx, wsi, co, handlers, rest);
          x.respond(101, hs.response.headers);
        } catch (e) {
          if (!(e instanceof WsHandshakeError)) throw e;
          const r = refusal(e);
          x.reply(r.status, `${e.message}\n`, r.headers);
        }
        return;
      }
      case 'files': {
        if (x.head.method !== 'GET' && x.head.method !== 'HEAD') {
          x.reply(405, 'method not allowed\n', [['allow', 'GET, HEAD']]);
          return;
        }
        const rel = mountRelativePath(m.prefix, x.path, m.defaultFile);
        if (rel === undefined) {
          x.reply(403, 'forbidden\n');
          return;
        }
        m.source.read(rel).then(
          (bytes) => {
            if (bytes === undefined) x.reply(404, 'not found\n', [['content-type', 'text/plain']]);
            else x.reply(200, bytes, [['content-type', contentType(rel)]]);
          },
          () => x.reply(500, 'read failed\n'),
        );
        return;
      }
    }
  }
}
