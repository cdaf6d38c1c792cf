/** A TCP listener on embedded:io/socket/listener; adopt() takes the connection over with `from`. */
import Listener from 'embedded:io/socket/listener';
import type TCP from 'embedded:io/socket/tcp';
import type { AcceptedTCP, ListenOptions, Listener as HostListener, SocketCallbacks, TCP as HostTcp } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { adoptTcp } from './tcp.js';

/** Moddable's Listener as it is at run time: the typings leave out close(). */
interface NativeListener {
  readonly port: number;
  read(): TCP | undefined;
  close(): void;
}

export class XsListener implements HostListener {
  private readonly native: NativeListener;

  constructor(opts: ListenOptions) {
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError('ERR_LISTEN_PORT', 'listener: port must be 0..65535', { port });
    }
    // Moddable's listener hands out plain TCP: refuse rather than serve TLS clients in the clear
    if (opts.tls) throw new UsageError('ERR_LISTEN_TLS', 'listener: the XS host has no TLS server yet', { port });
    const native = new Listener({
      port,
      ...(opts.address !== undefined ? { address: opts.address } : {}),
      onReadable: (count: number) => opts.onReadable(count),
    });
    this.native = native as unknown as NativeListener;
  }

  get port(): number {
    return this.native.port;
  }

  read(): AcceptedTCP | undefined {
    const from = this.native.read();
    if (!from) return undefined;
    let adopted = false;
    return {
      adopt: (callbacks: SocketCallbacks): HostTcp => {
        if (adopted) throw new UsageError('ERR_TCP_ADOPTED', 'this connection has been adopted already');
        adopted = true;
        return adoptTcp(from, callbacks);
      },
    };
  }

  close(): void {
    this.native.close();
  }
}
