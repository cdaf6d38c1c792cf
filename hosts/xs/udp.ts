/**
 * UDP on embedded:io/socket/udp. Two limits of Moddable's lwIP socket show through:
 *  - it binds every interface whatever `address` says, and has no way to ask which port it
 *    got, so `port` is the one requested (0 for an ephemeral socket: replies still reach it,
 *    since they go to the source port of what it sent);
 *  - it has no broadcast switch: whether a datagram to a broadcast address leaves is decided
 *    by the firmware's lwIP build, so `broadcast` is accepted and cannot change that.
 * Native sends copy the bytes at once (into a pbuf), so no copy is made here.
 */
import UDP from 'embedded:io/socket/udp';
import type { Bytes, Datagram, UDP as HostUdp, UdpOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { XsSocketError } from './errors.js';
import { isIpLiteral } from './native.js';
import type { NativeUdp } from './native.js';

export class XsUdp implements HostUdp {
  readonly port: number;
  private readonly native: NativeUdp;
  private closed = false;

  constructor(opts: UdpOptions) {
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError('ERR_UDP_PORT', 'udp: port must be 0..65535', { port });
    }
    this.port = port;
    const native = new UDP({
      port,
      onReadable: (count: number) => { if (!this.closed) opts.onReadable?.(count); },
      onError: () => {
        if (this.closed) return;
        this.close();
        opts.onError?.(new XsSocketError('ERR_UDP_IO', 'udp socket failed', { port }));
      },
    });
    this.native = native as unknown as NativeUdp;
  }

  read(): Datagram | undefined {
    if (this.closed) return undefined;
    const d = this.native.read();
    return d ? { data: d, address: d.address, port: d.port } : undefined;
  }

  write(data: Bytes, address: string, port: number): void {
    if (this.closed) throw new UsageError('ERR_SOCKET_CLOSED', 'write on a closed udp socket');
    if (!isIpLiteral(address)) throw new UsageError('ERR_UDP_ADDRESS', 'udp write: address must be an IP literal', { address });
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UsageError('ERR_UDP_PORT', 'udp write: port must be 1..65535', { port });
    }
    this.native.write(address, port, data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }
}
