/**
 * A TCP listener on net.Server in the ECMA-419 Listener shape: onReadable(count) with the
 * connections waiting, read() hands one out, and its adopt(callbacks) turns it into a stream.
 *
 * Accepted sockets are created paused (pauseOnConnect), so a connection nobody has adopted yet
 * reads nothing and the peer's data waits in the kernel, not in memory here.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AcceptedTCP, ListenOptions, Listener, SocketCallbacks } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { socketError } from './errors.js';
import type { SocketError } from './errors.js';
import { NodeStream } from './tcp.js';
import type { StreamLimits } from './tcp.js';

/** A pending connection; adopting it gives the Node stream type. */
export interface NodeAcceptedTCP extends AcceptedTCP {
  adopt(callbacks: SocketCallbacks): NodeStream;
}

/** ListenOptions plus a way to hear that the listener failed (e.g. EADDRINUSE). */
export interface NodeListenOptions extends ListenOptions {
  onError?(error: SocketError): void;
}

export class NodeListener implements Listener {
  private readonly server: Server;
  private readonly opts: NodeListenOptions;
  private readonly limits: StreamLimits;
  private readonly pending: Socket[] = [];
  private readonly guards = new Map<Socket, { onError(): void; onClose(): void }>();
  private readonly requestedPort: number;
  private failure: SocketError | undefined;
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
    this.server = createServer({ pauseOnConnect: true });
    this.server.on('connection', (s) => this.onConnection(s));
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
        const stream = new NodeStream(s, callbacks, this.limits, 'connected');
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
