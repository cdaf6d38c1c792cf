/**
 * The simulated device's MQTT client (--mqtt, --mqtt-broker): once OPERATIONAL it connects to
 * the broker (the simulator's embedded one when none is given), resolving names through the
 * device's DNS, as `<serial>` (or the MQTT_CLIENT_ID blob), and then:
 *
 * - birth and will, retained on `lwsx/<serial>/status`: "online" after every CONNACK, "offline"
 *   from the broker when the connection dies without a DISCONNECT (and from us before ours);
 * - telemetry JSON (seq, boot, uptime, state, heap) at QoS 1 on `lwsx/<serial>/telemetry` every
 *   interval, queued while offline (at most 100, dropping the oldest: fresh data matters most);
 * - commands on `lwsx/<serial>/cmd/<name>`: `ping` answers `pong`, `reboot` answers and then
 *   runs the board's reboot op; anything else gets an error reply. Replies are JSON on
 *   `lwsx/<serial>/reply` (or, under 5.0, the command's Response Topic with its Correlation Data).
 *
 * Reconnects follow the policy's "default" retry entry (backoff, jitter, conceal, validity), as
 * the ws client does. CONTEXT_DESTROYING (stop or reboot) says "offline", DISCONNECTs and stops.
 */
import { readCaFile } from './ca-file.js';
import type { Context } from '../../../src/loop/context.js';
import { RETRY_CONCEAL_ALWAYS, makeRetryPolicy } from '../../../src/loop/retry.js';
import { Sul } from '../../../src/loop/sul.js';
import { DEFAULT_PORTS, MqttClient } from '../../../src/protocols/mqtt/mqtt-client.js';
import type { MqttClientOptions, MqttTransport } from '../../../src/protocols/mqtt/mqtt-client.js';
import type { MqttVersion } from '../../../src/protocols/mqtt/packet.js';
import type { MqttInboundMessage } from '../../../src/protocols/mqtt/session.js';
import type { DnsResolver } from '../../../src/services/dns/resolver.js';
import { BlobType } from '../../../src/system/blob.js';
import { SYS_STATE_NAMES, SysState } from '../../../src/system/states.js';
import { LwsxError, UsageError } from '../../../src/util/errors.js';
import { utf8Decode, utf8Encode } from '../../../src/util/utf8.js';
import { retryFromPolicy } from './device-ws-client.js';

export interface MqttConfig {
  /** mqtt://, mqtts://, ws:// or wss://; none: the simulator's embedded broker */
  broker?: string;
  /** PEM or DER CA certificate(s) to trust for mqtts:// and wss://, besides the system's */
  caFile?: string;
  /** 4 (3.1.1) or 5; default 5 with a broker given, 4 with the embedded one (aedes speaks 3.1.1) */
  version?: MqttVersion;
  /** ms between telemetry messages, default 5000 */
  telemetryIntervalMs?: number;
}

export interface MqttTarget {
  url: string;
  transport: MqttTransport;
  host: string;
  port: number;
  /** WebSocket request target */
  path?: string;
  username?: string;
  password?: string;
}

export const DEFAULT_TELEMETRY_INTERVAL_MS = 5000;
const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 86_400_000;
const SCHEMES: Record<string, MqttTransport> = { 'mqtt:': 'tcp', 'mqtts:': 'tls', 'ws:': 'ws', 'wss:': 'wss' };

