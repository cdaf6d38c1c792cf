/**
 * An MQTT client on the loop: an MqttSession on a wsi over TCP, TLS, WebSocket or secure
 * WebSocket, reconnecting with the retry policy's backoff (lws retry tables, jitter and
 * conceal) for as long as the policy conceals failures, the session (in-flight messages,
 * subscriptions) carried across connections.
 *
 * - Keep-alive is the wsi's connection validity, as lws: after `secsSinceValidPing` with
 *   nothing heard the session sends PINGREQ, after `secsSinceValidHangup` the wsi hangs up with
 *   ERR_VALIDITY_TIMEOUT (a broker that stopped without a FIN) and the client reconnects. By
 *   default these are the keep-alive and 1.5 times it; anything received is proof of life.
 *   The session itself also sends PINGREQ when it has sent nothing for a keep-alive period,
 *   which is what the broker needs to keep us.
 * - Client id, user name and password come from the options, else from the MQTT_CLIENT_ID,
 *   MQTT_USERNAME and MQTT_PASSWORD blobs; with no client id anywhere, one is made from the
 *   host's entropy once per client (so reconnects resume the same session).
 * - Writes are batched: what publish()/subscribe() queue leaves on the next loop turn, in one
 *   write per turn, however many messages were published in it.
 * - No promises: results arrive as handler calls on the loop.
 */
import type { Context } from '../../loop/context.js';
import { RETRY_CONCEAL_ALWAYS, getDelayMs, makeRetryPolicy, RetryState } from '../../loop/retry.js';
import type { RetryPolicy } from '../../loop/retry.js';
import { Sul } from '../../loop/sul.js';
import { Wsi } from '../../loop/wsi.js';
import type { ConnectOptions, WsiCallbacks, WsiValidity } from '../../loop/wsi.js';
import { BlobType } from '../../system/blob.js';
import { SysState } from '../../system/states.js';
import { LwsxError, UsageError } from '../../util/errors.js';
import { utf8Encode } from '../../util/utf8.js';
import type { HeaderList } from '../ws/handshake.js';
import { DEFAULT_MAX_PACKET_SIZE } from './decoder.js';
import type { MqttError } from './mqtt-error.js';
import { connectMqttWs } from './mqtt-ws.js';
import type { QoS, Subscription } from './packet.js';
import type { MqttProperties } from './properties.js';
import { MqttSession } from './session.js';
import type { MqttInboundMessage, MqttSessionEvent, MqttSessionOptions, ServerLimits } from './session.js';

export type MqttTransport = 'tcp' | 'tls' | 'ws' | 'wss';

export const DEFAULT_PORTS: Readonly<Record<MqttTransport, number>> = { tcp: 1883, tls: 8883, ws: 80, wss: 443 };

/** Where the broker is and how to reach it: what makes two connections the same (see binding.ts). */
export interface MqttEndpoint {
  host: string;
  /** default 1883 (tcp), 8883 (tls), 80 (ws), 443 (wss) */
  port?: number;
  /** default 'tcp' */
  transport?: MqttTransport;
  /** TLS settings for 'tls' and 'wss' (trust, client certificate, servername, verify) */
  tls?: NonNullable<ConnectOptions<unknown>['tls']>;
  /** WebSocket request target, default "/mqtt" */
  path?: string;
  /** WebSocket: extra request headers */
  headers?: HeaderList;
  /** turns a name into addresses (the device's DNS resolver); numeric hosts need none */
  resolve?: ConnectOptions<unknown>['resolve'];
  timeouts?: ConnectOptions<unknown>['timeouts'];
}

export interface MqttClientOptions extends MqttEndpoint, Omit<MqttSessionOptions, 'clientId' | 'username' | 'password'> {
  /** default: the MQTT_CLIENT_ID blob, else "lwsx" and 16 random hex digits */
  clientId?: string;
  /** default: the MQTT_USERNAME blob, if set */
  username?: string;
  /** default: the MQTT_PASSWORD blob, if set */
  password?: string | Uint8Array;
  /** reconnect backoff (lws_retry_bo_t); default 1, 2, 5, 10, 30 s, never giving up */
  retry?: RetryPolicy;
  /** connection validity; default the retry policy's, else keep-alive and 1.5 × keep-alive */
  validity?: WsiValidity;
}

