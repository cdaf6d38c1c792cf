/**
 * The MQTT client session: a sans-IO machine (the wsi's WsiMachine) holding everything an MQTT
 * client is, across as many network connections as it takes.
 *
 * Per connection: startConnection() queues the CONNECT; bytes go in through receive(), packets
 * to send come out of pendingOutput(), and connectionLost() says the socket is gone. Between
 * connections the session keeps what MQTT's session state is (§4.1): QoS 1 and 2 messages sent
 * but not completed, QoS 2 messages received and awaiting PUBREL, and the subscriptions.
 *
 * Reconnect rules:
 *  - Clean Start is the option's on every CONNECT until a CONNACK accepts one; then 5.0 asks to
 *    resume (Clean Start 0: the Session Expiry Interval decides whether the broker kept
 *    anything), and 3.1.1 keeps the option (its Clean Session also decides persistence).
 *  - Session present: unacknowledged PUBLISHes are re-sent with DUP and their original ids,
 *    PUBRELs for those past PUBREC (§4.4), then requests that were waiting.
 *  - Session not present: the broker lost everything, so nothing it knew can be completed.
 *    Unacknowledged messages go back to the head of the queue and are sent as new PUBLISHes
 *    (new ids, no DUP): nothing is lost, at the price that a QoS 2 message the old session had
 *    already released (past PUBREC) may arrive twice. Subscriptions are sent again, and the
 *    record of QoS 2 ids awaiting PUBREL is dropped with the session it belonged to. (coreMQTT
 *    leaves this to the application; we do what a device that must not lose telemetry wants.)
 *
 * Bounds: outgoing QoS 1/2 in flight ≤ min(maxInflight, the server's Receive Maximum); waiting
 * messages ≤ queue.max with an explicit overflow policy; incoming QoS 2 awaiting PUBREL ≤ 64 ×
 * our Receive Maximum (5.0 closes with 0x93 past it: see RECEIVE_MAXIMUM_SLACK); a packet ≤
 * maximumPacketSize.
 *
 * Failures: a broker packet that breaks MQTT ends the connection with an 'error' event (and,
 * under 5.0, a DISCONNECT carrying the reason: 0x81 for malformed bytes); a refused CONNACK or
 * a server DISCONNECT likewise. `closed` is then true, and the caller closes the socket after
 * pendingOutput(). Events completed before the failure in the same read are still returned.
 */
import type { WsiMachine } from '../../loop/wsi.js';
import { UsageError } from '../../util/errors.js';
import type { LwsxError } from '../../util/errors.js';
import { DEFAULT_MAX_PACKET_SIZE, MqttDecoder } from './decoder.js';
import { encodePacket } from './encode.js';
import { MqttEncodeError, MqttProtocolError } from './errors.js';
import { MqttError, clientReasonError, serverReasonError } from './mqtt-error.js';
import { PacketIds } from './packet-ids.js';
import { PUBACK_TYPES, PacketType } from './packet.js';
import type {
  ConnackPacket,
  ConnectPacket,
  MqttPacket,
  MqttVersion,
  PubAckPacket,
  PublishPacket,
  QoS,
  SubackPacket,
  Subscription,
  UnsubackPacket,
  Will,
} from './packet.js';
import type { MqttProperties } from './properties.js';
import { BoundedQueue, OVERFLOW_POLICIES } from './queue.js';
import type { OverflowPolicy } from './queue.js';
import { ReasonCode } from './reason-codes.js';
import { IncomingTopicAliases, OutgoingTopicAliases } from './topic-alias.js';
import { isValidTopicFilter, isValidTopicName, splitShared, topicMatches } from './topic.js';
import { MAX_PACKET_SIZE } from './wire.js';

export interface MqttMessageInit {
  topic: string;
  payload: Uint8Array;
  qos?: QoS;
  retain?: boolean;
  /**
   * 5.0 message properties (user properties, content type, response topic, correlation data,
   * payload format, message expiry interval). The topic alias is the session's to choose.
   */
  properties?: MqttProperties;
}

export interface MqttSessionOptions {
  /** 5 (MQTT 5.0, default) or 4 (3.1.1) */
  version?: MqttVersion;
  clientId: string;
  username?: string;
  password?: Uint8Array;
  /** Clean Start until a session is established (default true) */
  cleanStart?: boolean;
  /** seconds; 0 turns keep-alive off (default 60) */
  keepAlive?: number;
  will?: Will;
  /** 5.0: how long the broker keeps the session after a disconnect, seconds (default 0) */
  sessionExpiryInterval?: number;
  /** 5.0: incoming QoS 1/2 messages the broker may have unacknowledged with us (default 64) */
  receiveMaximum?: number;
  /** the largest packet we accept (5.0 tells the broker), default 256 KiB */
  maximumPacketSize?: number;
  /** 5.0: topic aliases the broker may define towards us (default 0) */
  topicAliasMaximum?: number;
  /** 5.0: user properties of the CONNECT */
  userProperties?: [string, string][];
  /** our own cap on outgoing QoS 1/2 messages in flight (default 64) */
  maxInflight?: number;
  /** 5.0: use the broker's topic aliases for what we publish (default true) */
  topicAliases?: boolean;
  /** messages waiting to be sent: at most `max` (default 100), and what to do past it (default 'refuse') */
  queue?: { max?: number; overflow?: OverflowPolicy };
  /** published after every accepted CONNACK (lws mqtt_birth_topic / mqtt_birth_message) */
  birth?: MqttMessageInit;
}

