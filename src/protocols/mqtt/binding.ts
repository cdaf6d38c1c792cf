/**
 * Stream binding, as libwebsockets' Secure Streams do for MQTT: several logical streams to the
 * same broker endpoint share one connection (one TCP/TLS session, one MQTT session), each with
 * its own subscriptions and lifecycle.
 *
 * - Connections are kept per Context, keyed by what makes two the same: host, port, transport,
 *   TLS settings, WebSocket path and the credentials (client id, user name, password). The
 *   first stream's options set up the connection; later streams only join it.
 * - A filter is subscribed on the broker while any stream wants it, at the highest QoS any of
 *   them asked for; it is unsubscribed when the last stream that wanted it lets go.
 * - An incoming message goes to every stream with a matching filter, once per stream.
 * - Publish results go back to the stream that published.
 * - Closing the last stream ends the connection (DISCONNECT, then close).
 */
import type { Context } from '../../loop/context.js';
import type { LwsxError } from '../../util/errors.js';
import { UsageError } from '../../util/errors.js';
import { utf8Encode } from '../../util/utf8.js';
import { DEFAULT_PORTS, MqttClient } from './mqtt-client.js';
import type { MqttClientOptions, MqttConnectInfo } from './mqtt-client.js';
import type { MqttError } from './mqtt-error.js';
import type { QoS } from './packet.js';
import type { MqttProperties } from './properties.js';
import type { DropReason, MqttInboundMessage } from './session.js';

export interface MqttStreamHandlers {
  /** the shared connection is up (for a stream joining a live connection, on the next loop turn) */
  onConnect?(s: MqttStream, info: MqttConnectInfo): void;
  /** a message matching one of this stream's filters */
  onMessage?(s: MqttStream, m: MqttInboundMessage): void;
  onSuback?(s: MqttStream, filter: string, reasonCode: number, error: MqttError | undefined): void;
  onPublished?(s: MqttStream, id: number, error: MqttError | undefined): void;
  onDropped?(s: MqttStream, id: number, reason: DropReason, error: LwsxError): void;
  /** the shared connection dropped; it retries in `retryInMs` (undefined: it gave up) */
  onDisconnect?(s: MqttStream, err: LwsxError | undefined, retryInMs: number | undefined): void;
  /** the stream is over: closed by us (err undefined), or its connection gave up */
  onClose?(s: MqttStream, err: LwsxError | undefined): void;
}

interface Want {
  qos: QoS;
  /** the stream has heard this filter's SUBACK */
  told: boolean;
}

/** FNV-1a over bytes: keys compare certificates and passwords without holding them in text. */
function fingerprint(b: Uint8Array | ArrayBufferView | ArrayBuffer | string | undefined): string {
  if (b === undefined) return '';
  const u = typeof b === 'string' ? utf8Encode(b) : b instanceof Uint8Array ? b : b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ (u[i] as number), 0x01000193);
  return `b${u.length}:${(h >>> 0).toString(16)}`;
}

/** What makes two bindings the same connection. */
export function endpointKey(o: MqttClientOptions): string {
  const transport = o.transport ?? 'tcp';
  const t = o.tls;
  const tls = transport === 'tls' || transport === 'wss'
    ? [t?.servername ?? '', String(t?.verify ?? true), (t?.trust ?? []).map(fingerprint).join(','), [t?.clientCert ?? []].flat().map((c) => fingerprint(c)).join(','), fingerprint(t?.clientKey)].join('|')
    : '';
  const path = transport === 'ws' || transport === 'wss' ? (o.path ?? '/mqtt') : '';
  // {host} and {host, port: 1883} are the same broker
  const port = o.port ?? DEFAULT_PORTS[transport] ?? '';
  return JSON.stringify([o.host, port, transport, tls, path, o.clientId ?? '', o.username ?? '', fingerprint(o.password)]);
}

const registries = new WeakMap<Context, Map<string, SharedConnection>>();

class SharedConnection {
  readonly client: MqttClient;
  readonly streams = new Set<MqttStream>();
  /** filter → the streams that want it */
  readonly wants = new Map<string, Map<MqttStream, Want>>();
  /** filter → the QoS asked of the broker */
  readonly asked = new Map<string, QoS>();
  /** filter → the broker's SUBACK code for it */
  readonly granted = new Map<string, number>();
  /** publish id → the stream that published */
  readonly publishers = new Map<number, MqttStream>();
  info: MqttConnectInfo | undefined;
  private readonly registry: Map<string, SharedConnection>;
  private readonly key: string;

  constructor(ctx: Context, opts: MqttClientOptions, registry: Map<string, SharedConnection>, key: string) {
    this.registry = registry;
    this.key = key;
    this.client = new MqttClient(ctx, opts, {
      onConnect: (_c, info) => {
        this.info = info;
        for (const s of [...this.streams]) s.h.onConnect?.(s, info);
      },
      onMessage: (_c, m) => {
        const to = new Set<MqttStream>();
        for (const f of m.matches) for (const s of this.wants.get(f)?.keys() ?? []) to.add(s);
        for (const s of to) s.h.onMessage?.(s, m);
      },
      onPublished: (_c, id, err) => {
        const s = this.publishers.get(id);
        this.publishers.delete(id);
        if (s && !s.isClosed) s.h.onPublished?.(s, id, err);
      },
      onDropped: (_c, ev) => {
        const s = this.publishers.get(ev.id);
        this.publishers.delete(ev.id);
        if (s && !s.isClosed) s.h.onDropped?.(s, ev.id, ev.reason, ev.error);
      },
      onSuback: (_c, ev) => {
        ev.filters.forEach((f, i) => {
          const rc = ev.reasonCodes[i] as number;
          const err = ev.errors.find((e) => e.detail?.['filter'] === f);
          if (err) {
            this.asked.delete(f);
            this.granted.delete(f);
          } else if (this.asked.has(f)) this.granted.set(f, rc); // not if let go before its SUBACK
          for (const [s, w] of this.wants.get(f) ?? []) {
            if (w.told && !err) continue;
            w.told = true;
            s.h.onSuback?.(s, f, rc, err);
          }
          // a refused filter is no stream's any more
          if (err) this.wants.delete(f);
        });
      },
      onDisconnect: (_c, err, ms) => {
        this.info = undefined;
        for (const s of [...this.streams]) s.h.onDisconnect?.(s, err, ms);
      },
      onClose: (_c, err) => {
        if (this.registry.get(this.key) === this) this.registry.delete(this.key);
        for (const s of [...this.streams]) s.ended(err);
        this.streams.clear();
      },
    });
  }

