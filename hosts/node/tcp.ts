/**
 * A connected stream on node:net (or node:tls), in the ECMA-419 shape the core expects:
 * onWritable(count) once connected and whenever the write backlog drains, onReadable(count)
 * with the bytes waiting, non-blocking read()/write(), and one onError when it is over.
 *
 * Flow control both ways:
 *  - reading: received bytes wait here until read(); past `readLimit` unread bytes the socket
 *    is paused, so the kernel window closes and the peer slows down;
 *  - writing: write() returns highWaterMark minus what Node still holds; at <= 0 the caller
 *    stops and waits for onWritable, which comes once the backlog is down to half the mark
 *    (half, so a writer gets room for a useful burst rather than one chunk per callback).
 *
 * Like Moddable's lwIP sockets, a failure or the peer's FIN is reported only after every byte
 * received before it has been read, so no data is lost to an early onError.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type { Bytes, SocketCallbacks, TCP, TcpOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { copyToBuffer, toArrayBuffer } from './bytes.js';
import { errnoOf, socketError } from './errors.js';
import type { SocketError, SocketErrorCode } from './errors.js';

export interface StreamLimits {
  /** bytes Node may hold for sending before write() reports no room */
  highWaterMark: number;
  /** unread received bytes past which reading from the kernel pauses */
  readLimit: number;
}

export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = { highWaterMark: 64 * 1024, readLimit: 64 * 1024 };

/** errnos meaning the connection broke underneath us rather than failed in some other way */
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

export type StreamPhase = 'connecting' | 'connected';

/** an event listener as node:events declares it (its arguments depend on the event) */
type NodeListenerFn = (...args: any[]) => void;

export class NodeStream implements TCP {
  protected readonly socket: Socket;
  private readonly cb: SocketCallbacks;
  private readonly limits: StreamLimits;
  private readonly chunks: Uint8Array[] = [];
  /** bytes of chunks[0] already handed out */
  private offset = 0;
  private unread = 0;
  /** the stream can carry application bytes (TCP connected, TLS handshake done) */
  protected ready: boolean;
  /** TCP itself connected (differs from `ready` while a TLS handshake runs) */
  protected tcpConnected: boolean;
  private waitingWritable = false;
  private paused = false;
  /** the reason the stream ended, held back until every earlier byte has been read */
  private failure: SocketError | undefined;
  /** close() was called, or onError was delivered: no more callbacks */
  private finished = false;
  private closedByUser = false;
  /** our listeners, to take off again without touching the ones Node itself relies on */
  private readonly listeners: Array<[string, NodeListenerFn]> = [];