/** What the broker's CONNACK allowed (5.0 properties, with the spec's defaults when absent). */
export interface ServerLimits {
  receiveMaximum: number;
  maximumQos: QoS;
  retainAvailable: boolean;
  /** the largest packet the broker takes */
  maximumPacketSize: number;
  topicAliasMaximum: number;
  /** seconds: the Server Keep Alive, or ours */
  keepAlive: number;
  wildcardSubscriptionAvailable: boolean;
  subscriptionIdentifierAvailable: boolean;
  sharedSubscriptionAvailable: boolean;
}

export interface MqttInboundMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  properties: MqttProperties | undefined;
  /** our subscription filters that match the topic, in the order they were made (may be empty) */
  matches: string[];
}

/** closed: the client ended (or gave up) with the message still queued or unacknowledged */
export type DropReason = 'queue-full' | 'expired' | 'too-large' | 'qos-not-supported' | 'retain-not-supported' | 'closed';

export type MqttSessionEvent =
  | { type: 'connack'; sessionPresent: boolean; clientId: string; server: ServerLimits; properties: MqttProperties | undefined }
  | { type: 'message'; message: MqttInboundMessage }
  /** a QoS 1 or 2 message of ours is complete: acknowledged, or refused (error, 5.0 reason ≥ 0x80) */
  | { type: 'published'; id: number; reasonCode: number; error: MqttError | undefined }
  /** a message of ours will never be sent */
  | { type: 'dropped'; id: number; topic: string; reason: DropReason; error: LwsxError }
  | { type: 'suback'; id: number; filters: string[]; reasonCodes: number[]; errors: MqttError[]; resubscribe: boolean }
  | { type: 'unsuback'; id: number; filters: string[]; reasonCodes: number[]; errors: MqttError[] }
  | { type: 'pong' }
  /** the broker said goodbye (5.0); an 'error' event follows */
  | { type: 'disconnect'; reasonCode: number; properties: MqttProperties | undefined }
  /** the connection is over because of `error`; `closed` is now true */
  | { type: 'error'; error: LwsxError };

export type SessionPhase = 'idle' | 'connecting' | 'connected' | 'closing';

interface Outgoing {
  id: number;
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties: MqttProperties | undefined;
  /** monotonic µs when the Message Expiry Interval runs out; -1 never */
  expiresAtUs: number;
  packetId: number;
  /** 0 waiting, 1 PUBLISH sent, 2 PUBREC received and PUBREL sent */
  stage: 0 | 1 | 2;
  /** the birth message: a new connection's supersedes one still waiting */
  birth: boolean;
}

interface SubEntry {
  sub: Subscription;
  properties: MqttProperties | undefined;
  /** what topicMatches() takes: the filter, or a shared subscription's filter part */
  match: string;
  /** the subscribe() that made it */
  requestId: number;
}

interface Request {
  kind: 'subscribe' | 'unsubscribe';
  id: number;
  filters: string[];
  subs: Subscription[] | undefined;
  properties: MqttProperties | undefined;
  resubscribe: boolean;
}

const DEFAULTS = { keepAlive: 60, receiveMaximum: 64, maxInflight: 64, queueMax: 100 };

/**
 * How far past our Receive Maximum a broker may go before 0x93. mosquitto 2.0.11 goes past it
 * after a restart from its database (restored in-flight messages are not counted against its
 * send quota: 8 × was seen), and does it again on every reconnect, so closing at the limit
 * itself never ends. What is held per message is its packet id only: at this multiple the
 * bound still holds memory.
 */
const RECEIVE_MAXIMUM_SLACK = 64;

const optErr = (field: string, message: string): never => {
  throw new UsageError('ERR_MQTT_OPTIONS', `mqtt: ${field} ${message}`, { field });
};

function intOpt(v: unknown, field: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) optErr(field, `must be an integer ${min}..${max}, not ${String(v)}`);
  return v as number;
}

export class MqttSession implements WsiMachine<MqttSessionEvent> {
  readonly version: MqttVersion;
  private clientIdNow: string;
  private readonly opts: MqttSessionOptions;
  private readonly keepAliveS: number;
  private readonly receiveMaximum: number;
  private readonly maxPacketSize: number;
  private readonly maxInflight: number;
  private readonly overflow: OverflowPolicy;
  private readonly useAliases: boolean;

  private phaseNow: SessionPhase = 'idle';
  private established = false;
  private decoder: MqttDecoder;
  private out: Uint8Array[] = [];
  private events: MqttSessionEvent[] = [];
  private closeError: LwsxError | undefined;

  private readonly ids = new PacketIds();
  /** sent QoS 1/2 PUBLISHes not yet complete, in the order first sent */
  private readonly inflight = new Map<number, Outgoing>();
  private readonly queue: BoundedQueue<Outgoing>;
  /** incoming QoS 2 packet ids delivered to the user, awaiting the broker's PUBREL */
  private readonly awaitingRel = new Set<number>();
  private readonly subs = new Map<string, SubEntry>();
  private readonly requests = new Map<number, Request>();
  private waiting: Request[] = [];
  private messageSeq = 0;
  private requestSeq = 0;

  private serverLimits: ServerLimits;
  private readonly aliasesOut = new OutgoingTopicAliases();
  private readonly aliasesIn: IncomingTopicAliases;

  private keepAliveUs = 0;
  private lastTxUs = 0;
  private kaDueUs: number | undefined;
  private pingOutstanding = false;

