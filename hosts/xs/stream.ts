/**
 * A connected stream (plain TCP or TLS) over Moddable's ECMA-419 sockets, with the semantics
 * the core expects from every host:
 *  - onWritable(count) when the stream is ready, then only after write() has returned <= 0;
 *  - write() never throws for lack of room: what the native socket cannot take now waits here
 *    and goes out as onWritable reports room (the native write throws "would block" instead);
 *    the return value is the native room left, or minus what waits here;
 *  - read(max) never asks the native socket for more than it said it holds (that throws).
 * close() sends what still waits here before closing, as lwIP's tcp_close sends what it holds.
 */
import type { Bytes, SocketCallbacks, TCP } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { XsSocketError } from './errors.js';
import type { XsSocketErrorCode } from './errors.js';
import { exactArrayBuffer } from './native.js';
import type { NativeStream } from './native.js';

/** Native callbacks to construct the native socket with; they feed the XsStream. */
export interface NativeCallbacks {
  onReadable(count: number): void;
  onWritable(count: number): void;
  onError(): void;
}

export class XsStream implements TCP {
  private native: NativeStream | undefined;
  private readonly cb: SocketCallbacks;
  private readonly tls: boolean;
  /** largest single native write (a TLS record carries at most 16 KiB) */
  private readonly maxPiece: number;
  private readable = 0;
  private writable = 0;
  private readonly queue: Array<{ buf: ArrayBuffer; off: number }> = [];
  private queued = 0;
  private ready = false;
  private waitingWritable = false;
  private failure: XsSocketError | undefined;
  private closing = false;
  private finished = false;

  constructor(callbacks: SocketCallbacks, tls: boolean) {
    this.cb = callbacks;
    this.tls = tls;
    this.maxPiece = tls ? 16384 : 0x7fffffff;
  }

  /** The callbacks to give the native socket's constructor. */
  nativeCallbacks(): NativeCallbacks {
    return {
      onReadable: (n) => this.onNativeReadable(n),
      onWritable: (n) => this.onNativeWritable(n),
      onError: () => this.onNativeError(),
    };
  }

  /** Binds the native socket made with nativeCallbacks() (its callbacks arrive later, as messages). */
  attach(native: NativeStream): this {
    this.native = native;
    return this;
  }

  get remoteAddress(): string | undefined {
    return this.native?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.native?.remotePort;
  }

  read(max?: number): ArrayBuffer | undefined {
    if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
      throw new UsageError('ERR_TCP_READ', 'read(max): max must be a positive integer', { max });
    }
    if (this.readable <= 0 || !this.native || this.finished) return undefined;
    const n = max === undefined ? this.readable : Math.min(max, this.readable);
    const b = this.native.read(n);
    if (!(b instanceof ArrayBuffer)) {
      this.readable = 0;
      return undefined;
    }
    this.readable = Math.max(0, this.readable - b.byteLength);
    return b;
  }

  write(data: Bytes): number {
    if (this.closing || (this.finished && !this.failure)) throw new UsageError('ERR_SOCKET_CLOSED', 'write after close()');
    if (this.failure) throw new XsSocketError(this.failure.code, 'write on a connection that has ended', undefined, this.failure);
    const buf = exactArrayBuffer(data);
    if (buf.byteLength === 0) return this.room();
    // the caller may reuse its buffer once we return, so what waits here is our own copy
    this.queue.push({ buf: buf === data ? buf.slice(0) : buf, off: 0 });
    this.queued += buf.byteLength;
    this.flush();
    const room = this.room();
    if (room <= 0) this.waitingWritable = true;
    return room;
  }

  /** Sends what waits here, then closes. No callback runs afterwards. */
  close(): void {
    if (this.closing || this.finished) return;
    this.closing = true;
    if (this.queued === 0 || !this.ready) this.finish();
  }

  private room(): number {
    return this.queued > 0 ? -this.queued : this.writable;
  }

  private onNativeReadable(count: number): void {
    if (this.finished || this.closing) return;
    this.readable = count;
    this.cb.onReadable?.(count);
  }

  private onNativeWritable(count: number): void {
    if (this.finished) return;
    this.writable = count;
    const first = !this.ready;
    this.ready = true;
    this.flush();
    if (this.closing) {
      if (this.queued === 0) this.finish();
      return;
    }
    if (this.queued === 0 && this.writable > 0 && (first || this.waitingWritable)) {
      this.waitingWritable = false;
      this.cb.onWritable?.(this.writable);
    }
  }

  private onNativeError(): void {
    if (this.finished) return;
    const code: XsSocketErrorCode = this.ready ? 'ERR_TCP_CLOSED' : this.tls ? 'ERR_TLS_HANDSHAKE' : 'ERR_TCP_CONNECT';
    const message = this.ready ? 'connection ended' : this.tls ? 'TLS connection failed before it was ready' : 'TCP connect failed';
    this.failure = new XsSocketError(code, message, { address: this.remoteAddress, port: this.remotePort });
    const quiet = this.closing;
    this.finish();
    if (!quiet) this.cb.onError?.(this.failure);
  }

  /** Moves queued bytes into the native socket while it reports room. */
  private flush(): void {
    const native = this.native;
    if (!native || !this.ready) return;
    while (this.queue.length > 0 && this.writable > 0) {
      const head = this.queue[0] as { buf: ArrayBuffer; off: number };
      const left = head.buf.byteLength - head.off;
      const n = Math.min(left, this.writable, this.maxPiece);
      const piece = head.off === 0 && n === head.buf.byteLength ? head.buf : head.buf.slice(head.off, head.off + n);
      let r: number | undefined;
      try {
        r = native.write(piece);
      } catch {
        // "would block": our count was ahead of the stack's; the next onWritable resumes
        this.writable = 0;
        return;
      }
      this.writable = typeof r === 'number' ? Math.min(r, this.writable - n) : this.writable - n;
      head.off += n;
      this.queued -= n;
      if (head.off === head.buf.byteLength) this.queue.shift();
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.length = 0;
    this.queued = 0;
    this.readable = 0;
    const native = this.native;
    this.native = undefined;
    native?.close();
  }
}
