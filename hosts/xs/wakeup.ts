/**
 * The loop end of the wakeup pair, exactly as libwebsockets wakes its loop on FreeRTOS/lwIP:
 * a UDP socket on a known port; a datagram from 127.0.0.1 (this task's wake(), or a Worker's
 * send from its own socket) makes the loop run. Datagrams from elsewhere are read and ignored,
 * because Moddable's UDP binds every interface and the LAN must not be able to spin the loop.
 *
 * The port is fixed (configurable) because Moddable's UDP cannot report the port it bound.
 * Wakeups coalesce: all datagrams waiting when onReadable fires make one run.
 */
import Timer from 'timer';
import UDP from 'embedded:io/socket/udp';
import type { NativeUdp } from './native.js';

/** in the dynamic range; "7681" after lws's default port */
export const DEFAULT_WAKE_PORT = 57681;

const LOOPBACK = '127.0.0.1';
const WAKE_BYTE = new Uint8Array([0x77]);

export class XsWake {
  readonly port: number;
  private readonly native: NativeUdp;
  private readonly onWake: () => void;
  private inFlight = false;
  private closed = false;

  constructor(port: number, onWake: () => void) {
    this.port = port;
    this.onWake = onWake;
    this.native = new UDP({ port, onReadable: (count: number) => this.onDatagrams(count) }) as unknown as NativeUdp;
  }

  wake(): void {
    if (this.closed || this.inFlight) return;
    this.inFlight = true;
    try {
      this.native.write(LOOPBACK, this.port, WAKE_BYTE);
    } catch {
      // no buffer for the datagram: the wakeup must not be lost with it
      this.inFlight = false;
      Timer.set(() => { if (!this.closed) this.onWake(); }, 0);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }

  private onDatagrams(count: number): void {
    let wake = false;
    for (let i = 0; i < count; i++) {
      const d = this.native.read();
      if (!d) break;
      if (d.address === LOOPBACK) wake = true;
    }
    if (wake) this.inFlight = false;
    if (wake && !this.closed) this.onWake();
  }
}
