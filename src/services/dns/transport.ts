/**
 * The resolver's UDP side: one socket per address family (named "dns", so fault rules such as
 * "dns/udp_rx_loss(30%)" apply), opened on first use and reopened after a socket error, and the
 * table of transaction ids in flight.
 *
 * A datagram reaches a question only if its id is in flight AND it came from a server that
 * question sent to, at that server's port (as lws checks): anything else is dropped and counted,
 * so an off-path sender has to guess the id, our port and spoof the server's address at once.
 * Ids are drawn from the host's entropy and are unique among the questions in flight.
 */
import { DatagramPort } from '../../net/dgram.js';
import type { DgramContext } from '../../net/dgram.js';
import type { Datagram } from '../../net/host.js';
import type { TxnLoop } from '../../net/udp-transaction.js';
import { canonicalAddress } from './address.js';
import { peekId } from './codec.js';
import type { DnsServer } from './servers.js';
import { serverKey } from './servers.js';

export interface DnsLoop extends DgramContext, TxnLoop {
  defer(fn: () => void): void;
}

/** What the transport hands a matching datagram to. */
export interface DnsReceiver {
  /** the servers this question has sent to, by serverKey */
  readonly askedServers: ReadonlyMap<string, DnsServer>;
  onDatagram(bytes: Uint8Array, server: DnsServer): void;
}

export interface DnsTransportStats {
  /** datagrams handed to a socket (fault-injected losses included) */
  sent: number;
  received: number;
  /** from nobody we asked, for no id in flight, or shorter than a header */
  ignored: number;
}

export class DnsTransport {
  readonly stats: DnsTransportStats = { sent: 0, received: 0, ignored: 0 };
  private readonly ports: { 4: DatagramPort | undefined; 6: DatagramPort | undefined } = { 4: undefined, 6: undefined };
  private readonly inFlight = new Map<number, DnsReceiver>();

  constructor(private readonly loop: DnsLoop) {}

  /** A fresh id no question in flight uses, now registered to `r`. */
  allocateId(r: DnsReceiver): number {
    let id = this.loop.random16();
    for (let tries = 0; this.inFlight.has(id); tries++) {
      // with 65536 ids and a handful in flight this almost never loops; walk on if it does
      id = tries < 8 ? this.loop.random16() : (id + 1) & 0xffff;
    }
    this.inFlight.set(id, r);
    return id;
  }

  releaseId(id: number, r: DnsReceiver): void {
    if (this.inFlight.get(id) === r) this.inFlight.delete(id);
  }

  /** Sends one datagram; throws if the socket cannot be opened or written. */
  send(bytes: Uint8Array, server: DnsServer): void {
    this.stats.sent++;
    this.port(server.family).send(bytes, server.address, server.port);
  }

  close(): void {
    this.ports[4]?.close();
    this.ports[6]?.close();
    this.ports[4] = this.ports[6] = undefined;
  }

  private port(family: 4 | 6): DatagramPort {
    const open = this.ports[family];
    if (open) return open;
    const p: DatagramPort = new DatagramPort(this.loop, {
      name: 'dns',
      ...(family === 6 ? { address: '::' } : {}),
      onDatagram: (d) => this.onDatagram(d),
      onError: (e) => {
        this.loop.logger.warn('dns', `udp${family} socket failed; reopening on next use`, { error: e?.message });
        if (this.ports[family] === p) this.ports[family] = undefined;
        p.close();
      },
    });
    this.ports[family] = p;
    return p;
  }

  private onDatagram(d: Datagram): void {
    this.stats.received++;
    const bytes = new Uint8Array(d.data);
    const id = peekId(bytes);
    const r = id === undefined ? undefined : this.inFlight.get(id);
    const from = canonicalAddress(d.address);
    const server = r && from ? r.askedServers.get(serverKey(from.address, d.port)) : undefined;
    if (!r || !server) {
      this.stats.ignored++;
      this.loop.logger.debug('dns', 'ignored a datagram', { from: d.address, port: d.port, id });
      return;
    }
    r.onDatagram(bytes, server);
  }
}