/** Parses a broker URL; anything else is UsageError ERR_MQTT_URL naming what is wrong. */
export function parseMqttUrl(url: string): MqttTarget {
  const bad = (why: string): UsageError => new UsageError('ERR_MQTT_URL', `--mqtt-broker ${JSON.stringify(url)}: ${why}`, { url });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL (expected mqtt://host[:port], mqtts://, ws://host[:port]/path or wss://)');
  }
  const transport = SCHEMES[u.protocol];
  if (!transport) throw bad(`scheme must be mqtt, mqtts, ws or wss, not ${u.protocol.slice(0, -1)}`);
  if (!u.hostname) throw bad('no host');
  if (u.hash) throw bad('a broker URL has no fragment');
  const ws = transport === 'ws' || transport === 'wss';
  if (!ws && ((u.pathname !== '' && u.pathname !== '/') || u.search)) throw bad('an mqtt:// or mqtts:// URL has no path');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const t: MqttTarget = { url: u.href, transport, host, port: u.port ? Number(u.port) : DEFAULT_PORTS[transport] };
  // as mqtt.js: no path means the conventional /mqtt
  if (ws) t.path = (u.pathname === '/' || u.pathname === '' ? '/mqtt' : u.pathname) + u.search;
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw bad(`the ${what} has a bad %-escape`);
    }
  };
  if (u.username) t.username = decode(u.username, 'user name');
  if (u.password) t.password = decode(u.password, 'password');
  return t;
}

/** The DER certificates in a --mqtt-ca file: UsageError ERR_MQTT_CA if there are none. */
export function readMqttCa(path: string): Uint8Array[] {
  return readCaFile(path, '--mqtt-ca', 'ERR_MQTT_CA');
}

export interface CheckedMqttConfig {
  /** undefined: the embedded broker */
  target: MqttTarget | undefined;
  trust: Uint8Array[] | undefined;
  version: MqttVersion;
  intervalMs: number;
}

/** Checks a whole MQTT config before anything opens (ERR_MQTT_URL, _CA, _OPTION, _VERSION, _INTERVAL). */
export function checkMqttConfig(c: MqttConfig): CheckedMqttConfig {
  const target = c.broker === undefined ? undefined : parseMqttUrl(c.broker);
  if (c.version !== undefined && c.version !== 4 && c.version !== 5) {
    throw new UsageError('ERR_MQTT_VERSION', `--mqtt-version must be 3.1.1 or 5, not ${String(c.version)}`, { version: c.version });
  }
  if (!target && c.version === 5) {
    throw new UsageError('ERR_MQTT_VERSION', 'the embedded broker (aedes) speaks MQTT 3.1.1 only: give --mqtt-broker for 5.0', { version: 5 });
  }
  const secure = target?.transport === 'tls' || target?.transport === 'wss';
  if (c.caFile !== undefined && !secure) throw new UsageError('ERR_MQTT_OPTION', '--mqtt-ca applies to mqtts:// and wss:// brokers only', { caFile: c.caFile });
  const intervalMs = c.telemetryIntervalMs ?? DEFAULT_TELEMETRY_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
    throw new UsageError('ERR_MQTT_INTERVAL', `--telemetry-interval must be an integer ${MIN_INTERVAL_MS}..${MAX_INTERVAL_MS} ms, not ${String(c.telemetryIntervalMs)}`, { intervalMs: c.telemetryIntervalMs });
  }
  return { target, trust: c.caFile === undefined ? undefined : readMqttCa(c.caFile), version: c.version ?? (target ? 5 : 4), intervalMs };
}

/** What the client reports: the simulator adds boot and time and prints them. */
export type MqttNote =
  | { event: 'broker'; url: string; embedded: boolean }
  | { event: 'connecting'; url: string; clientId: string; version: MqttVersion }
  | { event: 'connected'; attempt: number; sessionPresent: boolean }
  | { event: 'telemetry'; topic: string; seq: number }
  | { event: 'command'; topic: string; command: string; payload: string }
  | { event: 'reply'; topic: string; payload: string }
  | { event: 'dropped'; id: number; reason: string; code: string }
  | { event: 'disconnected'; errorCode?: string; error?: string; retryInMs?: number }
  | { event: 'failed'; code: string; message: string }
  | { event: 'closed' };

/** When the policy names no "default" retry: keep trying the broker for ever. */
const FALLBACK_RETRY = makeRetryPolicy({ table: [1000, 2000, 5000, 10000, 30000], conceal: RETRY_CONCEAL_ALWAYS, jitterPercent: 20 });
/** telemetry waiting while offline: bounded, the oldest goes first */
const OFFLINE_QUEUE = { max: 100, overflow: 'drop-oldest' as const };

