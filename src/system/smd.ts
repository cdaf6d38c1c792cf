/**
 * SMD — lws System Message Distribution (lib/system/smd): small, class-tagged, timestamped
 * messages between independent parts of the device (system state, network, user interaction).
 *
 * As in lws:
 *  - a peer registers a 32-bit class mask; a message goes to every peer whose mask intersects
 *    its class, the sender included (peers are not tied to senders);
 *  - a union of all peers' masks rejects uninteresting messages at send time, before anything
 *    is allocated: send() returns false and does no work at all;
 *  - delivery is never inside send(): a sul at "now" runs it on a later loop iteration, so a
 *    peer's callback never re-enters the sender;
 *  - the queue is bounded (lws: smd_queue_depth) and messages older than the TTL at delivery
 *    time are dropped (lws: smd_ttl_us); payloads are at most 384 bytes (LWS_SMD_MAX_PAYLOAD).
 *
 * Decisions where lws is silent or differs:
 *  - a full queue is a runtime condition, not a bug: send() returns false (as lws returns
 *    failure) and counts it in stats.dropped; it does not throw;
 *  - a message is for the peers registered when it was sent (each peer has an increasing
 *    serial; a message remembers the last serial issued): a later peer never sees it, and a
 *    peer unregistered before delivery does not get it;
 *  - delivery is message by message in timestamp order, each to the interested peers in
 *    registration order (lws goes round-robin one message per peer per pass; per peer the order
 *    is the same);
 *  - a peer whose callback throws does not stop the others: it is counted (stats.peerErrors)
 *    and reported to onPeerError;
 *  - all interested peers share one copy of the payload: it is valid for the callback only,
 *    and must not be modified (as the lws buffer).
 *
 * Defaults are lws's FreeRTOS ones (20 messages, 5 s), since lwsx targets devices; lws on a
 * desktop OS uses 40 and 2 s — pass them in the options to match it.
 */
import { Sul } from '../loop/sul.js';
import { LwsxError, UsageError } from '../util/errors.js';
import { utf8Encode } from '../util/utf8.js';

/** lws_smd class bits (LWSSMDCL_*). */
export const SMD_CLASS_INTERACTION = 1 << 0;
export const SMD_CLASS_SYSTEM_STATE = 1 << 1;
export const SMD_CLASS_NETWORK = 1 << 2;
export const SMD_CLASS_METRICS = 1 << 3;
export const SMD_CLASS_DNS = 1 << 4;
/** LWSSMDCL_USER_BASE_BITNUM: bits 24..31 are for applications */
export const SMD_CLASS_USER_BASE_BITNUM = 24;

/** The class bit for application class `n` (0..7). */
export function smdUserClass(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 31 - SMD_CLASS_USER_BASE_BITNUM) {
    throw new UsageError('ERR_SMD_CLASS', `user class ${n} is outside 0..${31 - SMD_CLASS_USER_BASE_BITNUM}`, { n });
  }
  return (1 << (SMD_CLASS_USER_BASE_BITNUM + n)) >>> 0;
}

export const SMD_MAX_PAYLOAD = 384;
export const SMD_DEFAULT_QUEUE_DEPTH = 20;
export const SMD_DEFAULT_TTL_US = 5_000_000;

/** What Smd needs from the loop; the Context implements it. */
export interface SmdLoop {
  nowUs(): number;
  scheduleAt(sul: Sul, atUs: number): void;
  cancel(sul: Sul): void;
}

export type SmdCallback = (cls: number, timestampUs: number, payload: Uint8Array) => void;

export interface SmdOptions {
  loop: SmdLoop;
  maxQueueDepth?: number;
  ttlUs?: number;
  onPeerError?: (err: SmdPeerError) => void;
}

export interface SmdStats {
  /** messages accepted into the queue */
  sent: number;
  /** callbacks made (one message to three peers counts three) */
  delivered: number;
  /** refused because the queue was full */
  dropped: number;
  /** discarded at delivery time for being older than the TTL */
  expired: number;
  /** peer callbacks that threw */
  peerErrors: number;
}

/** A peer's callback threw; `cause` is what it threw. */
export class SmdPeerError extends LwsxError {
  constructor(peer: string, cls: number, cause: unknown) {
    super('ERR_SMD_PEER_THREW', `smd peer "${peer}" threw handling class 0x${cls.toString(16)}`, { peer, cls }, cause);
  }
}

export class SmdPeer {
  readonly name: string;
  readonly classMask: number;
  readonly cb: SmdCallback;
  /** registration serial: the peer receives messages sent while serial <= their peer horizon */
  readonly serial: number;
  registered = true;

  constructor(name: string, classMask: number, cb: SmdCallback, serial: number) {
    this.name = name;
    this.classMask = classMask;
    this.cb = cb;
    this.serial = serial;
  }
}

interface SmdMessage {
  readonly cls: number;
  readonly timestampUs: number;
  readonly payload: Uint8Array;
  /** the last peer serial issued when it was sent */
  readonly horizon: number;
}

