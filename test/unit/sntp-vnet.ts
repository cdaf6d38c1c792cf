/**
 * The VirtualHost with a virtual network, for the SNTP client's timing tests: datagrams take
 * `latencyUs` on the virtual clock each way, and "servers" are functions called when a request
 * arrives, answering from their own wall clock (the host's plus an offset). Deterministic to
 * the µs, so offsets, delays and retry schedules can be checked exactly.
 */
import type { Datagram, UDP, UdpOptions } from '../../src/net/host.js';
import { encodeNtpPacket, decodeNtpPacket } from '../../src/services/sntp/packet.js';
import type { NtpPacket } from '../../src/services/sntp/packet.js';
import { unixUsToNtp } from '../../src/services/sntp/timestamp.js';
import { VirtualHost } from '../vectors/virtual-host.js';

export interface ServerReply {
  bytes: Uint8Array;
  /** server time between receiving and answering (µs) */
  processingUs?: number;
  /** answer from another address or port than the request went to */
  fromAddress?: string;
  fromPort?: number;
}

/** Called when a request reaches the server; `serverWallUs` is the server's clock then. */
export type ServerFn = (req: Uint8Array, serverWallUs: number, n: number) => ServerReply | undefined;

interface InFlight {
  at: number;
  seq: number;
  run: () => void;
}

class VirtualUdp implements UDP {
  readonly port: number;
  readonly queue: Datagram[] = [];
  closed = false;

  constructor(private readonly net: NetHost, readonly opts: UdpOptions, port: number) {
    this.port = port;
  }

  read(): Datagram | undefined {
    return this.queue.shift();
  }

  write(data: ArrayBuffer | ArrayBufferView, address: string, port: number): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.net.sent.push({ to: `${address}:${port}`, atUs: this.net.now, bytes });
    this.net.deliverToServer(this, bytes, address, port);
  }

  close(): void {
    this.closed = true;
  }
}

export class NetHost extends VirtualHost {
  latencyUs = 2_000;
  /** every datagram the device sent */
  readonly sent: Array<{ to: string; atUs: number; bytes: Uint8Array }> = [];
  readonly sockets: VirtualUdp[] = [];
  private readonly servers = new Map<string, { fn: ServerFn; offsetUs: number; requests: number }>();
  private inflight: InFlight[] = [];
  private seq = 0;
  private nextPort = 40000;

  /** A server at address:port whose clock runs `offsetUs` ahead of the host's wall clock. */
  addServer(address: string, port: number, fn: ServerFn, offsetUs = 0): void {
    this.servers.set(`${address}:${port}`, { fn, offsetUs, requests: 0 });
  }

  requestsTo(address: string, port: number): number {
    return this.servers.get(`${address}:${port}`)?.requests ?? 0;
  }

  // optional only because VirtualHost declares udp() without the options it would need
  override udp(opts: UdpOptions = {}): UDP {
    const s = new VirtualUdp(this, opts, this.nextPort++);
    this.sockets.push(s);
    return s;
  }

  deliverToServer(from: VirtualUdp, bytes: Uint8Array, address: string, port: number): void {
    this.later(this.now + this.latencyUs, () => {
      const srv = this.servers.get(`${address}:${port}`);
      if (!srv) return;
      srv.requests++;
      const r = srv.fn(bytes, this.wallUs() + srv.offsetUs, srv.requests);
      if (!r) return;
      this.later(this.now + (r.processingUs ?? 0) + this.latencyUs, () => {
        if (from.closed) return;
        const data = r.bytes.buffer.slice(r.bytes.byteOffset, r.bytes.byteOffset + r.bytes.byteLength) as ArrayBuffer;
        from.queue.push({ data, address: r.fromAddress ?? address, port: r.fromPort ?? port });
        from.opts.onReadable?.(from.queue.length);
      });
    });
  }

  private later(at: number, run: () => void): void {
    this.inflight.push({ at, seq: this.seq++, run });
    this.inflight.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Plays timers and datagrams in time order until nothing is left or `untilUs` passes. */
  override async run(untilUs = this.now + 60_000_000): Promise<void> {
    for (let spins = 0; spins < 1_000_000; spins++) {
      await Promise.resolve();
      await Promise.resolve();
      const net = this.inflight[0]?.at;
      const timer = this.wakeAt;
      const next = net === undefined ? timer : timer === undefined ? net : Math.min(net, timer);
      if (next === undefined || next > untilUs) {
        if (untilUs !== Infinity && untilUs > this.now && next !== undefined) this.now = untilUs;
        return;
      }
      if (next > this.now) this.now = next;
      if (net !== undefined && net <= this.now) {
        (this.inflight.shift() as InFlight).run();
        continue;
      }
      this.wakeup();
    }
    throw new Error('NetHost.run: too many steps');
  }
}

export interface NtpServerOptions {
  leap?: number;
  stratum?: number;
  /** stratum 0 with this kiss code */
  kiss?: string;
  processingUs?: number;
  /** requests numbered from 1 that go unanswered */
  drop?: (n: number) => boolean;
  /** processing time per request (overrides processingUs) */
  processingFor?: (n: number) => number;
  /** last touches to the reply */
  mangle?: (p: NtpPacket) => void;
}

function kissId(code: string): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (code.charCodeAt(i) & 0xff);
  return v;
}

/** A well-behaved (or deliberately not) NTP server as a ServerFn, built on the codec. */
export function ntpServer(o: NtpServerOptions = {}): ServerFn {
  return (req, serverWallUs, n) => {
    if (o.drop?.(n)) return undefined;
    const q = decodeNtpPacket(req);
    const processingUs = o.processingFor?.(n) ?? o.processingUs ?? 0;
    const p: NtpPacket = {
      leap: o.kiss ? 3 : (o.leap ?? 0),
      version: q.version,
      mode: 4,
      stratum: o.kiss ? 0 : (o.stratum ?? 2),
      poll: q.poll,
      precision: -20,
      rootDelay: 0x100,
      rootDispersion: 0x200,
      refId: o.kiss ? kissId(o.kiss) : 0x0a000001,
      reference: unixUsToNtp(serverWallUs - 60_000_000),
      origin: q.transmit,
      receive: unixUsToNtp(serverWallUs),
      transmit: unixUsToNtp(serverWallUs + processingUs),
    };
    o.mangle?.(p);
    return { bytes: encodeNtpPacket(p), processingUs };
  };
}
