/**
 * A Host with a manual clock and no network, in plain ECMAScript, so the same boot runs in Node
 * and inside XS. `run()` plays the loop: it jumps the clock to each armed deadline and services.
 */
import type { Host, ListenOptions, Listener, NetIf, TCP, TcpOptions, UDP, UdpOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';

export class VirtualHost implements Host {
  readonly name = 'virtual';
  now = 1_000_000;
  wall = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
  wakeAt: number | undefined;
  private runner: (() => void) | undefined;
  private seed = 0x2545f491;

  nowUs(): number { return this.now; }
  wallUs(): number { return this.wall + this.now; }
  setWakeTimer(atUs: number | undefined): void { this.wakeAt = atUs; }
  setLoopRunner(run: () => void): void { this.runner = run; }
  wakeup(): void { this.runner?.(); }
  wakeTarget(): { address: string; port: number } { return { address: '127.0.0.1', port: 0 }; }
  random(into: Uint8Array): void {
    // xorshift32: deterministic, so Node and XS agree
    for (let i = 0; i < into.length; i++) {
      let x = this.seed;
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      this.seed = x;
      into[i] = x & 0xff;
    }
  }
  tcp(_opts: TcpOptions): TCP { throw new UsageError('ERR_NO_NETWORK', 'the virtual host has no network'); }
  listener(_opts: ListenOptions): Listener { throw new UsageError('ERR_NO_NETWORK', 'the virtual host has no network'); }
  udp(_opts: UdpOptions): UDP { throw new UsageError('ERR_NO_NETWORK', 'the virtual host has no network'); }
  interfaces(): NetIf[] {
    return [{ name: 'lo', mac: '00:00:00:00:00:00', up: true, addresses: [{ family: 'IPv4', address: '127.0.0.1', prefixLength: 8 }] }];
  }
  close(): void { this.wakeAt = undefined; this.runner = undefined; }

  /**
   * Runs the loop until nothing is armed or `untilUs` passes, letting promise jobs settle
   * between iterations (a policy load resolves as a promise).
   */
  async run(untilUs = this.now + 60_000_000): Promise<void> {
    for (let spins = 0; spins < 100_000; spins++) {
      await Promise.resolve();
      await Promise.resolve();
      if (this.wakeAt === undefined || !this.runner) return;
      if (this.wakeAt > untilUs) return;
      if (this.wakeAt > this.now) this.now = this.wakeAt;
      this.runner();
    }
  }
}
