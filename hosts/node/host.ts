/**
 * The Node.js Host: what the simulator and the tests run the core on. Clocks, the single wake
 * timer and the wakeup pair live here; sockets are in tcp.ts, tls.ts, listener.ts and udp.ts.
 * No protocol logic: bytes in, bytes out.
 *
 * Process lifetime: the wake timer is ref'd, so a loop with a deadline armed keeps Node alive
 * until it fires, as a device loop would keep running; the wake socket is unref'd (unless
 * `keepAlive`), so a loop with nothing armed and no sockets lets the process end. Sockets keep
 * the process alive as Node sockets always do.
 *
 * The loop runner is called straight from Node's timer and socket callbacks. If it throws, the
 * error is uncaught and ends the process: the runner (Context.service) is where callback errors
 * are caught and logged, so anything escaping it is a bug to see at once.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Host, NetIf, TcpOptions, TlsOptions, UdpOptions } from '../../src/net/host.js';
import { WakeTimer } from '../../src/net/wake-timer.js';
import { UsageError } from '../../src/util/errors.js';
import { wallClockUs } from './clock.js';
import { nodeInterfaces } from './interfaces.js';
import { NodeListener } from './listener.js';
import type { NodeListenOptions } from './listener.js';
import { DEFAULT_STREAM_LIMITS, NodeStream, connectTcp } from './tcp.js';
import type { StreamLimits } from './tcp.js';
import { NodeTlsStream, connectTls } from './tls.js';
import { DEFAULT_UDP_QUEUE, NodeUdp } from './udp.js';
import { WakeSocket } from './wakeup.js';
import { wsDeflater } from '../common/ws-deflater.js';
import type { MessageDeflater } from '../../src/protocols/ws/deflater.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';

export interface NodeHostOptions {
  /** bytes a stream may have queued for sending before write() reports no room (64 KiB) */
  highWaterMark?: number;
  /** unread received bytes per stream past which reading pauses (64 KiB) */
  readLimit?: number;
  /** unread datagrams per UDP socket past which new ones are dropped (64) */
  udpQueue?: number;
  /** keep the process alive while the loop waits for nothing but wakeups (false) */
  keepAlive?: boolean;
}

/** bytes of entropy random() draws from the kernel at a time for small requests */
const RANDOM_POOL = 4096;

/**
 * The wake timer's platform timer. A deadline already due (a deferred callback, a timer armed
 * for "now" inside a pass) runs from setImmediate: setTimeout(fn, 0) waits a whole millisecond
 * on Node, which would hold every deferred step (a writeable callback, resumed rx) that long.
 */
type PlatformHandle = { immediate: ReturnType<typeof setImmediate> } | { timeout: ReturnType<typeof setTimeout> };
const platformSet = (fn: () => void, ms: number): PlatformHandle => (ms <= 0 ? { immediate: setImmediate(fn) } : { timeout: setTimeout(fn, ms) });
const platformClear = (h: PlatformHandle): void => {
  if ('immediate' in h) clearImmediate(h.immediate);
  else clearTimeout(h.timeout);
};

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new UsageError('ERR_HOST_OPTION', `NodeHost: ${name} must be a positive integer`, { [name]: v });
  return v;
}

export class NodeHost implements Host {
  readonly name = 'node';
  /** why the loop ran: its wake timer, or a wakeup (from this thread or another) */
  readonly stats = { timerRuns: 0, wakeRuns: 0 };
  private readonly limits: StreamLimits;
  private readonly udpQueue: number;
  private readonly wake: WakeSocket;
  private runner: (() => void) | undefined;
  private readonly timer: WakeTimer<PlatformHandle>;
  private closed = false;
  private readonly randomPool = new Uint8Array(RANDOM_POOL);
  /** the next unused byte of randomPool; RANDOM_POOL when empty (it fills on first use) */
  private randomAt = RANDOM_POOL;

