/**
 * A TCP listener on net.Server in the ECMA-419 Listener shape: onReadable(count) with the
 * connections waiting, read() hands one out, and its adopt(callbacks) turns it into a stream.
 *
 * Accepted sockets are created paused (pauseOnConnect), so a connection nobody has adopted yet
 * reads nothing and the peer's data waits in the kernel, not in memory here. They have Nagle
 * off (TCP_NODELAY, as lws sets on every connection): the wsi above joins its small writes.
 *
 * With `tls` the listener is a tls.Server: Node runs each handshake (SNI, ALPN, the client
 * certificate check) and only a connection whose handshake succeeded is offered through
 * onReadable/read(); adopt() gives a NodeTlsStream whose onWritable, the first sign of life as
 * for any adopted stream, comes after the handshake by construction. Application bytes that
 * arrive before adoption wait in the TLS socket, paused (at most Node's 16 KiB read buffer, then
 * the kernel window closes). A handshake that fails or takes longer than handshakeTimeoutMs is
 * dropped by Node and reported to onHandshakeError only: it never reaches read() and never
 * touches the listener.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { AcceptedTCP, ListenOptions, Listener, SocketCallbacks } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { SocketError, TlsVerifyError, socketError, tlsVerifyCode } from './errors.js';
import { NodeStream } from './tcp.js';
import type { StreamLimits } from './tcp.js';
import { NodeTlsStream, tlsServerOptions } from './tls.js';

/** A pending connection; adopting it gives the Node stream type (NodeTlsStream on TLS). */
export interface NodeAcceptedTCP extends AcceptedTCP {
  adopt(callbacks: SocketCallbacks): NodeStream;
}

/** ListenOptions plus a way to hear that the listener failed (e.g. EADDRINUSE). */
export interface NodeListenOptions extends ListenOptions {
  onError?(error: SocketError): void;
  /**
   * TLS only: a client's handshake failed (a refused client certificate is a TlsVerifyError,
   * anything else ERR_TLS_HANDSHAKE, with Node's code in detail.errno). For logs: the
   * connection is gone already and the listener carries on.
   */
  onHandshakeError?(error: SocketError): void;
  /** TLS only: how long a client may take over its handshake (10 000 ms, the wsi's TLS phase) */
  handshakeTimeoutMs?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export class NodeListener implements Listener {
  private readonly server: Server;
  private readonly opts: NodeListenOptions;
  private readonly limits: StreamLimits;
  private readonly pending: Socket[] = [];
  private readonly guards = new Map<Socket, { onError(): void; onClose(): void }>();
  private readonly requestedPort: number;
  private failure: SocketError | undefined;
  /** a TLS listener: accepted sockets are TLSSockets, handshake done */
  private readonly tls: boolean = false;
  private failedHandshakes = 0;
  private closed = false;
  private readonly boundWaiters: Array<{ ok(port: number): void; fail(e: Error): void }> = [];

  constructor(opts: NodeListenOptions, limits: StreamLimits) {
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError('ERR_LISTEN_PORT', 'listener: port must be 0..65535', { port });
    }
    this.opts = opts;
    this.limits = limits;
    this.requestedPort = port;
    if (opts.tls !== undefined) {
      const hs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
      if (!Number.isInteger(hs) || hs < 1) {
        throw new UsageError('ERR_LISTEN_OPTION', 'listener: handshakeTimeoutMs must be a positive integer', { handshakeTimeoutMs: hs });
      }
      const server = createTlsServer({ ...tlsServerOptions(opts.tls), handshakeTimeout: hs, noDelay: true });
      server.on('secureConnection', (s: TLSSocket) => {
        // hold its bytes until someone adopts it, as pauseOnConnect does for plain TCP
        s.pause();
        this.onConnection(s);
      });
      server.on('tlsClientError', (e: Error, s: TLSSocket) => this.onHandshakeError(e, s));
      this.tls = true;
      this.server = server;
    } else {
      this.server = createServer({ pauseOnConnect: true, noDelay: true });
      this.server.on('connection', (s) => this.onConnection(s));
    }
    this.server.on('listening', () => {
      for (const w of this.boundWaiters.splice(0)) w.ok(this.port);
    });
    this.server.on('error', (e) => {
      const err = socketError('ERR_LISTEN', `listen on ${opts.address ?? '*'}:${port} failed`, e, { address: opts.address, port });
      this.failure ??= err;
      for (const w of this.boundWaiters.splice(0)) w.fail(err);
      if (!this.closed) this.opts.onError?.(err);
    });
    // with no address Node binds synchronously; with one it resolves it first, so `port` is
    // the requested one until bound() settles
    this.server.listen(opts.address === undefined ? { port } : { port, host: opts.address });
  }