export interface DeviceMqttOptions {
  config: CheckedMqttConfig;
  /** the broker to use when the config names none (the embedded one) */
  embeddedUrl?: string;
  serial: string;
  boot: number;
  dns: DnsResolver;
  /** bytes of heap in use, where the host can tell */
  heapUsed?: () => number;
  onNote(n: MqttNote): void;
}

export class DeviceMqtt {
  readonly target: MqttTarget;
  readonly topics: { status: string; telemetry: string; cmd: string; reply: string };
  private readonly ctx: Context;
  private readonly opts: DeviceMqttOptions;
  private readonly telemetrySul = new Sul();
  private client: MqttClient | undefined;
  private state: 'idle' | 'running' | 'failed' | 'stopped' = 'idle';
  private seq = 0;
  private commands = 0;
  private acked = 0;

  constructor(ctx: Context, opts: DeviceMqttOptions) {
    this.ctx = ctx;
    this.opts = opts;
    const t = opts.config.target ?? (opts.embeddedUrl ? parseMqttUrl(opts.embeddedUrl) : undefined);
    if (!t) throw new UsageError('ERR_MQTT_OPTION', 'mqtt: no broker URL and no embedded broker');
    this.target = t;
    const base = `lwsx/${opts.serial}`;
    this.topics = { status: `${base}/status`, telemetry: `${base}/telemetry`, cmd: `${base}/cmd/`, reply: `${base}/reply` };
    opts.onNote({ event: 'broker', url: t.url, embedded: !opts.config.target });
    ctx.system.onTransitionRecord((rec) => {
      if (rec.kind === 'held' || rec.kind === 'error') return;
      if (rec.to === SysState.OPERATIONAL && this.state === 'idle') this.begin();
      else if (rec.to === SysState.CONTEXT_DESTROYING) this.stop();
    });
  }

  /** For the status page. */
  status(): Record<string, unknown> {
    const c = this.client;
    return { broker: this.target.url, state: c ? c.state : this.state, attempts: c?.attempts ?? 0, telemetrySent: this.seq, telemetryAcked: this.acked, commands: this.commands };
  }