  want(s: MqttStream, filter: string, qos: QoS): void {
    let w = this.wants.get(filter);
    if (!w) this.wants.set(filter, (w = new Map()));
    w.set(s, { qos, told: false });
    let max: QoS = 0;
    for (const x of w.values()) if (x.qos > max) max = x.qos;
    const asked = this.asked.get(filter);
    if (asked === undefined || asked < max) {
      // a SUBSCRIBE for a filter we hold already replaces it, at the new QoS
      this.client.subscribe(filter, max);
      this.asked.set(filter, max);
      this.granted.delete(filter);
      return;
    }
    const g = this.granted.get(filter);
    if (g !== undefined) {
      // the broker said yes already: this stream hears it on the next turn, as it would have
      s.defer(() => {
        const ww = this.wants.get(filter)?.get(s);
        if (!ww || ww.told || s.isClosed) return;
        ww.told = true;
        s.h.onSuback?.(s, filter, g, undefined);
      });
    }
  }

  unwant(s: MqttStream, filter: string): void {
    const w = this.wants.get(filter);
    if (!w?.delete(s) || w.size > 0) return;
    this.wants.delete(filter);
    if (this.asked.delete(filter)) {
      this.granted.delete(filter);
      this.client.unsubscribe(filter);
    }
  }

  leave(s: MqttStream): void {
    for (const f of [...this.wants.keys()]) this.unwant(s, f);
    this.streams.delete(s);
    if (this.streams.size > 0) return;
    if (this.registry.get(this.key) === this) this.registry.delete(this.key);
    this.client.end();
  }
}

export class MqttStream {
  readonly h: MqttStreamHandlers;
  private readonly conn: SharedConnection;
  private readonly ctx: Context;
  private closedNow = false;

  constructor(ctx: Context, conn: SharedConnection, h: MqttStreamHandlers) {
    this.ctx = ctx;
    this.conn = conn;
    this.h = h;
  }

  /** The shared client (to read its state; use the stream's own methods to act). */
  get client(): MqttClient {
    return this.conn.client;
  }

  get connected(): boolean {
    return this.conn.client.connected;
  }

  get isClosed(): boolean {
    return this.closedNow;
  }

  /** Filters this stream holds. */
  get filters(): string[] {
    const out: string[] = [];
    for (const [f, w] of this.conn.wants) if (w.has(this)) out.push(f);
    return out;
  }

  subscribe(filter: string, qos: QoS = 0): void {
    this.check();
    this.conn.want(this, filter, qos);
  }

  unsubscribe(filter: string): void {
    this.check();
    this.conn.unwant(this, filter);
  }

  publish(topic: string, payload: Uint8Array | string, opts: { qos?: QoS; retain?: boolean; properties?: MqttProperties } = {}): number {
    this.check();
    const id = this.conn.client.publish(topic, payload, opts);
    // QoS 0 has no outcome to report back (its rare drops are not routed per stream)
    if ((opts.qos ?? 0) > 0) this.conn.publishers.set(id, this);
    return id;
  }

  /** Leaves the connection: its filters go (unless other streams hold them); the last stream closes it. */
  close(): void {
    if (this.closedNow) return;
    this.closedNow = true;
    this.conn.leave(this);
    this.h.onClose?.(this, undefined);
  }

  /** @internal the connection gave up */
  ended(err: LwsxError | undefined): void {
    if (this.closedNow) return;
    this.closedNow = true;
    this.h.onClose?.(this, err);
  }

  /** @internal */
  defer(fn: () => void): void {
    if (!this.ctx.isDestroyed) this.ctx.defer(fn);
  }

  private check(): void {
    if (this.closedNow) throw new UsageError('ERR_MQTT_CLOSED', 'mqtt: the stream is closed');
  }
}

/**
 * Binds a stream to the broker endpoint `opts` names, sharing the Context's connection to it
 * when there is one (lws_ss_create on an MQTT streamtype).
 */
export function mqttBind(ctx: Context, opts: MqttClientOptions, handlers: MqttStreamHandlers = {}): MqttStream {
  let reg = registries.get(ctx);
  if (!reg) registries.set(ctx, (reg = new Map()));
  const key = endpointKey(opts);
  let conn = reg.get(key);
  if (!conn) {
    conn = new SharedConnection(ctx, opts, reg, key);
    reg.set(key, conn);
  }
  const s = new MqttStream(ctx, conn, handlers);
  conn.streams.add(s);
  const c = conn;
  if (c.info) {
    s.defer(() => {
      if (!s.isClosed && c.info) s.h.onConnect?.(s, c.info);
    });
  }
  return s;
}

/** How many shared MQTT connections a Context holds (for status pages and tests). */
export function mqttConnectionCount(ctx: Context): number {
  return registries.get(ctx)?.size ?? 0;
}
