/**
 * A WebSocket client: connect a wsi, send the upgrade request through the H1Client machine,
 * check the 101, then hand the connection to a WsSocket (lws's client connect with a ws role).
 */
import type { Context } from '../../loop/context.js';
import { Wsi } from '../../loop/wsi.js';
import type { ConnectOptions, WsiValidity } from '../../loop/wsi.js';
import { LwsxError } from '../../util/errors.js';
import { H1Client } from '../h1/client.js';
import type { H1ClientEvent } from '../h1/client.js';
import type { ResponseHead } from '../h1/parser.js';
import type { WsConnectionOptions } from './connection.js';
import { WsHandshakeError } from './errors.js';
import { ClientHandshake } from './handshake.js';
import type { HeaderList } from './handshake.js';
import type { DeflateOptions } from './extensions.js';
import { WsSocket } from './ws-socket.js';
import type { WsHandlers } from './ws-socket.js';

export interface WsClientOptions {
  host: string;
  port?: number;
  path?: string;
  tls?: boolean | NonNullable<ConnectOptions<H1ClientEvent>['tls']>;
  protocols?: readonly string[];
  origin?: string;
  headers?: HeaderList;
  resolve?: ConnectOptions<H1ClientEvent>['resolve'];
  timeouts?: ConnectOptions<H1ClientEvent>['timeouts'];
  validity?: WsiValidity;
  /** offer permessage-deflate with these parameters, or these offers in preference order (only when the host can compress) */
  deflate?: DeflateOptions | readonly DeflateOptions[];
  /** limits and behaviour of the WebSocket once open */
  connection?: Omit<WsConnectionOptions, 'role' | 'random' | 'protocol' | 'extensions' | 'deflater'>;
}

function pairs(head: ResponseHead): Array<[string, string]> {
  const f = head.headers.fields;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < f.length; i += 2) out.push([f[i] as string, f[i + 1] as string]);
  return out;
}

/**
 * Opens a WebSocket. Failures before it opens (DNS, TCP, TLS, a refused or invalid handshake)
 * arrive as onClose with code 1006 and a typed error.
 */
export function wsConnect(ctx: Context, opts: WsClientOptions, handlers: WsHandlers): void {
  const port = opts.port ?? (opts.tls ? 443 : 80);
  const defaultPort = opts.tls ? 443 : 80;
  const hsOpts: ConstructorParameters<typeof ClientHandshake>[0] = {
    host: port === defaultPort ? opts.host : `${opts.host}:${port}`,
    path: opts.path ?? '/',
    random: (into) => ctx.host.random(into),
  };
  if (opts.protocols) hsOpts.protocols = opts.protocols;
  if (opts.origin) hsOpts.origin = opts.origin;
  if (opts.headers) hsOpts.headers = opts.headers;
  if (opts.deflate && ctx.host.deflater) hsOpts.deflate = opts.deflate;
  const hs = new ClientHandshake(hsOpts);
  const h1 = new H1Client();
  let head: ResponseHead | undefined;
  let done = false;
  const fail = (err: LwsxError): void => {
    if (done) return;
    done = true;
    handlers.onClose?.(undefined, 1006, '', err);
  };
  const copts: ConnectOptions<H1ClientEvent> = {
    host: opts.host,
    port,
    machine: h1,
    name: `ws ${opts.host}`,
    callbacks: {
      onConnected: (wsi) => {
        h1.request({ method: 'GET', target: hs.request.target, headers: hs.request.headers });
        wsi.flush();
      },
      onEvents: (wsi, events) => {
        for (const ev of events) {
          if (ev.type === 'head') head = ev.head;
          else if (ev.type === 'upgrade') {
            if (done) return;
            try {
              const res = head as ResponseHead;
              const neg = hs.validateResponse({ status: res.status, reason: res.reason, headers: pairs(res) });
              done = true;
              const co: WsConnectionOptions = { ...opts.connection, role: 'client', random: (into) => ctx.host.random(into) };
              if (neg.protocol !== undefined) co.protocol = neg.protocol;
              if (neg.extensions !== undefined) co.extensions = neg.extensions;
              if (neg.deflate && ctx.host.deflater) co.deflater = ctx.host.deflater(neg.deflate, 'client');
              new WsSocket(ctx, wsi, co, handlers, ev.rest);
            } catch (e) {
              fail(e instanceof LwsxError ? e : new WsHandshakeError('ERR_WS_HS_STATUS', String(e), undefined));
              wsi.close();
            }
            return;
          } else if (ev.type === 'end' || ev.type === 'error') {
            // a final response that was not a 101: the server refused the upgrade
            const status = head?.status;
            fail(ev.type === 'error' ? ev.error : new WsHandshakeError('ERR_WS_HS_STATUS', `server answered ${status} instead of 101`, undefined, { status }));
            wsi.close();
            return;
          }
        }
      },
      onClose: (_w, err) => {
        if (!done) fail(err ?? new WsHandshakeError('ERR_WS_HS_CLOSED', 'connection closed during the handshake', undefined));
      },
    },
  };
  if (opts.tls) copts.tls = opts.tls === true ? {} : opts.tls;
  if (opts.resolve) copts.resolve = opts.resolve;
  if (opts.timeouts) copts.timeouts = opts.timeouts;
  if (opts.validity) copts.validity = opts.validity;
  Wsi.connect(ctx, copts);
}