  constructor(opts: MqttSessionOptions) {
    const v = opts.version ?? 5;
    if (v !== 4 && v !== 5) optErr('version', `must be 4 (3.1.1) or 5 (5.0), not ${String(v)}`);
    this.version = v;
    if (typeof opts.clientId !== 'string') optErr('clientId', 'must be a string');
    this.clientIdNow = opts.clientId;
    this.keepAliveS = intOpt(opts.keepAlive, 'keepAlive', 0, 0xffff, DEFAULTS.keepAlive);
    this.receiveMaximum = intOpt(opts.receiveMaximum, 'receiveMaximum', 1, 0xffff, DEFAULTS.receiveMaximum);
    this.maxPacketSize = intOpt(opts.maximumPacketSize, 'maximumPacketSize', 16, MAX_PACKET_SIZE, DEFAULT_MAX_PACKET_SIZE);
    this.maxInflight = intOpt(opts.maxInflight, 'maxInflight', 1, 0xffff, DEFAULTS.maxInflight);
    const aliasMax = intOpt(opts.topicAliasMaximum, 'topicAliasMaximum', 0, 0xffff, 0);
    intOpt(opts.sessionExpiryInterval, 'sessionExpiryInterval', 0, 0xffffffff, 0);
    const overflow = opts.queue?.overflow ?? 'refuse';
    if (!OVERFLOW_POLICIES.includes(overflow)) optErr('queue.overflow', `must be one of ${OVERFLOW_POLICIES.join(', ')}, not ${String(overflow)}`);
    this.overflow = overflow;
    this.queue = new BoundedQueue<Outgoing>(intOpt(opts.queue?.max, 'queue.max', 1, 0x1000000, DEFAULTS.queueMax));
    this.useAliases = opts.topicAliases ?? true;
    this.opts = opts;
    this.aliasesIn = new IncomingTopicAliases(v === 5 ? aliasMax : 0);
    this.decoder = new MqttDecoder({ version: v, maxPacketSize: this.maxPacketSize });
    this.serverLimits = this.defaultLimits();
    if (opts.birth) this.checkMessage(opts.birth);
    // the CONNECT is built once here so bad options fail at construction, not on the wire
    encodePacket(this.connectPacket(), v);
  }

  // ---- state

  get phase(): SessionPhase {
    return this.phaseNow;
  }

  /** The client id in use (the broker may assign one under 5.0; it is kept for reconnects). */
  get clientId(): string {
    return this.clientIdNow;
  }

  /** WsiMachine: the connection should close once its output is written. */
  get closed(): boolean {
    return this.phaseNow === 'closing';
  }

  /** Why the connection ended (the last 'error' event), until the next startConnection(). */
  get error(): LwsxError | undefined {
    return this.closeError;
  }

  get server(): Readonly<ServerLimits> {
    return this.serverLimits;
  }

  /** Outgoing QoS 1/2 messages sent and not yet complete. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Messages waiting to be sent. */
  get queuedCount(): number {
    return this.queue.size;
  }

  /** Incoming QoS 2 messages delivered and awaiting the broker's PUBREL. */
  get awaitingReleaseCount(): number {
    return this.awaitingRel.size;
  }

  /** Our subscriptions, as last asked for (not yet acknowledged ones included). */
  get subscriptions(): Subscription[] {
    return [...this.subs.values()].map((e) => e.sub);
  }

  // ---- connection lifecycle

  /** A new network connection is up: queues its CONNECT. */
  startConnection(nowUs: number): void {
    if (this.phaseNow !== 'idle') this.connectionLost();
    this.phaseNow = 'connecting';
    this.closeError = undefined;
    this.decoder = new MqttDecoder({ version: this.version, maxPacketSize: this.maxPacketSize });
    this.out = [];
    this.pingOutstanding = false;
    this.kaDueUs = undefined;
    this.aliasesIn.reset();
    this.aliasesOut.reset(0);
    this.send(encodePacket(this.connectPacket(), this.version), nowUs);
  }

  /** The network connection is gone: session state stays for the next one. */
  connectionLost(): void {
    if (this.phaseNow === 'idle') return;
    this.phaseNow = 'idle';
    this.out = [];
    this.kaDueUs = undefined;
    this.pingOutstanding = false;
    // requests the broker may not have seen are asked again on the next connection
    const lost = [...this.requests.values()];
    for (const pid of this.requests.keys()) this.ids.release(pid);
    this.requests.clear();
    this.waiting = [...lost, ...this.waiting];
  }

  /**
   * Ends the connection in order: DISCONNECT (5.0: with `reasonCode`, 0x04 to have the broker
   * publish the will anyway), then `closed`. The session state stays for a later connection.
   */
  disconnect(nowUs: number, reasonCode = 0, properties?: MqttProperties): void {
    if (this.phaseNow === 'idle' || this.phaseNow === 'closing') return;
    const p: MqttPacket = this.version === 5 ? { type: 'disconnect', reasonCode, properties } : { type: 'disconnect', reasonCode: 0 };
    this.send(encodePacket(p, this.version), nowUs);
    this.phaseNow = 'closing';
    this.kaDueUs = undefined;
  }

  // ---- user operations

  /**
   * Publishes (or queues) a message; returns its id, which 'published' or 'dropped' events
   * name later (QoS 0 has no 'published'). Throws MqttEncodeError for what MQTT cannot carry,
   * and MqttError ERR_MQTT_QUEUE_FULL when the message must wait, the queue is full and the
   * policy is 'refuse'. Other policies drop a message with a 'dropped' event (takeEvents()), as
   * do the broker's limits (QoS, retain), whether the message was sent at once or queued.
   */
  publish(m: MqttMessageInit, nowUs: number): number {
    this.checkMessage(m);
    const msg = this.outgoing(m, nowUs);
    if (this.phaseNow === 'connected' && this.queue.size === 0 && (msg.qos === 0 || this.windowOpen())) {
      const bad = this.unsendable(msg);
      if (bad) this.events.push({ type: 'dropped', id: msg.id, topic: msg.topic, reason: bad.reason, error: bad.error });
      else this.sendPublish(msg, nowUs, 'publish');
      return msg.id;
    }
    this.enqueue(msg, nowUs);
    this.pump(nowUs);
    return msg.id;
  }

