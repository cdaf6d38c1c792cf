/**
 * The loop end of the wakeup pair, as libwebsockets does it on FreeRTOS/lwIP: a UDP socket on
 * 127.0.0.1 that the loop owns. Any datagram that reaches it, from this thread (wake()) or from
 * a worker (nodeWaker), makes the loop run soon.
 *
 * Coalescing: however many datagrams arrive before the loop gets to run, it runs once, and a
 * datagram arriving after that run has started makes it run again. So every wake is followed by
 * at least one run that starts after it, which is all a waker may rely on.
 *
 * The socket is unref'd unless `keepAlive` is set: an idle loop with nothing armed should not
 * keep a Node process (a test, a CLI) alive by itself. Workers that may wake it keep the
 * process alive on their own.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

/** the payload is irrelevant: arrival is the message */
const WAKE_BYTE = new Uint8Array([0x77]);

export class WakeSocket {
  /** datagrams received (each one a wakeup, before coalescing) */
  datagrams = 0;
  private readonly socket: Socket;
  private readonly onWake: () => void;
  private boundPort: number | undefined;
  private runQueued = false;
  private selfWakeInFlight = false;
  private closed = false;
  private readonly boundWaiters: Array<{ ok(): void; fail(e: Error): void }> = [];
  private failure: Error | undefined;

  constructor(onWake: () => void, keepAlive = false) {
    this.onWake = onWake;
    this.socket = createSocket('udp4');
    this.socket.on('message', this.onDatagram);
    this.socket.on('listening', () => {
      this.boundPort = this.socket.address().port;
      for (const w of this.boundWaiters.splice(0)) w.ok();
    });
    this.socket.on('error', (e) => {
      this.failure ??= e;
      for (const w of this.boundWaiters.splice(0)) w.fail(e);
    });
    this.socket.bind({ address: '127.0.0.1', port: 0 });
    if (!keepAlive) this.socket.unref();
  }

  /** The port workers send to; undefined while binding. */
  get port(): number | undefined {
    return this.boundPort;
  }

  bound(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.boundPort !== undefined) return Promise.resolve();
    return new Promise((ok, fail) => this.boundWaiters.push({ ok, fail }));
  }

  /**
   * Wakes the loop from this thread through the same datagram path a worker uses. While the
   * socket is still binding there is no port to send to, so the run is queued directly.
   */
  wake(): void {
    if (this.closed) return;
    if (this.boundPort === undefined) {
      this.queueRun();
      return;
    }
    // one datagram in flight is enough: its arrival runs the loop after this call
    if (this.selfWakeInFlight) return;
    this.selfWakeInFlight = true;
    this.socket.send(WAKE_BYTE, this.boundPort, '127.0.0.1', (e) => {
      if (e) {
        // the datagram is lost (buffer exhausted): do not lose the wakeup with it
        this.selfWakeInFlight = false;
        this.queueRun();
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('message', this.onDatagram);
    this.socket.close();
  }

  private readonly onDatagram = (): void => {
    this.datagrams++;
    this.selfWakeInFlight = false;
    this.queueRun();
  };

  private queueRun(): void {
    if (this.runQueued || this.closed) return;
    this.runQueued = true;
    setImmediate(() => {
      this.runQueued = false;
      if (!this.closed) this.onWake();
    });
  }
}
