/**
 * A UDP socket on node:dgram in the ECMA-419 shape: onReadable(count) with the datagrams
 * queued, read() one at a time, write(data, address, port) to a literal address.
 *
 * The receive queue is bounded: past `maxQueued` unread datagrams new ones are dropped and
 * counted, as a full lwIP pbuf pool would drop them; UDP users retry by design. A failed send
 * (no route, message too large) loses that datagram and is counted likewise; it does not end
 * the socket, because the next datagram to somewhere else may well go.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Bytes, Datagram, UDP, UdpOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { copyToBuffer } from './bytes.js';
import { socketError } from './errors.js';
import type { SocketError } from './errors.js';

export const DEFAULT_UDP_QUEUE = 64;

export class NodeUdp implements UDP {
  /** datagrams dropped because the receive queue was full */
  dropped = 0;
  /** datagrams whose send failed; `lastSendError` says why */
  sendFailures = 0;
  lastSendError: Error | undefined;
  private readonly socket: Socket;
  private readonly opts: UdpOptions;
  private readonly queue: Datagram[] = [];
  private readonly maxQueued: number;
  private readonly requestedPort: number;
  private isBound = false;
  private failure: SocketError | undefined;
  private closed = false;
  /** sends Node has not finished yet: close() waits for them (a RELEASE must leave) */
  private inFlight = 0;
  private closeWhenFlushed = false;
  private readonly boundWaiters: Array<{ ok(port: number): void; fail(e: Error): void }> = [];

  constructor(opts: UdpOptions, maxQueued = DEFAULT_UDP_QUEUE) {
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError('ERR_UDP_PORT', 'udp: port must be 0..65535', { port });
    }
    if (opts.address !== undefined && isIP(opts.address) === 0) {
      throw new UsageError('ERR_UDP_ADDRESS', 'udp: address must be an IP literal', { address: opts.address });
    }
    this.opts = opts;
    this.maxQueued = maxQueued;
    this.requestedPort = port;
    const v6 = opts.address !== undefined && opts.address.includes(':');
    this.socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: port !== 0 });
    this.socket.on('message', this.onMessage);
    this.socket.on('listening', () => {
      this.isBound = true;
      if (opts.broadcast) this.socket.setBroadcast(true);
      for (const w of this.boundWaiters.splice(0)) w.ok(this.port);
    });
    this.socket.on('error', (e) => {
      const err = socketError(this.isBound ? 'ERR_UDP_IO' : 'ERR_UDP_BIND', this.isBound ? 'udp socket failed' : `udp bind ${opts.address ?? '*'}:${port} failed`, e, { address: opts.address, port });
      this.failure ??= err;
      for (const w of this.boundWaiters.splice(0)) w.fail(err);
      if (!this.closed) {
        this.closed = true;
        this.socket.close();
        opts.onError?.(err);
      }
    });
    this.socket.bind(opts.address === undefined ? { port } : { port, address: opts.address });
  }

  /** The bound port; until binding completes (it resolves the address first), the requested one. */
  get port(): number {
    return this.isBound ? this.socket.address().port : this.requestedPort;
  }

  /** Resolves with the port once bound; rejects with ERR_UDP_BIND. */
  bound(): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.isBound) return Promise.resolve(this.port);
    if (this.closed) return Promise.reject(new UsageError('ERR_SOCKET_CLOSED', 'udp socket closed'));
    return new Promise((ok, fail) => this.boundWaiters.push({ ok, fail }));
  }

  read(): Datagram | undefined {
    return this.queue.shift();
  }

  write(data: Bytes, address: string, port: number): void {
    if (this.closed) throw new UsageError('ERR_SOCKET_CLOSED', 'write on a closed udp socket');
    if (isIP(address) === 0) throw new UsageError('ERR_UDP_ADDRESS', 'udp write: address must be an IP literal', { address });
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UsageError('ERR_UDP_PORT', 'udp write: port must be 1..65535', { port });
    }
    this.inFlight++;
    this.socket.send(copyToBuffer(data), port, address, (e) => {
      if (e) {
        this.sendFailures++;
        this.lastSendError = e;
      }
      if (--this.inFlight === 0 && this.closeWhenFlushed) this.socket.close();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.socket.off('message', this.onMessage);
    // Node looks the address up on a later tick before sending: closing now would silently
    // discard datagrams already written, so the socket closes once they are gone
    if (this.inFlight === 0) this.socket.close();
    else this.closeWhenFlushed = true;
    for (const w of this.boundWaiters.splice(0)) w.fail(new UsageError('ERR_SOCKET_CLOSED', 'udp socket closed'));
  }

  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    const data = msg.buffer.slice(msg.byteOffset, msg.byteOffset + msg.length) as ArrayBuffer;
    this.queue.push({ data, address: rinfo.address, port: rinfo.port });
    this.opts.onReadable?.(this.queue.length);
  };
}