  /**
   * Subscribes (at once, or on the next connection); returns the id its 'suback' event
   * carries. The subscriptions route incoming messages from now on.
   */
  subscribe(subs: Subscription[], nowUs: number, properties?: MqttProperties): number {
    if (!Array.isArray(subs) || subs.length === 0) throw new MqttEncodeError('ERR_MQTT_ENCODE', 'subscribe needs at least one subscription', { packet: 'subscribe', field: 'subscriptions' });
    for (const s of subs) {
      if (typeof s?.filter !== 'string' || !isValidTopicFilter(s.filter, this.version)) {
        throw new MqttEncodeError('ERR_MQTT_ENCODE', `subscribe: "${String(s?.filter)}" is not a valid topic filter`, { packet: 'subscribe', field: 'filter' });
      }
    }
    // the whole packet is checked before anything changes
    encodePacket({ type: 'subscribe', packetId: 1, subscriptions: subs, properties }, this.version);
    const id = ++this.requestSeq;
    for (const s of subs) {
      const sub = { ...s };
      this.subs.delete(s.filter);
      this.subs.set(s.filter, { sub, properties, match: splitShared(s.filter)?.filter ?? s.filter, requestId: id });
    }
    this.request({ kind: 'subscribe', id, filters: subs.map((s) => s.filter), subs: subs.map((s) => ({ ...s })), properties, resubscribe: false }, nowUs);
    return id;
  }

  /** Unsubscribes (at once, or on the next connection); returns the id of its 'unsuback'. */
  unsubscribe(filters: string[], nowUs: number, properties?: MqttProperties): number {
    if (!Array.isArray(filters) || filters.length === 0) throw new MqttEncodeError('ERR_MQTT_ENCODE', 'unsubscribe needs at least one topic filter', { packet: 'unsubscribe', field: 'filters' });
    encodePacket({ type: 'unsubscribe', packetId: 1, filters, properties }, this.version);
    const id = ++this.requestSeq;
    for (const f of filters) this.subs.delete(f);
    this.request({ kind: 'unsubscribe', id, filters: [...filters], subs: undefined, properties, resubscribe: false }, nowUs);
    return id;
  }

  /**
   * The owner is finished with this session (the client ended or gave up): every message queued
   * or in flight is reported 'dropped' with ERR_MQTT_CLOSED, so no QoS 1/2 publish goes
   * unanswered. The events are in takeEvents().
   */
  abandon(): void {
    const drop = (m: Outgoing): void => {
      this.events.push({ type: 'dropped', id: m.id, topic: m.topic, reason: 'closed', error: new MqttError('ERR_MQTT_CLOSED', `the client ended before message ${m.id} to "${m.topic}" was complete`, undefined, 'client', { id: m.id }) });
    };
    for (const m of this.inflight.values()) {
      this.ids.release(m.packetId);
      drop(m);
    }
    this.inflight.clear();
    for (let m = this.queue.shift(); m !== undefined; m = this.queue.shift()) drop(m);
  }

  /** Events produced by user calls (drops); receive() and onTimer() return them too. */
  takeEvents(): MqttSessionEvent[] {
    const e = this.events;
    if (e.length) this.events = [];
    return e;
  }

  // ---- WsiMachine

  receive(bytes: Uint8Array, nowUs: number): MqttSessionEvent[] {
    if (this.phaseNow !== 'connecting' && this.phaseNow !== 'connected') return this.takeEvents();
    // packets that arrived whole before bad bytes in the same read are handled first
    const packets: MqttPacket[] = [];
    let failure: MqttProtocolError | undefined;
    try {
      this.decoder.push(bytes, packets);
    } catch (e) {
      if (!(e instanceof MqttProtocolError)) throw e;
      failure = e;
    }
    for (const p of packets) {
      this.handle(p, nowUs);
      if (this.phaseNow !== 'connecting' && this.phaseNow !== 'connected') return this.takeEvents();
    }
    if (failure) this.fail(failure, failure.reasonCode, nowUs);
    return this.takeEvents();
  }

  pendingOutput(): Uint8Array[] {
    const o = this.out;
    if (o.length === 0) return o;
    this.out = [];
    if (o.length === 1) return o;
    // many small packets leave as one write
    let n = 0;
    for (const b of o) n += b.length;
    const joined = new Uint8Array(n);
    n = 0;
    for (const b of o) {
      joined.set(b, n);
      n += b.length;
    }
    return [joined];
  }

  /** The keep-alive: the time by which something must have been sent. */
  nextDeadlineUs(): number | undefined {
    return this.kaDueUs;
  }

  onTimer(nowUs: number): MqttSessionEvent[] {
    const due = this.kaDueUs;
    if (due === undefined || nowUs < due) return this.takeEvents();
    // no keep-alive outside a live connection: a deadline left in the past would be re-armed every turn
    if (this.phaseNow !== 'connected') {
      this.kaDueUs = undefined;
      return this.takeEvents();
    }
    // only a PINGREQ when nothing else was sent for a whole keep-alive period (§3.1.2.10)
    if (nowUs - this.lastTxUs >= this.keepAliveUs) this.ping(nowUs);
    // a PINGREQ still unanswered sends nothing and lastTxUs stays put: look again a period from
    // now (the wsi's validity hang-up ends a silent broker), not at a time already past
    this.kaDueUs = (this.pingOutstanding ? Math.max(this.lastTxUs, nowUs) : this.lastTxUs) + this.keepAliveUs;
    return this.takeEvents();
  }

  /** The wsi heard nothing for a while: ask the broker for a PINGRESP. */
  validityPing(nowUs: number): void {
    if (this.phaseNow === 'connected') this.ping(nowUs);
  }

  // ---- incoming packets