export interface MqttConnectInfo {
  sessionPresent: boolean;
  clientId: string;
  server: ServerLimits;
  properties: MqttProperties | undefined;
}

export type MqttClientState = 'connecting' | 'connected' | 'waiting' | 'closing' | 'closed';

export interface MqttClientHandlers {
  /** a CONNACK accepted us (each connection) */
  onConnect?(c: MqttClient, info: MqttConnectInfo): void;
  onMessage?(c: MqttClient, m: MqttInboundMessage): void;
  /** a QoS 1/2 publish completed: `error` when the broker refused it */
  onPublished?(c: MqttClient, id: number, error: MqttError | undefined): void;
  /** a message will never be sent or completed (queue overflow, expiry, the broker's limits, the client ending: 'closed') */
  onDropped?(c: MqttClient, ev: Extract<MqttSessionEvent, { type: 'dropped' }>): void;
  onSuback?(c: MqttClient, ev: Extract<MqttSessionEvent, { type: 'suback' }>): void;
  onUnsuback?(c: MqttClient, ev: Extract<MqttSessionEvent, { type: 'unsuback' }>): void;
  /** a connection ended (or an attempt failed): why, and in how many ms the next attempt is (undefined: none) */
  onDisconnect?(c: MqttClient, err: LwsxError | undefined, retryInMs: number | undefined): void;
  /** the client is finished: after end() (err undefined), or when the retry policy gives up */
  onClose?(c: MqttClient, err: LwsxError | undefined): void;
}

/** Default backoff: lws-style table, always concealed (a device keeps trying its broker). */
export const DEFAULT_MQTT_RETRY = makeRetryPolicy({ table: [1000, 2000, 5000, 10000, 30000], conceal: RETRY_CONCEAL_ALWAYS });