  constructor(socket: Socket, callbacks: SocketCallbacks, limits: StreamLimits, phase: StreamPhase, readyEvent: 'connect' | 'secureConnect' = 'connect') {
    this.socket = socket;
    this.cb = callbacks;
    this.limits = limits;
    this.ready = phase === 'connected';
    this.tcpConnected = phase === 'connected';
    this.listen('connect', () => { this.tcpConnected = true; });
    this.listen(readyEvent, () => this.onReady());
    this.listen('data', (chunk: Buffer) => this.onData(chunk));
    this.listen('end', () => this.fail(socketError('ERR_TCP_CLOSED', 'connection closed by peer', undefined, this.where())));
    this.listen('error', (e: Error) => this.fail(socketError(this.classify(e), this.describe(e), e, this.where(e))));
    this.listen('close', () => this.fail(socketError('ERR_TCP_CLOSED', 'connection closed', undefined, this.where())));
    if (socket.destroyed) {
      // it died before we were attached to it (an accepted connection reset before adopt)
      setImmediate(() => this.fail(socketError('ERR_TCP_CLOSED', 'connection closed', undefined, this.where())));
    } else if (this.ready) {
      // an adopted socket is connected already: say so once the caller holds the object
      setImmediate(() => this.onReady());
    }
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  /** Bytes received and not yet read. */
  get readable(): number {
    return this.unread;
  }

  read(max?: number): ArrayBuffer | undefined {
    if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
      throw new UsageError('ERR_TCP_READ', 'read(max): max must be a positive integer', { max });
    }
    if (this.unread === 0) return undefined;
    const n = max === undefined ? this.unread : Math.min(max, this.unread);
    const first = this.chunks[0] as Uint8Array;
    let out: ArrayBuffer;
    if (this.offset === 0 && first.length === n && first.byteOffset === 0 && first.buffer.byteLength === n && first.buffer instanceof ArrayBuffer) {
      // the chunk owns its whole ArrayBuffer (not a slice of a pool): hand it over as is
      out = first.buffer;
      this.chunks.shift();
    } else if (first.length - this.offset >= n) {
      out = toArrayBuffer(first.subarray(this.offset, this.offset + n));
      this.offset += n;
      if (this.offset === first.length) { this.chunks.shift(); this.offset = 0; }
    } else {
      out = new ArrayBuffer(n);
      const dst = new Uint8Array(out);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0] as Uint8Array;
        const take = Math.min(c.length - this.offset, n - at);
        dst.set(c.subarray(this.offset, this.offset + take), at);
        at += take;
        this.offset += take;
        if (this.offset === c.length) { this.chunks.shift(); this.offset = 0; }
      }
    }
    this.unread -= n;
    if (this.paused && this.unread < this.limits.readLimit && !this.finished) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.unread === 0 && this.failure && !this.finished) {
      // the held-back end is due; not from inside read(), the caller is mid-callback
      setImmediate(() => this.deliverFailure());
    }
    return out;
  }

  write(data: Bytes): number {
    if (this.closedByUser) throw new UsageError('ERR_SOCKET_CLOSED', 'write after close()');
    if (this.failure) {
      throw socketError(this.failure.code, 'write on a connection that has ended', this.failure, { ...this.failure.detail });
    }
    const buf = copyToBuffer(data);
    this.socket.write(buf, this.onWriteDone);
    const room = this.limits.highWaterMark - this.socket.writableLength;
    if (room <= 0) this.waitingWritable = true;
    return room;
  }

  /**
   * Sends what is queued, then FIN, then releases the socket. No callback runs afterwards.
   * A stream that never became ready (no TCP connection, or a TLS handshake still running) is
   * dropped at once: a TLS socket's end() would wait for a handshake that may never finish.
   */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.finished = true;
    this.chunks.length = 0;
    this.unread = 0;
    const s = this.socket;
    for (const [event, fn] of this.listeners.splice(0)) s.off(event, fn);
    // errors after close (a reset while our FIN drains) have nobody to go to
    s.on('error', () => {});
    if (!this.ready || s.destroyed || !s.writable) s.destroy();
    else s.end(() => s.destroy());
  }

  private listen(event: string, fn: NodeListenerFn): void {
    this.socket.on(event, fn);
    this.listeners.push([event, fn]);
  }

  private onReady(): void {
    if (this.finished || this.failure) return;
    this.ready = true;
    this.tcpConnected = true;
    const room = this.limits.highWaterMark - this.socket.writableLength;
    this.waitingWritable = room <= 0;
    if (room > 0) this.cb.onWritable?.(room);
  }

  /**
   * The onread path (client sockets): Node read `n` bytes into the shared `scratch` buffer,
   * which the next read reuses, so they are copied out into an ArrayBuffer of their own (which
   * read() then hands over as it is).
   */
  onScratchRead(n: number, scratch: Uint8Array): boolean {
    const own = new Uint8Array(new ArrayBuffer(n));
    own.set(n === scratch.length ? scratch : scratch.subarray(0, n));
    this.onData(own);
    // flow control is ours: onData pauses the socket itself past readLimit
    return true;
  }

  private onData(chunk: Uint8Array): void {
    if (this.finished || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.unread += chunk.length;
    if (!this.paused && this.unread >= this.limits.readLimit) {
      this.paused = true;
      this.socket.pause();
    }
    this.cb.onReadable?.(this.unread);
  }

  /** one callback for every write: no closure per write, and Node coalesces same-callback ticks */
  private readonly onWriteDone = (err?: Error | null): void => {
    if (!err) this.flushed();
  };

  private flushed(): void {
    if (!this.waitingWritable || this.finished || !this.ready) return;
    const queued = this.socket.writableLength;
    if (queued > this.limits.highWaterMark / 2) return;
    this.waitingWritable = false;
    this.cb.onWritable?.(this.limits.highWaterMark - queued);
  }

  /** Records the first reason the stream ended; reported now if nothing is left unread. */
  private fail(e: SocketError): void {
    if (this.finished || this.failure) return;
    this.failure = e;
    if (this.unread === 0) this.deliverFailure();
  }

  private deliverFailure(): void {
    if (this.finished || !this.failure) return;
    this.finished = true;
    // after the peer's FIN, Node ends our side once what we queued is sent: let it; anything
    // else is broken, so release it now
    if (this.failure.code === 'ERR_TCP_CLOSED') this.socket.end();
    else this.socket.destroy();
    this.cb.onError?.(this.failure);
  }

  /** Which code a Node error maps to, given how far the connection got. */
  protected classify(e: Error): SocketErrorCode {
    if (!this.tcpConnected) return 'ERR_TCP_CONNECT';
    if (!this.ready) return 'ERR_TLS_HANDSHAKE';
    const errno = errnoOf(e);
    return errno !== undefined && BROKEN.has(errno) ? 'ERR_TCP_RESET' : 'ERR_TCP_IO';
  }

  protected describe(e: Error): string {
    const c = this.classify(e);
    return c === 'ERR_TCP_CONNECT' ? 'TCP connect failed' : c === 'ERR_TLS_HANDSHAKE' ? 'TLS handshake failed' : 'connection failed';
  }

  /** The peer, for error details; a failed connect has none yet, but Node's error names it. */
  private where(e?: unknown): Record<string, unknown> {
    const named = e as { address?: unknown; port?: unknown } | undefined;
    return { address: this.socket.remoteAddress ?? named?.address, port: this.socket.remotePort ?? named?.port };
  }
}