  /** A host whose wake socket is bound, so wakeTarget() can be handed out at once. */
  static async open(opts: NodeHostOptions = {}): Promise<NodeHost> {
    const h = new NodeHost(opts);
    await h.ready();
    return h;
  }

  constructor(opts: NodeHostOptions = {}) {
    this.limits = {
      highWaterMark: positiveInt('highWaterMark', opts.highWaterMark, DEFAULT_STREAM_LIMITS.highWaterMark),
      readLimit: positiveInt('readLimit', opts.readLimit, DEFAULT_STREAM_LIMITS.readLimit),
    };
    this.udpQueue = positiveInt('udpQueue', opts.udpQueue, DEFAULT_UDP_QUEUE);
    this.timer = new WakeTimer<PlatformHandle>({ set: platformSet, clear: platformClear }, () => this.nowUs(), () => {
      this.stats.timerRuns++;
      this.runner?.();
    });
    this.wake = new WakeSocket(() => {
      this.stats.wakeRuns++;
      this.runner?.();
    }, opts.keepAlive ?? false);
  }

  /** Resolves once the wake socket is bound (binding takes one turn of Node's loop). */
  ready(): Promise<void> {
    return this.wake.bound();
  }

  nowUs(): number {
    return Math.floor(performance.now() * 1000);
  }

  wallUs(): number {
    return wallClockUs();
  }

  /** The deadline the wake timer is armed for, if any. */
  get wakeTimerUs(): number | undefined {
    return this.timer.atUs;
  }

  /** Arms the one timer (re-arming replaces, undefined disarms). A no-op once closed. */
  setWakeTimer(atUs: number | undefined): void {
    this.timer.arm(atUs);
  }

  setLoopRunner(run: () => void): void {
    this.runner = run;
  }

  /** Makes the loop run soon; many calls before it runs make one run. A no-op once closed. */
  wakeup(): void {
    this.wake.wake();
  }

  wakeTarget(): { address: string; port: number } {
    if (this.closed) throw new UsageError('ERR_HOST_CLOSED', 'the host is closed');
    const port = this.wake.port;
    if (port === undefined) throw new UsageError('ERR_HOST_NOT_READY', 'the wake socket is still binding: await host.ready()');
    return { address: '127.0.0.1', port };
  }

  /**
   * Fills `into` from the kernel's CSPRNG. Small requests (the resolver asks two bytes at a
   * time, twice per question) are served from a pool of RANDOM_POOL bytes drawn in one
   * randomFillSync and refilled when it runs short, instead of one call each; bytes handed out
   * are zeroed in the pool, so none is given twice or kept. Larger requests go straight through.
   */
  random(into: Uint8Array): void {
    const n = into.length;
    if (n > RANDOM_POOL / 4) {
      randomFillSync(into);
      return;
    }
    const pool = this.randomPool;
    let at = this.randomAt;
    if (at + n > RANDOM_POOL) {
      randomFillSync(pool);
      at = 0;
    }
    for (let i = 0; i < n; i++) {
      into[i] = pool[at + i] as number;
      pool[at + i] = 0;
    }
    this.randomAt = at + n;
  }

  tcp(opts: TcpOptions): NodeStream {
    return connectTcp(opts, this.limits);
  }

  listener(opts: NodeListenOptions): NodeListener {
    return new NodeListener(opts, this.limits);
  }

  udp(opts: UdpOptions): NodeUdp {
    return new NodeUdp(opts, this.udpQueue);
  }

  tls(opts: TlsOptions): NodeTlsStream {
    return connectTls(opts, this.limits);
  }

  deflater(params: DeflateParams, role: 'client' | 'server'): MessageDeflater {
    return wsDeflater(params, role);
  }

  interfaces(): NetIf[] {
    return nodeInterfaces();
  }

  /** Disarms the timer and closes the wake socket; the loop will not run again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer.close();
    this.wake.close();
    this.runner = undefined;
  }
}