  /** The bound port; before binding completes, the requested one (0 for "any"). */
  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : this.requestedPort;
  }

  /** TLS handshakes that failed since the listener opened. */
  get handshakeFailures(): number {
    return this.failedHandshakes;
  }

  /** Resolves with the port once the listener is bound; rejects with its ERR_LISTEN. */
  bound(): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.server.listening) return Promise.resolve(this.port);
    if (this.closed) return Promise.reject(new UsageError('ERR_SOCKET_CLOSED', 'listener closed'));
    return new Promise((ok, fail) => this.boundWaiters.push({ ok, fail }));
  }

  read(): NodeAcceptedTCP | undefined {
    const s = this.pending.shift();
    if (!s) return undefined;
    let adopted = false;
    return {
      adopt: (callbacks: SocketCallbacks): NodeStream => {
        if (adopted) throw new UsageError('ERR_TCP_ADOPTED', 'this connection has been adopted already');
        adopted = true;
        const guards = this.guards.get(s);
        if (guards) {
          s.off('error', guards.onError);
          s.off('close', guards.onClose);
          this.guards.delete(s);
        }
        const stream = this.tls ? new NodeTlsStream(s, callbacks, this.limits, 'connected') : new NodeStream(s, callbacks, this.limits, 'connected');
        s.resume();
        return stream;
      },
    };
  }

  /** Stops listening and drops connections nobody adopted; adopted ones live on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.pending.splice(0)) s.destroy();
    this.guards.clear();
    this.server.close();
    for (const w of this.boundWaiters.splice(0)) w.fail(new UsageError('ERR_SOCKET_CLOSED', 'listener closed'));
  }

  private onHandshakeError(e: Error, s: TLSSocket): void {
    this.failedHandshakes++;
    // Node destroys the socket; make sure of it, and of no unhandled 'error' from it
    const where = { address: s.remoteAddress, port: s.remotePort };
    s.on('error', () => {});
    s.destroy();
    if (this.closed || !this.opts.onHandshakeError) return;
    // a client certificate that fails verification: Node notes why, then drops the socket (the
    // error itself is then only ECONNRESET)
    const refused = typeof s.authorizationError === 'string' ? s.authorizationError : undefined;
    const verify = tlsVerifyCode(refused);
    if (refused !== undefined) {
      const code = verify ?? 'ERR_TLS_HANDSHAKE';
      const Cls = verify ? TlsVerifyError : SocketError;
      this.opts.onHandshakeError(new Cls(code, `client certificate refused: ${refused}`, { ...where, errno: refused }, e));
      return;
    }
    this.opts.onHandshakeError(socketError('ERR_TLS_HANDSHAKE', 'TLS handshake with a client failed', e, where));
  }

  private onConnection(s: Socket): void {
    if (this.closed) { s.destroy(); return; }
    // until adopted, a failing socket must not crash the process, and a closed one is no
    // longer offered
    const onError = (): void => {};
    const onClose = (): void => {
      const i = this.pending.indexOf(s);
      if (i >= 0) this.pending.splice(i, 1);
      this.guards.delete(s);
    };
    s.on('error', onError);
    s.on('close', onClose);
    this.guards.set(s, { onError, onClose });
    this.pending.push(s);
    this.opts.onReadable(this.pending.length);
  }
}
