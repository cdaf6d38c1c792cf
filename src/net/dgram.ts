/**
 * A named datagram socket on the host's UDP, with the context's fault injection applied on the
 * way out (udp_tx_loss) and the way in (udp_rx_loss). The name is what fault rules match on.
 */
import type { Logger } from '../loop/log.js';
import type { FaultInjector } from './fault.js';
import type { Datagram, Host, UDP } from './host.js';

export interface DgramContext {
  readonly host: Host;
  readonly faults: FaultInjector;
  readonly logger: Logger;
}

export interface DatagramPortOptions {
  /** "dns", "sntp", "dhcp"…: what fault rules name */
  name: string;
  address?: string;
  port?: number;
  broadcast?: boolean;
  onDatagram(d: Datagram): void;
  onError?(e?: Error): void;
}

export class DatagramPort {
  readonly name: string;
  private readonly udp: UDP;
  private readonly ctx: DgramContext;
  private closed = false;

  constructor(ctx: DgramContext, opts: DatagramPortOptions) {
    this.ctx = ctx;
    this.name = opts.name;
    const { onDatagram, onError } = opts;
    const udpOpts: Parameters<Host['udp']>[0] = {
      onReadable: () => {
        for (let d = this.udp.read(); d; d = this.udp.read()) {
          if (this.closed) return;
          if (ctx.faults.drop(this.name, 'udp_rx_loss')) {
            ctx.logger.debug('fault', `${this.name}: rx datagram dropped`, { from: d.address });
            continue;
          }
          onDatagram(d);
        }
      },
      onError: (e?: Error) => {
        if (!this.closed) onError?.(e);
      },
    };
    if (opts.address !== undefined) udpOpts.address = opts.address;
    if (opts.port !== undefined) udpOpts.port = opts.port;
    if (opts.broadcast !== undefined) udpOpts.broadcast = opts.broadcast;
    this.udp = ctx.host.udp(udpOpts);
  }

  get port(): number {
    return this.udp.port;
  }

  /** Sends unless a fault eats it; returns false when it was dropped. */
  send(bytes: Uint8Array, address: string, port: number): boolean {
    if (this.ctx.faults.drop(this.name, 'udp_tx_loss')) {
      this.ctx.logger.debug('fault', `${this.name}: tx datagram dropped`, { to: address });
      return false;
    }
    this.udp.write(bytes, address, port);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp.close();
  }
}