  private handle(p: MqttPacket, now: number): void {
    if (this.phaseNow === 'connecting' && p.type !== 'connack') {
      return this.protocolError(`${p.type} before CONNACK`, now, { packet: p.type });
    }
    switch (p.type) {
      case 'connack':
        return this.onConnack(p, now);
      case 'publish':
        return this.onPublish(p, now);
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        return this.onPubAck(p, now);
      case 'suback':
      case 'unsuback':
        return this.onSubAck(p, now);
      case 'pingresp':
        this.pingOutstanding = false;
        this.events.push({ type: 'pong' });
        return;
      case 'disconnect': {
        this.events.push({ type: 'disconnect', reasonCode: p.reasonCode, properties: p.properties });
        const err = serverReasonError(p.reasonCode, PacketType.DISCONNECT, this.version, p.properties?.reasonString ? { reasonString: p.properties.reasonString } : undefined);
        this.end(err);
        return;
      }
      default:
        // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ only go to a server; AUTH needs a method we never set
        return this.protocolError(`a server may not send ${p.type}`, now, { packet: p.type });
    }
  }

  private onConnack(p: ConnackPacket, now: number): void {
    if (this.phaseNow !== 'connecting') return this.protocolError('a second CONNACK', now, { packet: 'connack' });
    if (p.reasonCode !== 0) {
      const detail: Record<string, unknown> = {};
      if (p.properties?.reasonString) detail['reasonString'] = p.properties.reasonString;
      if (p.properties?.serverReference) detail['serverReference'] = p.properties.serverReference;
      // the broker closes the connection: no DISCONNECT after a refused CONNECT (§3.2.2.2)
      this.end(serverReasonError(p.reasonCode, PacketType.CONNACK, this.version, detail));
      return;
    }
    const pr = p.properties;
    const limits = this.defaultLimits();
    if (pr) {
      if (pr.receiveMaximum !== undefined) limits.receiveMaximum = pr.receiveMaximum;
      if (pr.maximumQos !== undefined) limits.maximumQos = pr.maximumQos;
      if (pr.retainAvailable !== undefined) limits.retainAvailable = pr.retainAvailable;
      if (pr.maximumPacketSize !== undefined) limits.maximumPacketSize = pr.maximumPacketSize;
      if (pr.topicAliasMaximum !== undefined) limits.topicAliasMaximum = pr.topicAliasMaximum;
      if (pr.serverKeepAlive !== undefined) limits.keepAlive = pr.serverKeepAlive;
      if (pr.wildcardSubscriptionAvailable !== undefined) limits.wildcardSubscriptionAvailable = pr.wildcardSubscriptionAvailable;
      if (pr.subscriptionIdentifierAvailable !== undefined) limits.subscriptionIdentifierAvailable = pr.subscriptionIdentifierAvailable;
      if (pr.sharedSubscriptionAvailable !== undefined) limits.sharedSubscriptionAvailable = pr.sharedSubscriptionAvailable;
      if (pr.assignedClientIdentifier !== undefined) this.clientIdNow = pr.assignedClientIdentifier;
    }
    this.serverLimits = limits;
    this.phaseNow = 'connected';
    this.established = true;
    this.aliasesOut.reset(this.useAliases ? limits.topicAliasMaximum : 0);
    this.keepAliveUs = limits.keepAlive * 1e6;
    this.kaDueUs = limits.keepAlive > 0 ? this.lastTxUs + this.keepAliveUs : undefined;
    const present = p.sessionPresent;
    this.events.push({ type: 'connack', sessionPresent: present, clientId: this.clientIdNow, server: limits, properties: pr });

    if (present) {
      // §4.4: the only time MQTT re-sends: unacknowledged PUBLISH (DUP) and PUBREL, original ids
      for (const m of this.inflight.values()) {
        if (m.stage === 2) this.send(encodePacket({ type: 'pubrel', packetId: m.packetId, reasonCode: 0 }, this.version), now);
        else this.sendPublish(m, now, 'resend');
        if (this.phaseNow !== 'connected') return;
      }
    } else {
      this.awaitingRel.clear();
      const back = [...this.inflight.values()];
      this.inflight.clear();
      for (let i = back.length - 1; i >= 0; i--) {
        const m = back[i] as Outgoing;
        this.ids.release(m.packetId);
        m.packetId = 0;
        m.stage = 0;
        this.queue.unshift(m);
      }
      this.resubscribe();
    }
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) this.sendRequest(r, now);
    if (this.opts.birth) {
      this.queue.removeWhere((m) => m.birth);
      const b = this.outgoing(this.opts.birth, now);
      b.birth = true;
      const err = this.unsendable(b);
      if (err) this.events.push({ type: 'dropped', id: b.id, topic: b.topic, reason: err.reason, error: err.error });
      else if (b.qos === 0 || this.windowOpen()) this.sendPublish(b, now, 'pump');
      else this.queue.unshift(b);
    }
    this.pump(now);
  }

  private onPublish(p: PublishPacket, now: number): void {
    let topic = p.topic;
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      if (topic !== '') {
        if (!this.aliasesIn.define(alias, topic)) {
          return this.fail(clientReasonError(ReasonCode.TOPIC_ALIAS_INVALID, `publish: topic alias ${alias} is outside 1..${this.aliasesIn.max}`, { packet: 'publish', alias }), ReasonCode.TOPIC_ALIAS_INVALID, now);
        }
      } else {
        const t = alias >= 1 && alias <= this.aliasesIn.max ? this.aliasesIn.resolve(alias) : undefined;
        if (t === undefined) {
          if (alias < 1 || alias > this.aliasesIn.max) {
            return this.fail(clientReasonError(ReasonCode.TOPIC_ALIAS_INVALID, `publish: topic alias ${alias} is outside 1..${this.aliasesIn.max}`, { packet: 'publish', alias }), ReasonCode.TOPIC_ALIAS_INVALID, now);
          }
          return this.protocolError(`publish: topic alias ${alias} was never defined`, now, { packet: 'publish', alias });
        }
        topic = t;
      }
    }
    const id = p.packetId as number;
    if (p.qos === 2) {
      if (this.awaitingRel.has(id)) {
        // a re-send of one already delivered: exactly once means not again. A re-send always
        // carries DUP (§3.3.1.1) and an id is not reused before PUBCOMP, so DUP 0 under an id we
        // hold is a new message from a broker that lost its state (mosquitto restarted from an
        // older save): delivered, not dropped as a duplicate, since dropping it loses it
        if (p.dup) {
          this.send(encodePacket({ type: 'pubrec', packetId: id, reasonCode: 0 }, this.version), now);
          return;
        }
      } else if (this.version === 5 && this.awaitingRel.size >= this.receiveMaximum * RECEIVE_MAXIMUM_SLACK) {
        return this.fail(
          clientReasonError(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, `publish: ${this.awaitingRel.size} QoS 2 messages unreleased already, ${RECEIVE_MAXIMUM_SLACK} × our Receive Maximum ${this.receiveMaximum}`, { packet: 'publish' }),
          ReasonCode.RECEIVE_MAXIMUM_EXCEEDED,
          now,
        );
      }
    }
    const matches: string[] = [];
    for (const e of this.subs.values()) if (topicMatches(e.match, topic)) matches.push(e.sub.filter);
    this.events.push({ type: 'message', message: { topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, properties: p.properties, matches } });
    if (p.qos === 1) this.send(encodePacket({ type: 'puback', packetId: id, reasonCode: 0 }, this.version), now);
    else if (p.qos === 2) {
      this.awaitingRel.add(id);
      this.send(encodePacket({ type: 'pubrec', packetId: id, reasonCode: 0 }, this.version), now);
    }
  }

  private onPubAck(p: PubAckPacket, now: number): void {
    const id = p.packetId;
    if (p.type === 'pubrel') {
      const known = this.awaitingRel.delete(id);
      const rc = known || this.version === 4 ? 0 : ReasonCode.PACKET_IDENTIFIER_NOT_FOUND;
      this.send(encodePacket({ type: 'pubcomp', packetId: id, reasonCode: rc }, this.version), now);
      return;
    }
    const m = this.inflight.get(id);
    if (p.type === 'pubrec') {
      if (m === undefined || m.qos !== 2) {
        // §4.3.3: answer anyway, so the broker can forget the id
        const rc = this.version === 4 ? 0 : ReasonCode.PACKET_IDENTIFIER_NOT_FOUND;
        this.send(encodePacket({ type: 'pubrel', packetId: id, reasonCode: rc }, this.version), now);
        return;
      }
      if (p.reasonCode >= 0x80) return this.complete(m, p, now);
      m.stage = 2;
      this.send(encodePacket({ type: 'pubrel', packetId: id, reasonCode: 0 }, this.version), now);
      return;
    }
    // PUBACK for QoS 1, PUBCOMP for QoS 2 past PUBREC; anything else for an id we do not
    // hold is a late duplicate and is ignored
    if (m === undefined) return;
    if (p.type === 'puback' ? m.qos !== 1 : m.stage !== 2) return this.protocolError(`${p.type} for packet ${id}, a QoS ${m.qos} message`, now, { packet: p.type, packetId: id });
    this.complete(m, p, now);
  }

  private complete(m: Outgoing, p: PubAckPacket, now: number): void {
    this.inflight.delete(m.packetId);
    this.ids.release(m.packetId);
    const error = p.reasonCode >= 0x80 ? serverReasonError(p.reasonCode, PUBACK_TYPES[p.type], this.version, { topic: m.topic, id: m.id }) : undefined;
    this.events.push({ type: 'published', id: m.id, reasonCode: p.reasonCode, error });
    this.pump(now);
  }

  private onSubAck(p: SubackPacket | UnsubackPacket, now: number): void {
    const r = this.requests.get(p.packetId);
    const kind = p.type === 'suback' ? 'subscribe' : 'unsubscribe';
    if (r === undefined || r.kind !== kind) return this.protocolError(`${p.type} for packet ${p.packetId}, which has no ${kind} outstanding`, now, { packet: p.type, packetId: p.packetId });
    // 3.1.1's UNSUBACK carries no codes: every filter succeeded
    const codes = p.type === 'unsuback' && this.version === 4 ? r.filters.map(() => 0) : p.reasonCodes;
    if (codes.length !== r.filters.length) {
      return this.protocolError(`${p.type} carries ${codes.length} reason codes for ${r.filters.length} filters`, now, { packet: p.type, packetId: p.packetId });
    }
    this.requests.delete(p.packetId);
    this.ids.release(p.packetId);
    const errors: MqttError[] = [];
    const type = p.type === 'suback' ? PacketType.SUBACK : PacketType.UNSUBACK;
    codes.forEach((rc, i) => {
      if (rc < 0x80) return;
      const filter = r.filters[i] as string;
      errors.push(serverReasonError(rc, type, this.version, { filter }));
      // a refused subscription routes nothing (unless a later subscribe() replaced it)
      if (r.kind === 'subscribe' && this.subs.get(filter)?.requestId === r.id) this.subs.delete(filter);
    });
    if (r.kind === 'subscribe') this.events.push({ type: 'suback', id: r.id, filters: r.filters, reasonCodes: codes, errors, resubscribe: r.resubscribe });
    else this.events.push({ type: 'unsuback', id: r.id, filters: r.filters, reasonCodes: codes, errors });
  }

  // ---- sending

  private send(b: Uint8Array, now: number): void {
    this.out.push(b);
    this.lastTxUs = now;
  }

  private ping(now: number): void {
    if (this.pingOutstanding) return;
    this.pingOutstanding = true;
    this.send(encodePacket({ type: 'pingreq' }, this.version), now);
  }

  private windowOpen(): boolean {
    return this.inflight.size < Math.min(this.maxInflight, this.serverLimits.receiveMaximum);
  }

  /** Sends what waits, as the window allows. */
  private pump(now: number): void {
    const q = this.queue;
    while (this.phaseNow === 'connected' && q.size > 0) {
      const m = q.peek() as Outgoing;
      if (m.qos > 0 && !this.windowOpen()) return;
      q.shift();
      if (m.expiresAtUs >= 0 && m.expiresAtUs <= now) {
        this.events.push({ type: 'dropped', id: m.id, topic: m.topic, reason: 'expired', error: new MqttError('ERR_MQTT_MESSAGE_EXPIRED', `message ${m.id} to "${m.topic}" expired before it could be sent`, undefined, 'client', { id: m.id }) });
        continue;
      }
      const bad = this.unsendable(m);
      if (bad) {
        this.events.push({ type: 'dropped', id: m.id, topic: m.topic, reason: bad.reason, error: bad.error });
        continue;
      }
      this.sendPublish(m, now, 'pump');
    }
  }

  /** What the broker's limits rule out for `m`, if anything. */
  private unsendable(m: Outgoing): { reason: DropReason; error: LwsxError } | undefined {
    const s = this.serverLimits;
    if (m.qos > s.maximumQos) return { reason: 'qos-not-supported', error: clientReasonError(ReasonCode.QOS_NOT_SUPPORTED, `the broker takes QoS ${s.maximumQos} at most, message ${m.id} is QoS ${m.qos}`, { id: m.id }) };
    if (m.retain && !s.retainAvailable) return { reason: 'retain-not-supported', error: clientReasonError(ReasonCode.RETAIN_NOT_SUPPORTED, `the broker keeps no retained messages (message ${m.id})`, { id: m.id }) };
    return undefined;
  }

  /**
   * Encodes and queues one PUBLISH: a first send from publish() or from the queue (takes a
   * packet id and enters the window), or a re-send (DUP, same id). A packet over the broker's
   * Maximum Packet Size is thrown to publish()'s caller, otherwise dropped ('dropped').
   */
  private sendPublish(m: Outgoing, now: number, mode: 'publish' | 'pump' | 'resend'): void {
    const fresh = mode !== 'resend';
    let props = m.properties;
    if (m.expiresAtUs >= 0) {
      // the broker hears what is left of the interval (at least 1 s: it is still in flight)
      const left = Math.max(1, Math.ceil((m.expiresAtUs - now) / 1e6));
      props = { ...props, messageExpiryInterval: left };
    }
    let topic = m.topic;
    const alias = this.aliasesOut.assign(topic);
    if (alias !== 0) {
      props = { ...props, topicAlias: alias };
      if (this.aliasesOut.known) topic = '';
    }
    const pid = fresh && m.qos > 0 ? this.ids.take() : m.packetId;
    let b: Uint8Array;
    try {
      b = encodePacket(
        m.qos === 0
          ? { type: 'publish', topic, payload: m.payload, qos: 0, retain: m.retain, dup: false, properties: props }
          : { type: 'publish', topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: !fresh, packetId: pid, properties: props },
        this.version,
        this.serverLimits.maximumPacketSize,
      );
    } catch (e) {
      if (fresh && m.qos > 0) this.ids.release(pid);
      else if (!fresh) {
        this.inflight.delete(m.packetId);
        this.ids.release(m.packetId);
      }
      // an alias defined by a packet that never left must not be used
      if (alias !== 0 && !this.aliasesOut.known) this.aliasesOut.reset(this.useAliases ? this.serverLimits.topicAliasMaximum : 0);
      if (mode === 'publish') throw e;
      this.events.push({ type: 'dropped', id: m.id, topic: m.topic, reason: 'too-large', error: e as LwsxError });
      return;
    }
    if (fresh && m.qos > 0) {
      m.packetId = pid;
      m.stage = 1;
      this.inflight.set(pid, m);
    }
    this.send(b, now);
  }

  private enqueue(m: Outgoing, now: number): void {
    const q = this.queue;
    if (q.full) {
      // expired messages make room first: they would be dropped anyway
      for (const x of q.removeWhere((x) => x.expiresAtUs >= 0 && x.expiresAtUs <= now)) {
        this.events.push({ type: 'dropped', id: x.id, topic: x.topic, reason: 'expired', error: new MqttError('ERR_MQTT_MESSAGE_EXPIRED', `message ${x.id} to "${x.topic}" expired before it could be sent`, undefined, 'client', { id: x.id }) });
      }
    }
    if (q.full) {
      const full = (x: Outgoing): MqttError => new MqttError('ERR_MQTT_QUEUE_FULL', `${q.size} messages wait already (queue.max ${q.max}); message ${x.id} to "${x.topic}" is not queued`, undefined, 'client', { id: x.id, max: q.max });
      if (this.overflow === 'refuse') throw full(m);
      const dropped = this.overflow === 'drop-oldest' ? (q.shift() as Outgoing) : m;
      this.events.push({ type: 'dropped', id: dropped.id, topic: dropped.topic, reason: 'queue-full', error: full(dropped) });
      if (dropped === m) return;
    }
    q.push(m);
  }

  private request(r: Request, now: number): void {
    if (this.phaseNow === 'connected') this.sendRequest(r, now);
    else this.waiting.push(r);
  }

  private sendRequest(r: Request, now: number): void {
    const pid = this.ids.take();
    const p: MqttPacket =
      r.kind === 'subscribe'
        ? { type: 'subscribe', packetId: pid, subscriptions: r.subs as Subscription[], properties: r.properties }
        : { type: 'unsubscribe', packetId: pid, filters: r.filters, properties: r.properties };
    let b: Uint8Array;
    try {
      b = encodePacket(p, this.version, this.serverLimits.maximumPacketSize);
    } catch (e) {
      this.ids.release(pid);
      // too large for this broker: answer the request as failed rather than lose it
      const err = e as LwsxError;
      const codes = r.filters.map(() => ReasonCode.UNSPECIFIED_ERROR);
      const errors = r.filters.map((filter) => new MqttError(err.code, err.message, undefined, 'client', { filter }));
      if (r.kind === 'subscribe') {
        for (const f of r.filters) if (this.subs.get(f)?.requestId === r.id) this.subs.delete(f);
        this.events.push({ type: 'suback', id: r.id, filters: r.filters, reasonCodes: codes, errors, resubscribe: r.resubscribe });
      } else this.events.push({ type: 'unsuback', id: r.id, filters: r.filters, reasonCodes: codes, errors });
      return;
    }
    this.requests.set(pid, r);
    this.send(b, now);
  }

  /** The broker lost our subscriptions: ask for each again, unless a waiting request will. */
  private resubscribe(): void {
    const pending = new Set<string>();
    for (const r of this.waiting) if (r.kind === 'subscribe') for (const f of r.filters) pending.add(f);
    const again: Request[] = [];
    for (const e of this.subs.values()) {
      if (pending.has(e.sub.filter)) continue;
      again.push({ kind: 'subscribe', id: e.requestId, filters: [e.sub.filter], subs: [e.sub], properties: e.properties, resubscribe: true });
    }
    this.waiting = [...again, ...this.waiting];
  }

  // ---- failure

  private protocolError(message: string, now: number, detail: Record<string, unknown>): void {
    this.fail(new MqttProtocolError('ERR_MQTT_PROTOCOL', message, detail), ReasonCode.PROTOCOL_ERROR, now);
  }

  /** The broker broke MQTT: 5.0 says why in a DISCONNECT; the connection then closes. */
  private fail(err: LwsxError, reasonCode: number, now: number): void {
    if (this.version === 5) this.send(encodePacket({ type: 'disconnect', reasonCode }, 5), now);
    this.end(err);
  }

  private end(err: LwsxError): void {
    this.closeError = err;
    this.phaseNow = 'closing';
    this.kaDueUs = undefined;
    this.events.push({ type: 'error', error: err });
  }

  // ---- helpers

  private defaultLimits(): ServerLimits {
    return {
      receiveMaximum: 0xffff,
      maximumQos: 2,
      retainAvailable: true,
      maximumPacketSize: MAX_PACKET_SIZE,
      topicAliasMaximum: 0,
      keepAlive: this.keepAliveS,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifierAvailable: true,
      sharedSubscriptionAvailable: true,
    };
  }

  private connectPacket(): ConnectPacket {
    const o = this.opts;
    const p: ConnectPacket = {
      type: 'connect',
      version: this.version,
      clientId: this.clientIdNow,
      cleanStart: this.established && this.version === 5 ? false : (o.cleanStart ?? true),
      keepAlive: this.keepAliveS,
    };
    if (o.username !== undefined) p.username = o.username;
    if (o.password !== undefined) p.password = o.password;
    if (o.will !== undefined) p.will = o.will;
    if (this.version === 5) {
      const props: MqttProperties = { maximumPacketSize: this.maxPacketSize };
      if (o.sessionExpiryInterval) props.sessionExpiryInterval = o.sessionExpiryInterval;
      if (this.receiveMaximum !== 0xffff) props.receiveMaximum = this.receiveMaximum;
      if (this.aliasesIn.max > 0) props.topicAliasMaximum = this.aliasesIn.max;
      if (o.userProperties?.length) props.userProperties = o.userProperties;
      p.properties = props;
    }
    return p;
  }

  private checkMessage(m: MqttMessageInit): void {
    const fail = (field: string, why: string): never => {
      throw new MqttEncodeError('ERR_MQTT_ENCODE', `publish ${why}`, { packet: 'publish', field });
    };
    if (typeof m?.topic !== 'string' || !isValidTopicName(m.topic)) fail('topic', `topic "${String(m?.topic)}" is empty or has a wildcard`);
    if (!(m.payload instanceof Uint8Array)) fail('payload', 'payload must be a Uint8Array');
    const q = m.qos ?? 0;
    if (q !== 0 && q !== 1 && q !== 2) fail('qos', `qos must be 0, 1 or 2, not ${String(q)}`);
    if (m.properties?.topicAlias !== undefined) fail('topicAlias', 'topic aliases are chosen by the session');
    if (this.version === 4 && m.properties !== undefined && Object.values(m.properties).some((v) => v !== undefined)) fail('properties', 'properties need MQTT 5.0');
    const exp = m.properties?.messageExpiryInterval;
    // seconds the message lives: 0 is not "expire now" (sent it would be 1 s, queued dropped)
    if (exp !== undefined && (!Number.isInteger(exp) || exp < 1 || exp > 0xffffffff)) fail('messageExpiryInterval', `messageExpiryInterval must be an integer 1..4294967295, not ${String(exp)}`);
  }

  private outgoing(m: MqttMessageInit, now: number): Outgoing {
    const exp = m.properties?.messageExpiryInterval;
    let props = m.properties;
    if (exp !== undefined) {
      // the session writes what is left of it at each send
      props = { ...props };
      delete props.messageExpiryInterval;
    }
    return {
      id: ++this.messageSeq,
      topic: m.topic,
      payload: m.payload,
      qos: m.qos ?? 0,
      retain: m.retain ?? false,
      properties: props,
      expiresAtUs: exp === undefined ? -1 : now + exp * 1e6,
      packetId: 0,
      stage: 0,
      birth: false,
    };
  }
}
