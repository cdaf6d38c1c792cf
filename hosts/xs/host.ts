/**
 * The Moddable XS Host: the same contract as hosts/node, on Moddable's ECMA-419 IO
 * (embedded:io/socket/*), its `timer` and `time` modules and its `net` module. No protocol
 * logic: bytes in, bytes out. Sockets are in tcp.ts, tls.ts, listener.ts and udp.ts.
 *
 * The loop runner is called from Moddable's timer and socket callbacks; what it throws reaches
 * the XS host's unhandled-exception path, as any callback's would.
 */
import Timer from 'timer';
import type { Host, ListenOptions, NetIf, TcpOptions, TlsOptions, UdpOptions } from '../../src/net/host.js';
import { WakeTimer } from '../../src/net/wake-timer.js';
import { UsageError } from '../../src/util/errors.js';
import { MonotonicClock } from './clock.js';
import { xsInterfaces } from './interfaces.js';
import { XsListener } from './listener.js';
import type { XsStream } from './stream.js';
import { connectTcp } from './tcp.js';
import { connectTls } from './tls.js';
import { XsUdp } from './udp.js';
import { DEFAULT_WAKE_PORT, XsWake } from './wakeup.js';
import { wsDeflater } from '../common/ws-deflater.js';
import type { MessageDeflater } from '../../src/protocols/ws/deflater.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';

export interface XsHostOptions {
  /** UDP port of the loop's wake socket (57681); Workers send their wakeups there */
  wakePort?: number;
  /**
   * The board's entropy source. Without one, Math.random is used: Moddable's ESP32 port feeds
   * it from esp_random (c_rand), the hardware RNG; on other platforms give a real source.
   */
  entropy?: (into: Uint8Array) => void;
}

function mathRandomFill(into: Uint8Array): void {
  for (let i = 0; i < into.length; i += 4) {
    const r = Math.floor(Math.random() * 0x100000000);
    for (let k = 0; k < 4 && i + k < into.length; k++) into[i + k] = (r >>> (8 * k)) & 0xff;
  }
}

export class XsHost implements Host {
  readonly name = 'xs';
  private readonly clock = new MonotonicClock();
  private readonly wake: XsWake;
  private readonly entropy: (into: Uint8Array) => void;
  private runner: (() => void) | undefined;
  private readonly timer: WakeTimer<Timer>;
  private closed = false;

  constructor(opts: XsHostOptions = {}) {
    const port = opts.wakePort ?? DEFAULT_WAKE_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UsageError('ERR_HOST_OPTION', 'XsHost: wakePort must be 1..65535', { wakePort: port });
    }
    this.entropy = opts.entropy ?? mathRandomFill;
    this.timer = new WakeTimer<Timer>({ set: (fn, ms) => Timer.set(fn, ms), clear: (t) => Timer.clear(t) }, () => this.nowUs(), () => this.runner?.());
    this.wake = new XsWake(port, () => this.runner?.());
  }

  nowUs(): number {
    return this.clock.nowUs();
  }

  wallUs(): number {
    return Date.now() * 1000;
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
    return { address: '127.0.0.1', port: this.wake.port };
  }

  random(into: Uint8Array): void {
    this.entropy(into);
  }

  tcp(opts: TcpOptions): XsStream {
    return connectTcp(opts);
  }

  listener(opts: ListenOptions): XsListener {
    return new XsListener(opts);
  }

  udp(opts: UdpOptions): XsUdp {
    return new XsUdp(opts);
  }

  tls(opts: TlsOptions): XsStream {
    return connectTls(opts);
  }

  deflater(params: DeflateParams, role: 'client' | 'server'): MessageDeflater {
    return wsDeflater(params, role);
  }

  interfaces(): NetIf[] {
    return xsInterfaces();
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
