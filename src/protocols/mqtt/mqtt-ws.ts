/**
 * MQTT over WebSocket (MQTT 5.0 §6, subprotocol "mqtt"): the HTTP upgrade on a wsi, then one
 * machine that is the WebSocket connection carrying the MQTT session, so the wsi pumps both
 * at once: MQTT packets leave as binary messages, binary messages feed the session's streaming
 * decoder (a packet may span messages, a message hold several), keep-alive pings are MQTT
 * PINGREQs, and when the session is done the WebSocket closing handshake ends the connection.
 */
import type { Context } from '../../loop/context.js';
import { Wsi } from '../../loop/wsi.js';
import type { ConnectOptions, WsiCallbacks, WsiMachine, WsiValidity } from '../../loop/wsi.js';
import { LwsxError } from '../../util/errors.js';
import { H1Client } from '../h1/client.js';
import type { H1ClientEvent } from '../h1/client.js';
import type { ResponseHead } from '../h1/parser.js';
import { WsConnection } from '../ws/connection.js';
import { WsHandshakeError } from '../ws/errors.js';
import { ClientHandshake } from '../ws/handshake.js';
import type { HeaderList } from '../ws/handshake.js';
import { MqttError } from './mqtt-error.js';
import type { MqttSession, MqttSessionEvent } from './session.js';

/** The WebSocket subprotocol MQTT registers (§6.0). */
export const MQTT_WS_PROTOCOL = 'mqtt';

export class MqttOverWs implements WsiMachine<MqttSessionEvent> {
  constructor(
    readonly session: MqttSession,
    readonly conn: WsConnection,
    private readonly clock: () => number,
  ) {}

  receive(bytes: Uint8Array, nowUs: number): MqttSessionEvent[] {
    const out: MqttSessionEvent[] = [];
    for (const ev of this.conn.receive(bytes, nowUs)) {
      if (ev.type === 'message') {
        if (!ev.binary) {
          // §6.0: anything but binary frames closes the connection
          out.push({ type: 'error', error: new MqttError('ERR_MQTT_WS_TEXT', 'the broker sent a text message; MQTT goes in binary messages only', undefined, 'client') });
          this.conn.close(nowUs, 1003);
          break;
        }
        for (const e of this.session.receive(ev.data, nowUs)) out.push(e);
      } else if (ev.type === 'error') out.push({ type: 'error', error: ev.error });
    }
    return out;
  }

  pendingOutput(): Uint8Array[] {
    const mqtt = this.session.pendingOutput();
    if (this.conn.state === 'open') {
      for (const b of mqtt) this.conn.sendBinary(b);
      if (this.session.closed) this.conn.close(this.clock(), 1000);
    }
    return this.conn.pendingOutput();
  }

  nextDeadlineUs(): number | undefined {
    const a = this.session.nextDeadlineUs();
    const b = this.conn.nextDeadlineUs();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  onTimer(nowUs: number): MqttSessionEvent[] {
    const out = this.session.onTimer(nowUs);
    for (const ev of this.conn.onTimer(nowUs)) if (ev.type === 'error') out.push({ type: 'error', error: ev.error });
    return out;
  }

  validityPing(nowUs: number): void {
    this.session.validityPing(nowUs);
  }

  get closed(): boolean {
    return this.conn.state === 'closed';
  }
}

export interface MqttWsDial {
  host: string;
  port: number;
  /** request target, default "/mqtt" */
  path?: string;
  origin?: string;
  headers?: HeaderList;
  tls?: ConnectOptions<unknown>['tls'];
  resolve?: ConnectOptions<unknown>['resolve'];
  timeouts?: ConnectOptions<unknown>['timeouts'];
  validity?: WsiValidity;
  /** largest WebSocket message taken from the broker */
  maxMessageSize: number;
}

function pairs(head: ResponseHead): Array<[string, string]> {
  const f = head.headers.fields;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < f.length; i += 2) out.push([f[i] as string, f[i + 1] as string]);
  return out;
}

/**
 * Dials, upgrades to a WebSocket speaking "mqtt", then hands the wsi to `cb` with an
 * MqttOverWs machine: `cb.onConnected` runs once the WebSocket is open (start the session
 * there). A failed dial or refused upgrade reaches `cb.onClose` with the typed error.
 */
export function connectMqttWs(ctx: Context, d: MqttWsDial, session: MqttSession, cb: WsiCallbacks<MqttSessionEvent>): Wsi<unknown> {
  const dflt = d.tls ? 443 : 80;
  const hs = new ClientHandshake({
    host: d.port === dflt ? d.host : `${d.host}:${d.port}`,
    path: d.path ?? '/mqtt',
    protocols: [MQTT_WS_PROTOCOL],
    random: (into) => ctx.host.random(into),
    ...(d.origin !== undefined ? { origin: d.origin } : {}),
    ...(d.headers !== undefined ? { headers: d.headers } : {}),
  });
  const h1 = new H1Client();
  let head: ResponseHead | undefined;
  let upgraded = false;
  const opts: ConnectOptions<H1ClientEvent> = {
    host: d.host,
    port: d.port,
    machine: h1,
    name: `mqtt-ws ${d.host}`,
    callbacks: {
      onConnected: () => h1.request({ method: 'GET', target: hs.request.target, headers: hs.request.headers }),
      onEvents: (w, events) => {
        for (const ev of events) {
          if (ev.type === 'head') head = ev.head;
          else if (ev.type === 'upgrade') {
            try {
              const res = head as ResponseHead;
              const neg = hs.validateResponse({ status: res.status, reason: res.reason, headers: pairs(res) });
              if (neg.protocol !== MQTT_WS_PROTOCOL) throw new WsHandshakeError('ERR_WS_HS_PROTOCOL', `the server did not agree to subprotocol "${MQTT_WS_PROTOCOL}"`, undefined, { protocol: neg.protocol });
            } catch (e) {
              w.close(e instanceof LwsxError ? e : new WsHandshakeError('ERR_WS_HS_STATUS', String(e), undefined));
              return;
            }
            upgraded = true;
            const now = ctx.nowUs();
            const conn = new WsConnection({ role: 'client', random: (into) => ctx.host.random(into), protocol: MQTT_WS_PROTOCOL, maxMessageSize: d.maxMessageSize });
            conn.open(now);
            const m = new MqttOverWs(session, conn, () => ctx.nowUs());
            const mw = w.switchProtocol(m, cb);
            cb.onConnected?.(mw);
            if (ev.rest.length) {
              const more = m.receive(ev.rest, now);
              if (more.length) cb.onEvents(mw, more);
            }
            mw.flush();
            return;
          } else if (ev.type === 'end' || ev.type === 'error') {
            w.close(ev.type === 'error' ? ev.error : new WsHandshakeError('ERR_WS_HS_STATUS', `server answered ${head?.status} instead of 101`, undefined, { status: head?.status }));
            return;
          }
        }
      },
      onClose: (w, err) => {
        if (!upgraded) cb.onClose(w as unknown as Wsi<MqttSessionEvent>, err ?? new WsHandshakeError('ERR_WS_HS_CLOSED', 'connection closed during the handshake', undefined));
      },
    },
  };
  if (d.tls) opts.tls = d.tls;
  if (d.resolve) opts.resolve = d.resolve;
  if (d.timeouts) opts.timeouts = d.timeouts;
  if (d.validity) opts.validity = d.validity;
  return Wsi.connect(ctx, opts);
}