  private begin(): void {
    // stopped from an earlier listener of this same OPERATIONAL step (--exit-when-operational)
    if (this.ctx.isDestroyed) return;
    const t = this.target;
    const cfg = this.opts.config;
    const idBlob = this.ctx.system.blobs.get(BlobType.MQTT_CLIENT_ID);
    const clientId = idBlob.size ? idBlob.text() : this.opts.serial;
    try {
      // the serial is one topic level: no separators or wildcards in it
      if (!/^[^/+#\u0000]+$/.test(this.opts.serial)) throw new UsageError('ERR_MQTT_SERIAL', `mqtt: serial ${JSON.stringify(this.opts.serial)} cannot be a topic level`, { serial: this.opts.serial });
      const retry = retryFromPolicy(this.ctx.policyLoader.policy, 'default') ?? FALLBACK_RETRY;
      const co: MqttClientOptions = {
        host: t.host,
        port: t.port,
        transport: t.transport,
        version: cfg.version,
        clientId,
        retry,
        queue: OFFLINE_QUEUE,
        will: { topic: this.topics.status, payload: utf8Encode('offline'), qos: 1, retain: true },
        birth: { topic: this.topics.status, payload: utf8Encode('online'), qos: 1, retain: true },
        resolve: async (name) => {
          const r = await this.opts.dns.lookup(name);
          const list = r.addresses.map((a) => a.address);
          r.release();
          return list;
        },
      };
      if (t.path !== undefined) co.path = t.path;
      if (t.username !== undefined) co.username = t.username;
      if (t.password !== undefined) co.password = t.password;
      if (cfg.trust) co.tls = { trust: cfg.trust };
      this.state = 'running';
      this.opts.onNote({ event: 'connecting', url: t.url, clientId, version: cfg.version });
      this.client = new MqttClient(this.ctx, co, {
        onConnect: (c, info) => this.opts.onNote({ event: 'connected', attempt: c.attempts, sessionPresent: info.sessionPresent }),
        onMessage: (_c, m) => this.command(m),
        onPublished: (_c, _id, err) => {
          if (!err) this.acked++;
        },
        onDropped: (_c, ev) => this.opts.onNote({ event: 'dropped', id: ev.id, reason: ev.reason, code: ev.error.code }),
        onDisconnect: (_c, err, ms) => {
          const n: MqttNote = { event: 'disconnected' };
          if (err) {
            n.errorCode = err.code;
            n.error = err.message;
          }
          if (ms !== undefined) n.retryInMs = ms;
          this.opts.onNote(n);
        },
        onClose: (_c, err) => {
          if (err) {
            this.state = 'failed';
            this.ctx.cancel(this.telemetrySul);
            this.opts.onNote({ event: 'failed', code: err.code, message: err.message });
          } else this.opts.onNote({ event: 'closed' });
        },
      });
      this.client.subscribe(`${this.topics.cmd}#`, 1);
    } catch (e) {
      this.state = 'failed';
      const err = e instanceof LwsxError ? e : new UsageError('ERR_MQTT_OPTIONS', String(e), {}, e);
      this.opts.onNote({ event: 'failed', code: err.code, message: err.message });
      return;
    }
    this.telemetry();
  }

  /** Publishes one telemetry message now and schedules the next. */
  private telemetry(): void {
    const c = this.client;
    if (this.state !== 'running' || !c || c.state === 'closing' || c.state === 'closed') return;
    const heap = this.opts.heapUsed?.();
    const body = {
      seq: ++this.seq,
      boot: this.opts.boot,
      uptimeMs: Math.round((this.ctx.nowUs() - this.ctx.createdUs) / 1000),
      state: SYS_STATE_NAMES[this.ctx.system.state.state],
      ...(heap !== undefined ? { heapUsed: heap } : {}),
    };
    c.publish(this.topics.telemetry, JSON.stringify(body), { qos: 1 });
    this.opts.onNote({ event: 'telemetry', topic: this.topics.telemetry, seq: body.seq });
    this.ctx.schedule(this.telemetrySul, this.opts.config.intervalMs * 1000, () => this.telemetry());
  }

  private command(m: MqttInboundMessage): void {
    if (!m.topic.startsWith(this.topics.cmd)) return;
    const command = m.topic.slice(this.topics.cmd.length);
    let payload: string;
    try {
      payload = utf8Decode(m.payload);
    } catch {
      payload = `(${m.payload.length} bytes, not UTF-8)`;
    }
    this.commands++;
    this.opts.onNote({ event: 'command', topic: m.topic, command, payload });
    switch (command) {
      case 'ping':
        this.reply(m, { cmd: command, reply: 'pong' });
        break;
      case 'reboot': {
        this.reply(m, { cmd: command, reply: 'rebooting' });
        // the reply's write was deferred first: it leaves before the device goes
        const reboot = this.ctx.system.board.ops.reboot;
        this.ctx.defer(() => reboot?.());
        break;
      }
      default:
        this.reply(m, { cmd: command, error: 'unknown command' });
    }
  }

  private reply(to: MqttInboundMessage, body: Record<string, unknown>): void {
    const c = this.client as MqttClient;
    const text = JSON.stringify(body);
    // MQTT 5.0 request / response (§4.10): answer where the requester asked
    const rt = to.properties?.responseTopic;
    const cd = to.properties?.correlationData;
    const topic = rt ?? this.topics.reply;
    c.publish(topic, text, { qos: 1, ...(rt && cd ? { properties: { correlationData: cd } } : {}) });
    this.opts.onNote({ event: 'reply', topic, payload: text });
  }

  private stop(): void {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    this.ctx.cancel(this.telemetrySul);
    const c = this.client;
    if (!wasRunning || !c) return;
    // a clean DISCONNECT discards the will: say "offline" ourselves first
    if (c.connected) c.publish(this.topics.status, 'offline', { qos: 0, retain: true });
    c.end();
  }
}