export class Smd {
  readonly stats: SmdStats = { sent: 0, delivered: 0, dropped: 0, expired: 0, peerErrors: 0 };
  readonly maxQueueDepth: number;
  readonly ttlUs: number;
  private readonly loop: SmdLoop;
  private readonly onPeerError: ((err: SmdPeerError) => void) | undefined;
  private readonly peers: SmdPeer[] = [];
  /** union of every registered peer's mask */
  private unionMask = 0;
  private serial = 0;
  private readonly queue: SmdMessage[] = [];
  private readonly sul = new Sul(() => this.distribute());
  private delivering = false;

  constructor(opts: SmdOptions) {
    const depth = opts.maxQueueDepth ?? SMD_DEFAULT_QUEUE_DEPTH;
    const ttl = opts.ttlUs ?? SMD_DEFAULT_TTL_US;
    if (!Number.isInteger(depth) || depth < 1) {
      throw new UsageError('ERR_SMD_CONFIG', `smd maxQueueDepth must be an integer >= 1, not ${depth}`, { maxQueueDepth: depth });
    }
    if (!(ttl > 0) || !Number.isFinite(ttl)) {
      throw new UsageError('ERR_SMD_CONFIG', `smd ttlUs must be a positive number of µs, not ${ttl}`, { ttlUs: ttl });
    }
    this.loop = opts.loop;
    this.maxQueueDepth = depth;
    this.ttlUs = ttl;
    this.onPeerError = opts.onPeerError;
  }

  /** Messages queued and not yet delivered. */
  get pending(): number {
    return this.queue.length;
  }

  /** Joins as a participant for the classes in `classMask` (lws_smd_register). */
  register(classMask: number, cb: SmdCallback, name = 'peer'): SmdPeer {
    const peer = new SmdPeer(name, classMask >>> 0, cb, ++this.serial);
    this.peers.push(peer);
    this.unionMask = (this.unionMask | peer.classMask) >>> 0;
    return peer;
  }

  /** Leaves; undelivered messages are not given to it. Unregistering twice is harmless. */
  unregister(peer: SmdPeer): void {
    if (!peer.registered) return;
    peer.registered = false;
    const i = this.peers.indexOf(peer);
    if (i >= 0) this.peers.splice(i, 1);
    let mask = 0;
    for (const p of this.peers) mask |= p.classMask;
    this.unionMask = mask >>> 0;
  }

  /**
   * Queues a message of class `cls` for every interested peer; strings are sent as UTF-8.
   * Returns false when nobody listens for `cls` (nothing done) or the queue is full (counted in
   * stats.dropped). A payload over 384 bytes is a usage error ('ERR_SMD_PAYLOAD_SIZE').
   */
  send(cls: number, payload: Uint8Array | string): boolean {
    // the fast path must stay free of allocation: one AND against the union
    if (((cls & this.unionMask) >>> 0) === 0) return false;
    const bytes = typeof payload === 'string' ? utf8Encode(payload) : payload.slice();
    if (bytes.length > SMD_MAX_PAYLOAD) {
      throw new UsageError('ERR_SMD_PAYLOAD_SIZE', `smd payload of ${bytes.length} bytes exceeds ${SMD_MAX_PAYLOAD}`, {
        size: bytes.length,
        max: SMD_MAX_PAYLOAD,
      });
    }
    if (this.queue.length >= this.maxQueueDepth) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push({ cls: cls >>> 0, timestampUs: this.loop.nowUs(), payload: bytes, horizon: this.serial });
    this.stats.sent++;
    // sent from a callback during delivery: the end of that pass reschedules
    if (!this.delivering && !this.sul.armed) this.loop.scheduleAt(this.sul, this.loop.nowUs());
    return true;
  }

  /** Drops every message and peer and disarms delivery (context teardown). */
  destroy(): void {
    this.loop.cancel(this.sul);
    this.queue.length = 0;
    for (const p of this.peers) p.registered = false;
    this.peers.length = 0;
    this.unionMask = 0;
  }

  /**
   * Delivers what was queued when the pass began. Messages sent by callbacks meanwhile wait for
   * the next pass (one µs later), so two peers answering each other cannot hold the loop.
   */
  private distribute(): void {
    const now = this.loop.nowUs();
    const count = this.queue.length;
    // one snapshot per pass: peers leaving mid-pass are skipped by `registered`, and peers
    // joining mid-pass are past every queued message's horizon
    const peers = this.peers.slice();
    this.delivering = true;
    try {
      for (let m = 0; m < count; m++) {
        const msg = this.queue.shift() as SmdMessage;
        if (now - msg.timestampUs > this.ttlUs) {
          this.stats.expired++;
          continue;
        }
        for (const peer of peers) {
          if (!peer.registered || peer.serial > msg.horizon || ((peer.classMask & msg.cls) >>> 0) === 0) continue;
          this.stats.delivered++;
          try {
            peer.cb(msg.cls, msg.timestampUs, msg.payload);
          } catch (thrown) {
            this.stats.peerErrors++;
            this.onPeerError?.(new SmdPeerError(peer.name, msg.cls, thrown));
          }
        }
      }
    } finally {
      this.delivering = false;
      if (this.queue.length > 0) this.loop.scheduleAt(this.sul, this.loop.nowUs() + 1);
    }
  }
}