/** "lwsx" + 16 hex digits: 20 characters from the set every 3.1.1 server must accept. */
export function randomClientId(random: (into: Uint8Array) => void): string {
  const b = new Uint8Array(8);
  random(b);
  let s = 'lwsx';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

export class MqttClient {
  readonly session: MqttSession;
  readonly transport: MqttTransport;
  readonly port: number;
  private readonly ctx: Context;
  private readonly opts: MqttClientOptions;
  private readonly h: MqttClientHandlers;
  private readonly retry = new RetryState();
  private readonly retryPolicy: RetryPolicy;
  private readonly retrySul = new Sul();
  private readonly validity: WsiValidity | undefined;
  private wsi: Wsi<unknown> | undefined;
  private stateNow: MqttClientState = 'connecting';
  private lastError: LwsxError | undefined;
  private flushQueued = false;
  private attemptsNow = 0;

  constructor(ctx: Context, opts: MqttClientOptions, handlers: MqttClientHandlers = {}) {
    this.ctx = ctx;
    this.opts = opts;
    this.h = handlers;
    if (typeof opts?.host !== 'string' || opts.host === '') throw new UsageError('ERR_MQTT_OPTIONS', 'mqtt: host must be a non-empty string', { field: 'host' });
    const transport = opts.transport ?? 'tcp';
    if (!(transport in DEFAULT_PORTS)) throw new UsageError('ERR_MQTT_OPTIONS', `mqtt: transport must be tcp, tls, ws or wss, not ${String(transport)}`, { field: 'transport' });
    this.transport = transport;
    const port = opts.port ?? DEFAULT_PORTS[transport];
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('ERR_MQTT_OPTIONS', `mqtt: port must be 1..65535, not ${String(port)}`, { field: 'port' });
    this.port = port;
    this.retryPolicy = opts.retry ?? DEFAULT_MQTT_RETRY;
    const blobs = ctx.system.blobs;
    const blobText = (t: BlobType): string | undefined => {
      const b = blobs.get(t);
      return b.size ? b.text() : undefined;
    };
    const { host: _h, port: _p, transport: _t, tls: _tls, path: _path, headers: _hd, resolve: _r, timeouts: _to, retry: _retry, validity: _v, clientId, username, password, ...sessionOpts } = opts;
    const so: MqttSessionOptions = { ...sessionOpts, clientId: clientId ?? blobText(BlobType.MQTT_CLIENT_ID) ?? randomClientId((into) => ctx.host.random(into)) };
    const user = username ?? blobText(BlobType.MQTT_USERNAME);
    if (user !== undefined) so.username = user;
    const pwBlob = blobs.get(BlobType.MQTT_PASSWORD);
    const pw = password ?? (pwBlob.size ? pwBlob.get().slice() : undefined);
    if (pw !== undefined) so.password = typeof pw === 'string' ? utf8Encode(pw) : pw;
    this.session = new MqttSession(so);
    const keepAlive = opts.keepAlive ?? 60;
    const rp = this.retryPolicy;
    this.validity =
      opts.validity ??
      (rp.secsSinceValidPing > 0 && rp.secsSinceValidHangup > 0
        ? { secsSinceValidPing: rp.secsSinceValidPing, secsSinceValidHangup: rp.secsSinceValidHangup }
        : keepAlive > 0
          ? { secsSinceValidPing: keepAlive, secsSinceValidHangup: Math.ceil(keepAlive * 1.5) }
          : undefined);
    this.connect();
  }

  get state(): MqttClientState {
    return this.stateNow;
  }

  get connected(): boolean {
    return this.stateNow === 'connected';
  }

  /** Connection attempts so far. */
  get attempts(): number {
    return this.attemptsNow;
  }

  /** Bytes written but not yet taken by the socket: a slow broker shows here. */
  get bufferedAmount(): number {
    return this.wsi && !this.wsi.isClosed ? this.wsi.backlogBytes : 0;
  }

  /** Publishes (or queues while offline); returns the id onPublished / onDropped name. */
  publish(topic: string, payload: Uint8Array | string, opts: { qos?: QoS; retain?: boolean; properties?: MqttProperties } = {}): number {
    this.checkOpen();
    const m = { topic, payload: typeof payload === 'string' ? utf8Encode(payload) : payload, ...opts };
    const id = this.session.publish(m, this.ctx.nowUs());
    this.scheduleFlush();
    return id;
  }

  /** Subscribes one filter at `qos`, or several with their options; returns the onSuback id. */
  subscribe(filter: string | Subscription[], qos: QoS = 0, properties?: MqttProperties): number {
    this.checkOpen();
    const subs = typeof filter === 'string' ? [{ filter, qos }] : filter;
    const id = this.session.subscribe(subs, this.ctx.nowUs(), properties);
    this.scheduleFlush();
    return id;
  }

  unsubscribe(filters: string | string[], properties?: MqttProperties): number {
    this.checkOpen();
    const id = this.session.unsubscribe(typeof filters === 'string' ? [filters] : filters, this.ctx.nowUs(), properties);
    this.scheduleFlush();
    return id;
  }

  /**
   * Ends the client: DISCONNECT (5.0: `reasonCode`, 0x04 to have the will published anyway),
   * the socket closes once it is written, no more reconnects; onClose follows.
   */
  end(reasonCode = 0): void {
    if (this.stateNow === 'closing' || this.stateNow === 'closed') return;
    this.ctx.cancel(this.retrySul);
    const w = this.wsi;
    const phase = this.session.phase;
    if (w && !w.isClosed && (phase === 'connected' || phase === 'connecting')) {
      this.stateNow = 'closing';
      this.session.disconnect(this.ctx.nowUs(), reasonCode);
      w.flush();
      if (!w.isClosed) w.callOnWritable();
      return;
    }
    this.stateNow = 'closing';
    if (w && !w.isClosed) w.close();
    else this.finish(undefined);
  }

  private checkOpen(): void {
    if (this.stateNow === 'closing' || this.stateNow === 'closed') throw new UsageError('ERR_MQTT_CLOSED', 'mqtt: the client has been ended');
  }

  private scheduleFlush(): void {
    if (this.flushQueued || this.ctx.isDestroyed) return;
    this.flushQueued = true;
    this.ctx.defer(() => {
      this.flushQueued = false;
      const w = this.wsi;
      if (w && !w.isClosed) w.flush();
      this.dispatch(this.session.takeEvents());
    });
  }

  private connect(): void {
    this.stateNow = 'connecting';
    this.attemptsNow++;
    this.lastError = undefined;
    const cb: WsiCallbacks<MqttSessionEvent> = {
      onConnected: () => this.session.startConnection(this.ctx.nowUs()),
      onEvents: (w, events) => {
        this.dispatch(events);
        // the session is done with this connection: close once what it said is written
        if (this.session.closed && !w.isClosed) w.callOnWritable();
      },
      onWritable: (w) => {
        if (this.session.closed) w.flush();
      },
      onClose: (w, err) => {
        if (w === this.wsi) this.connectionEnded(err);
      },
    };
    const o = this.opts;
    const secure = this.transport === 'tls' || this.transport === 'wss';
    const tls = secure ? (o.tls ?? {}) : undefined;
    if (this.transport === 'ws' || this.transport === 'wss') {
      this.wsi = connectMqttWs(
        this.ctx,
        {
          host: o.host,
          port: this.port,
          maxMessageSize: 2 * (o.maximumPacketSize ?? DEFAULT_MAX_PACKET_SIZE),
          ...(o.path !== undefined ? { path: o.path } : {}),
          ...(o.headers !== undefined ? { headers: o.headers } : {}),
          ...(tls ? { tls } : {}),
          ...(o.resolve ? { resolve: o.resolve } : {}),
          ...(o.timeouts ? { timeouts: o.timeouts } : {}),
          ...(this.validity ? { validity: this.validity } : {}),
        },
        this.session,
        cb,
      );
      return;
    }
    const co: ConnectOptions<MqttSessionEvent> = { host: o.host, port: this.port, machine: this.session, callbacks: cb, name: `mqtt ${o.host}:${this.port}` };
    if (tls) co.tls = tls;
    if (o.resolve) co.resolve = o.resolve;
    if (o.timeouts) co.timeouts = o.timeouts;
    if (this.validity) co.validity = this.validity;
    this.wsi = Wsi.connect(this.ctx, co) as Wsi<unknown>;
  }

  private dispatch(events: MqttSessionEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'connack':
          this.stateNow = 'connected';
          // lws: a connection that came up resets the backoff
          this.retry.reset();
          this.h.onConnect?.(this, { sessionPresent: ev.sessionPresent, clientId: ev.clientId, server: ev.server, properties: ev.properties });
          break;
        case 'message':
          this.h.onMessage?.(this, ev.message);
          break;
        case 'published':
          this.h.onPublished?.(this, ev.id, ev.error);
          break;
        case 'dropped':
          this.h.onDropped?.(this, ev);
          break;
        case 'suback':
          this.h.onSuback?.(this, ev);
          break;
        case 'unsuback':
          this.h.onUnsuback?.(this, ev);
          break;
        case 'error':
          this.lastError = ev.error;
          break;
        default:
          break;
      }
    }
  }

  private connectionEnded(err: LwsxError | undefined): void {
    this.wsi = undefined;
    const why = err ?? this.lastError ?? this.session.error;
    this.session.connectionLost();
    // what end() or a user's disconnect left to say
    this.dispatch(this.session.takeEvents());
    if (this.stateNow === 'closing' || this.stateNow === 'closed') {
      this.finish(undefined);
      return;
    }
    if (this.ctx.isDestroyed || this.ctx.system.state.state === SysState.CONTEXT_DESTROYING) {
      this.h.onDisconnect?.(this, why, undefined);
      this.finish(why);
      return;
    }
    const d = getDelayMs(this.retryPolicy, this.retry, this.ctx.random16);
    if (!d.conceal) {
      this.h.onDisconnect?.(this, why, undefined);
      this.finish(new LwsxError('ERR_MQTT_ALL_RETRIES_FAILED', `mqtt: giving up on ${this.opts.host}:${this.port} after ${this.retry.count} failures${why ? `: ${why.message}` : ''}`, { host: this.opts.host, port: this.port, failures: this.retry.count, cause: why?.code }, why));
      return;
    }
    this.stateNow = 'waiting';
    this.ctx.scheduleAt(this.retrySul, this.ctx.nowUs() + d.ms * 1000, () => {
      if (this.stateNow === 'waiting') this.connect();
    });
    this.h.onDisconnect?.(this, why, d.ms);
  }

  /** Finished: what was never completed is reported dropped (ERR_MQTT_CLOSED) before onClose. */
  private finish(err: LwsxError | undefined): void {
    if (this.stateNow === 'closed') return;
    this.stateNow = 'closed';
    this.session.abandon();
    this.dispatch(this.session.takeEvents());
    this.h.onClose?.(this, err);
  }
}