/** The host name or address to dial: `address` wins (it needs no resolver), then `host`. */
export function dialTarget(opts: TcpOptions): string {
  const to = opts.address ?? opts.host;
  if (typeof to !== 'string' || to.length === 0) {
    throw new UsageError('ERR_TCP_ADDRESS', 'tcp: address or host is required');
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new UsageError('ERR_TCP_PORT', 'tcp: port must be 1..65535', { port: opts.port });
  }
  return to;
}

/**
 * Where client sockets read into (Node's `onread`): one buffer for them all, as each read is
 * copied out before the next can happen. It spares every read a 64 KiB allocation and the
 * Readable stream's push/emit/read-more round, a good part of the cost of a small message.
 */
const RX_SCRATCH = new Uint8Array(64 * 1024);

/**
 * Opens a client connection. A name in `host` is resolved by Node's resolver; the core's own
 * DNS hands over `address` so this is normally a literal.
 */
export function connectTcp(opts: TcpOptions, limits: StreamLimits): NodeStream {
  const to = dialTarget(opts);
  let stream: NodeStream | undefined;
  const socket = netConnect({
    host: to,
    port: opts.port,
    onread: { buffer: RX_SCRATCH, callback: (n: number, buf: Uint8Array): boolean => (stream ? stream.onScratchRead(n, buf) : true) },
  });
  if (opts.nodelay !== undefined) socket.setNoDelay(opts.nodelay);
  stream = new NodeStream(socket, opts, limits, 'connecting');
  return stream;
}
