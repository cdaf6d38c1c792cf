/**
 * The DHCP client's state machine on the virtual clock, against a DHCP server scripted at the
 * packet level with our own codec (OFFER/ACK/NAK built by encodeDhcp, requests read by
 * parseDhcp). The virtual host carries datagrams between them with 1 ms of latency; the
 * server can be told to stay silent, NAK, or answer with a crafted reply.
 *
 * Times below are virtual (the host's manual clock), so the schedules are exact.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { Context } from '../../src/loop/context.js';
import type { LogRecord } from '../../src/loop/log.js';
import { makeRetryPolicy } from '../../src/loop/retry.js';
import { FaultInjector } from '../../src/net/fault.js';
import type { Datagram, UDP, UdpOptions } from '../../src/net/host.js';
import { DhcpClient } from '../../src/services/dhcp/client.js';
import type { DhcpClientOptions, DhcpLeaseLostReason, DhcpState } from '../../src/services/dhcp/client.js';
import { ipv4FromString as ip, ipv4ToString } from '../../src/services/dhcp/ipv4.js';
import type { DhcpLease } from '../../src/services/dhcp/lease.js';
import { DhcpNotifier } from '../../src/services/dhcp/notifier.js';
import { DHCP_MESSAGE_TYPE_NAMES, DhcpMessageType } from '../../src/services/dhcp/options.js';
import type { DhcpOptions } from '../../src/services/dhcp/options.js';
import { BOOTP_FLAG_BROADCAST, BOOTREPLY, encodeDhcp, parseDhcp } from '../../src/services/dhcp/packet.js';
import type { DhcpPacket, DhcpPacketInit } from '../../src/services/dhcp/packet.js';
import type { Board } from '../../src/system/board.js';
import type { InterfaceConfig } from '../../src/system/ops.js';
import { SysState } from '../../src/system/states.js';
import { VirtualHost } from '../vectors/virtual-host.js';

const LATENCY_US = 1000;
const MAC = '02:00:00:aa:bb:cc';
const S = 1_000_000;

/** A datagram socket on the virtual LAN. */
class LanUdp implements UDP {
  readonly queue: Datagram[] = [];
  closed = false;
  constructor(
    private readonly lan: LanHost,
    readonly opts: UdpOptions,
  ) {}
  get port(): number {
    return this.opts.port ?? 0;
  }
  read(): Datagram | undefined {
    return this.queue.shift();
  }
  write(data: ArrayBuffer | ArrayBufferView, address: string, port: number): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.lan.later(() => this.lan.toServers(bytes, address, port));
  }
  close(): void {
    this.closed = true;
    this.lan.sockets.delete(this);
  }
  deliver(bytes: Uint8Array, from: string): void {
    if (this.closed) return;
    this.queue.push({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, address: from, port: 67 });
    this.opts.onReadable?.(this.queue.length);
  }
}

/** The VirtualHost with a LAN: datagrams and timers interleaved on one manual clock. */
class LanHost extends VirtualHost {
  readonly sockets = new Set<LanUdp>();
  readonly servers: ScriptedServer[] = [];
  private readonly events: Array<{ at: number; seq: number; fn: () => void }> = [];
  private seq = 0;
  private loop: (() => void) | undefined;

  override setLoopRunner(run: () => void): void {
    super.setLoopRunner(run);
    this.loop = run;
  }
  // VirtualHost declares udp() without options: it has no network to take them
  override udp(opts: UdpOptions = {}): UDP {
    const s = new LanUdp(this, opts);
    this.sockets.add(s);
    return s;
  }
  later(fn: () => void, delayUs = LATENCY_US): void {
    this.events.push({ at: this.now + delayUs, seq: this.seq++, fn });
    this.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
  toServers(bytes: Uint8Array, address: string, port: number): void {
    if (port !== 67) return;
    for (const s of this.servers) if (address === '255.255.255.255' || address === s.ip) s.receive(bytes, address);
  }
  toClients(bytes: Uint8Array, from: string): void {
    for (const s of this.sockets) if (s.port === 68) s.deliver(bytes, from);
  }
  /** Runs datagrams and timers in time order until `untilUs` (then the clock stands there). */
  async pump(untilUs: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      await Promise.resolve();
      await Promise.resolve();
      if (stop?.()) return;
      const ev = this.events[0];
      const t = this.loop ? this.wakeAt : undefined;
      const next = Math.min(ev?.at ?? Infinity, t ?? Infinity);
      if (next > untilUs) {
        this.now = Math.max(this.now, untilUs);
        return;
      }
      this.now = Math.max(this.now, next);
      if (ev && ev.at <= next) {
        this.events.shift();
        ev.fn();
      } else this.loop?.();
    }
  }
  async until(what: string, cond: () => boolean, maxUs = 600 * S): Promise<void> {
    await this.pump(this.now + maxUs, cond);
    if (!cond()) throw new Error(`virtual time ran out waiting for ${what}`);
  }
}

interface Seen {
  atUs: number;
  type: string;
  to: string;
  p: DhcpPacket;
}

/** What a reply script returns: a reply, null for silence, undefined for the default answer. */
type Script = (req: DhcpPacket, type: string, to: string) => DhcpPacketInit | null | undefined;

/** A dnsmasq-like server: one pool, one lease per client id, authoritative (NAKs what it does not know). */
class ScriptedServer {
  readonly seen: Seen[] = [];
  script: Script | undefined;
  lease = 120;
  t1: number | undefined;
  t2: number | undefined;
  private readonly bindings = new Map<string, number>();
  private next: number;

  constructor(
    private readonly lan: LanHost,
    readonly ip: string,
    private readonly extra: Partial<DhcpOptions> = {},
  ) {
    this.next = (ipv4FromStringSafe(ip) & 0xffffff00) + 100;
    lan.servers.push(this);
  }

  receive(bytes: Uint8Array, to: string): void {
    const p = parseDhcp(bytes);
    const type = DHCP_MESSAGE_TYPE_NAMES[p.options.messageType];
    this.seen.push({ atUs: this.lan.now, type, to, p });
    let r = this.script?.(p, type, to);
    if (r === undefined) r = this.answer(p);
    if (r) {
      const out = encodeDhcp(r);
      this.lan.later(() => this.lan.toClients(out, this.ip));
    }
  }

  sent(type: string): Seen[] {
    return this.seen.filter((s) => s.type === type);
  }

  reply(req: DhcpPacket, type: DhcpMessageType, yiaddr: number, over: Partial<DhcpOptions> = {}): DhcpPacketInit {
    const net = ipv4FromStringSafe(this.ip) & 0xffffff00;
    const options: DhcpOptions =
      type === DhcpMessageType.NAK
        ? { messageType: type, serverId: ip(this.ip), message: 'wrong address' }
        : {
            messageType: type,
            serverId: ip(this.ip),
            leaseSecs: this.lease,
            subnetMask: ip('255.255.255.0'),
            routers: [net + 1],
            dns: [net + 1, net + 2],
            ntp: [net + 3],
            domainName: 'lws.test',
            ...this.extra,
          };
    if (type !== DhcpMessageType.NAK) {
      if (this.t1 !== undefined) options.t1Secs = this.t1;
      if (this.t2 !== undefined) options.t2Secs = this.t2;
    }
    Object.assign(options, over);
    return { op: BOOTREPLY, xid: req.xid, flags: req.flags, yiaddr, chaddr: req.chaddr, options };
  }

  private key(p: DhcpPacket): string {
    return Array.from(p.options.clientId ?? p.chaddr).join(',');
  }

  private answer(p: DhcpPacket): DhcpPacketInit | null {
    const o = p.options;
    const net = ipv4FromStringSafe(this.ip) & 0xffffff00;
    const inPool = (a: number): boolean => (a & 0xffffff00) === net && (a & 0xff) >= 100 && (a & 0xff) < 200;
    switch (o.messageType) {
      case DhcpMessageType.DISCOVER: {
        let a = this.bindings.get(this.key(p));
        if (a === undefined) {
          a = o.requestedIp !== undefined && inPool(o.requestedIp) ? o.requestedIp : this.next++;
          this.bindings.set(this.key(p), a);
        }
        return this.reply(p, DhcpMessageType.OFFER, a);
      }
      case DhcpMessageType.REQUEST: {
        if (o.serverId !== undefined && o.serverId !== ip(this.ip)) return null; // another server was chosen
        const want = o.requestedIp ?? p.ciaddr;
        if (!inPool(want)) return this.reply(p, DhcpMessageType.NAK, 0);
        this.bindings.set(this.key(p), want);
        return this.reply(p, DhcpMessageType.ACK, want);
      }
      case DhcpMessageType.RELEASE:
      case DhcpMessageType.DECLINE:
        this.bindings.delete(this.key(p));
        return null;
      default:
        return null;
    }
  }
}

function ipv4FromStringSafe(s: string): number {
  return ip(s);
}

interface Rig {
  lan: LanHost;
  ctx: Context;
  client: DhcpClient;
  server: ScriptedServer;
  states: DhcpState[];
  leases: Array<{ lease: DhcpLease; renewed: boolean; atUs: number }>;
  lost: Array<{ reason: DhcpLeaseLostReason; atUs: number }>;
  configured: InterfaceConfig[];
  logs: LogRecord[];
}

const FAST = makeRetryPolicy({ table: [1000, 2000, 4000], conceal: 3, jitterPercent: 1 });
const rigs: Rig[] = [];

function rig(opts: Partial<DhcpClientOptions> = {}, ctxOpts: { faults?: FaultInjector; board?: 'dhcp' | 'preconfigured' } = {}): Rig {
  const lan = new LanHost();
  const configured: InterfaceConfig[] = [];
  const board: Board = {
    description: { board: 'lan', identity: { serial: 'LAN-1', firmwareVersion: '1', deviceType: 'lan' }, interfaces: ctxOpts.board ?? 'dhcp' },
    ops: { configureInterface: (cfg) => configured.push(cfg) },
  };
  const logs: LogRecord[] = [];
  const ctx = new Context({ host: lan, board, log: (r) => logs.push(r), logLevel: 'debug', ...(ctxOpts.faults ? { faults: ctxOpts.faults } : {}) });
  const server = new ScriptedServer(lan, '10.9.0.1');
  const r: Rig = { lan, ctx, client: undefined as unknown as DhcpClient, server, states: [], leases: [], lost: [], configured, logs };
  r.client = new DhcpClient(ctx, {
    ifname: 'eth0',
    mac: MAC,
    retry: FAST,
    onState: (s) => r.states.push(s),
    onLease: (lease, renewed) => r.leases.push({ lease, renewed, atUs: lan.now }),
    onLeaseLost: (reason) => r.lost.push({ reason, atUs: lan.now }),
    ...opts,
  });
  ctx.system.register(new DhcpNotifier(r.client));
  rigs.push(r);
  return r;
}

afterEach(() => {
  for (const r of rigs.splice(0)) if (!r.ctx.isDestroyed) r.ctx.destroy();
});

const opt = (p: DhcpPacket): DhcpOptions => p.options;

describe('acquiring a lease', () => {
  test('DISCOVER, OFFER, REQUEST, ACK: the requests carry what RFC 2131 asks; the boot walk is held until bound', async () => {
    const r = rig({ hostname: 'lwsx-dev' });
    await r.lan.until('OPERATIONAL', () => r.ctx.system.state.state === SysState.OPERATIONAL, 10 * S);
    const [disc, req] = r.server.seen;
    expect(r.server.seen.map((s) => `${s.type}->${s.to}`)).toEqual(['DISCOVER->255.255.255.255', 'REQUEST->255.255.255.255']);
    for (const s of [disc, req]) {
      const p = (s as Seen).p;
      expect(p.flags).toBe(BOOTP_FLAG_BROADCAST);
      expect(p.ciaddr).toBe(0);
      expect(Array.from(p.chaddr)).toEqual([2, 0, 0, 0xaa, 0xbb, 0xcc]);
      expect(Array.from(opt(p).clientId as Uint8Array)).toEqual([1, 2, 0, 0, 0xaa, 0xbb, 0xcc]);
      expect(opt(p).parameterRequestList).toEqual([1, 3, 6, 15, 42, 51, 54, 58, 59]);
      expect(opt(p).hostname).toBe('lwsx-dev');
    }
    expect(opt(disc!.p).requestedIp).toBeUndefined();
    expect(opt(disc!.p).serverId).toBeUndefined();
    // selecting: the same xid, the offered address and the chosen server
    expect(req!.p.xid).toBe(disc!.p.xid);
    expect(ipv4ToString(opt(req!.p).requestedIp as number)).toBe('10.9.0.100');
    expect(ipv4ToString(opt(req!.p).serverId as number)).toBe('10.9.0.1');

    expect(r.states).toEqual(['INIT', 'SELECTING', 'REQUESTING', 'BOUND']);
    expect(r.configured).toEqual([
      { name: 'eth0', address: { family: 'IPv4', address: '10.9.0.100', prefixLength: 24 }, router: '10.9.0.1', dns: ['10.9.0.1', '10.9.0.2'], ntp: ['10.9.0.3'], leaseSecs: 120 },
    ]);
    expect(r.leases.map((l) => [l.lease.dns, l.lease.ntp, l.lease.domain, l.renewed])).toEqual([[['10.9.0.1', '10.9.0.2'], ['10.9.0.3'], 'lws.test', false]]);
    const held = r.ctx.system.state.log.find((x) => x.kind === 'held');
    expect(held?.heldBy).toBe('dhcp');
    expect(held?.toName).toBe('DHCP');
    // no step past IFACE_COLDPLUG happened before the lease
    const dhcpStep = r.ctx.system.state.log.find((x) => x.kind === 'step' && x.toName === 'DHCP');
    expect(dhcpStep!.atUs).toBeGreaterThanOrEqual(r.leases[0]!.atUs);
  });

  test('the xid is 32 random bits, new for each exchange', async () => {
    const r = rig();
    let naks = 2;
    r.server.script = (p, type) => (type === 'REQUEST' && naks-- > 0 ? r.server.reply(p, DhcpMessageType.NAK, 0) : undefined);
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 60 * S);
    const xids = new Set(r.server.sent('DISCOVER').map((s) => s.p.xid));
    expect(xids.size).toBe(3);
    expect([...xids].some((x) => x > 0xffff)).toBe(true);
  });

  test('retransmits DISCOVER on the retry policy, then starts over with a new xid', async () => {
    const r = rig();
    r.server.script = () => null; // a dead server
    await r.lan.pump(r.lan.now + 20 * S);
    const d = r.server.sent('DISCOVER');
    // FAST: 1 s, 2 s, 4 s (+1 % jitter at most) and conceal 3: four transmissions, the last waits 4 s, then over
    const first = d.slice(0, 4);
    expect(new Set(first.map((s) => s.p.xid)).size).toBe(1);
    const gaps = first.slice(1).map((s, i) => s.atUs - first[i]!.atUs);
    [1, 2, 4].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base * S);
      expect(gaps[i]).toBeLessThanOrEqual(base * S * 1.01 + 1);
    });
    expect(d[4]!.p.xid).not.toBe(d[0]!.p.xid);
    expect(d[4]!.atUs - d[3]!.atUs).toBeGreaterThanOrEqual(4 * S);
    // secs counts from the start of the exchange
    expect(d.slice(0, 4).map((s) => s.p.secs)).toEqual([0, 1, 3, 7]);
    expect(r.client.state).toBe('SELECTING');
    expect(r.logs.some((l) => l.msg.includes('ERR') || l.fields?.['code'] === 'ERR_UDP_TIMEOUT')).toBe(true);
  });

  test('the RFC default policy: 4 s doubling to 64 s, at most 25 % later', async () => {
    const r = rig({ retry: undefined as never });
    r.server.script = () => null;
    await r.lan.pump(r.lan.now + 200 * S);
    const d = r.server.sent('DISCOVER');
    const gaps = d.slice(1, 5).map((s, i) => (s.atUs - d[i]!.atUs) / S);
    [4, 8, 16, 32].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base);
      expect(gaps[i]).toBeLessThanOrEqual(base * 1.25);
    });
  });

  test('offers that are not consistent are ignored; the next good one is taken', async () => {
    const r = rig();
    let n = 0;
    r.server.script = (p, type) => {
      if (type !== 'DISCOVER') return undefined;
      n++;
      if (n === 1) return r.server.reply(p, DhcpMessageType.OFFER, ip('10.9.0.100'), { routers: [ip('192.168.1.1')] });
      if (n === 2) return r.server.reply(p, DhcpMessageType.OFFER, 0);
      if (n === 3) return r.server.reply(p, DhcpMessageType.OFFER, ip('10.9.0.100'), { serverId: undefined as never });
      return undefined;
    };
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 60 * S);
    expect(r.client.stats.rejected).toBe(3);
    expect(r.server.sent('DISCOVER').length).toBe(4);
    expect(r.logs.filter((l) => l.level === 'warn' && /lease rejected/.test(l.msg)).map((l) => l.fields?.['field'])).toEqual(['routers[0]', 'yiaddr', 'serverId']);
  });

  test('replies for another xid or another MAC, and garbage, are ignored', async () => {
    const r = rig();
    r.server.script = (p, type) => {
      if (type !== 'DISCOVER') return undefined;
      const other = r.server.reply(p, DhcpMessageType.OFFER, ip('10.9.0.150'));
      const wrongXid = { ...other, xid: (p.xid + 1) >>> 0 };
      const wrongMac = { ...other, chaddr: Uint8Array.of(2, 0, 0, 0, 0, 1) };
      r.lan.later(() => r.lan.toClients(encodeDhcp(wrongXid), '10.9.0.1'), 10);
      r.lan.later(() => r.lan.toClients(encodeDhcp(wrongMac), '10.9.0.1'), 20);
      r.lan.later(() => r.lan.toClients(Uint8Array.of(2, 1, 6, 0), '10.9.0.1'), 30);
      return undefined;
    };
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    expect(r.client.lease?.address).toBe('10.9.0.100');
    expect(r.client.stats.malformed).toBe(1);
  });
});

describe('the lease’s life: T1, T2, expiry', () => {
  test('nobody answers: RENEWING at T1 (unicast), REBINDING at T2 (broadcast), INIT at expiry', async () => {
    const r = rig({ renewRetryMinMs: 5000 });
    r.server.lease = 100;
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    const start = r.client.lease!.startUs;
    r.server.script = (_p, type) => (type === 'DISCOVER' ? undefined : null);
    await r.lan.until('a new DISCOVER', () => r.server.sent('DISCOVER').length === 2, 200 * S);
    const renewals = r.server.sent('REQUEST').slice(1);
    const at = (s: Seen): number => (s.atUs - LATENCY_US - start) / S;
    // §4.4.5: the next REQUEST after half the time left to T2 (then to expiry), at least 5 s apart here
    expect(renewals.map((s) => [at(s), s.to])).toEqual([
      [50, '10.9.0.1'],
      [68.75, '10.9.0.1'],
      [78.125, '10.9.0.1'],
      [83.125, '10.9.0.1'],
      [87.5, '255.255.255.255'],
      [93.75, '255.255.255.255'],
      [98.75, '255.255.255.255'],
    ]);
    for (const s of renewals) {
      expect(ipv4ToString(s.p.ciaddr)).toBe('10.9.0.100');
      expect(opt(s.p).requestedIp).toBeUndefined();
      expect(opt(s.p).serverId).toBeUndefined();
    }
    expect(r.lost).toEqual([{ reason: 'expired', atUs: start + 100 * S }]);
    expect(r.states.slice(4)).toEqual(['RENEWING', 'REBINDING', 'INIT', 'SELECTING']);
    // the lost address is still suggested to the server in the new DISCOVER
    expect(ipv4ToString(opt(r.server.sent('DISCOVER')[1]!.p).requestedIp as number)).toBe('10.9.0.100');
  });

  test('the server’s T1 and T2 are honoured; an ACK at T1 renews the lease from the time of the REQUEST', async () => {
    const r = rig();
    r.server.t1 = 5;
    r.server.t2 = 8;
    await r.lan.until('two renewals', () => r.leases.length === 3, 60 * S);
    const [a, b, c] = r.leases.map((l) => l.lease);
    expect(r.leases.map((l) => l.renewed)).toEqual([false, true, true]);
    expect(b!.startUs - a!.startUs).toBe(5 * S);
    expect(c!.startUs - b!.startUs).toBe(5 * S);
    expect(r.server.sent('REQUEST').slice(1).map((s) => s.to)).toEqual(['10.9.0.1', '10.9.0.1']);
    expect(r.configured.length).toBe(3);
    expect(r.states).toEqual(['INIT', 'SELECTING', 'REQUESTING', 'BOUND', 'RENEWING', 'BOUND', 'RENEWING', 'BOUND']);
    expect(r.lost).toEqual([]);
  });

  test('REBINDING accepts another server; that server renews from then on', async () => {
    const r = rig({ renewRetryMinMs: 60_000 });
    r.server.t1 = 5;
    r.server.t2 = 8;
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    r.server.script = () => null; // the first server dies
    const other = new ScriptedServer(r.lan, '10.9.0.2');
    other.t1 = 5;
    other.t2 = 8;
    other.script = (p, type, to) => (type === 'REQUEST' && to === '255.255.255.255' ? other.reply(p, DhcpMessageType.ACK, p.ciaddr) : null);
    await r.lan.until('rebound', () => r.leases.length === 2, 20 * S);
    expect(r.client.lease?.serverId).toBe('10.9.0.2');
    expect(r.states.slice(4)).toEqual(['RENEWING', 'REBINDING', 'BOUND']);
    other.script = (p, type) => (type === 'REQUEST' ? other.reply(p, DhcpMessageType.ACK, p.ciaddr) : null);
    await r.lan.until('renewed by the new server', () => r.leases.length === 3, 20 * S);
    expect(other.seen.at(-1)!.to).toBe('10.9.0.2');
  });

  test('a NAK while RENEWING loses the lease and starts over', async () => {
    const r = rig();
    r.server.t1 = 5;
    r.server.t2 = 8;
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    let once = true;
    r.server.script = (p, type) => (type === 'REQUEST' && p.ciaddr && once ? ((once = false), r.server.reply(p, DhcpMessageType.NAK, 0)) : undefined);
    await r.lan.until('bound again', () => r.leases.length === 2, 20 * S);
    expect(r.lost.map((l) => l.reason)).toEqual(['nak']);
    expect(r.states.slice(4)).toEqual(['RENEWING', 'INIT', 'SELECTING', 'REQUESTING', 'BOUND']);
    expect(r.leases[1]!.renewed).toBe(false);
    // the NAKed address is not suggested again
    expect(opt(r.server.sent('DISCOVER')[1]!.p).requestedIp).toBeUndefined();
  });

  test('an infinite lease arms no timer', async () => {
    const r = rig();
    r.server.lease = 0xffffffff;
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    const sent = r.server.seen.length;
    await r.lan.pump(r.lan.now + 100_000 * S);
    expect(r.server.seen.length).toBe(sent);
    expect(r.client.state).toBe('BOUND');
  });
});

describe('NAK, INIT-REBOOT, DECLINE, RELEASE', () => {
  test('a NAK in REQUESTING sends the client back to INIT; repeated NAKs are paced by the retry table', async () => {
    const r = rig();
    let naks = 3;
    r.server.script = (p, type) => (type === 'REQUEST' && naks-- > 0 ? r.server.reply(p, DhcpMessageType.NAK, 0) : undefined);
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 60 * S);
    const d = r.server.sent('DISCOVER').map((s) => s.atUs);
    expect(d.length).toBe(4);
    // first start-over at once (one round trip later), then 1 s and 2 s (FAST) plus jitter
    expect(d[1]! - d[0]!).toBeLessThan(10 * LATENCY_US);
    expect(d[2]! - d[1]!).toBeGreaterThanOrEqual(1 * S);
    expect(d[3]! - d[2]!).toBeGreaterThanOrEqual(2 * S);
    expect(r.client.stats.naks).toBe(3);
    expect(r.lost).toEqual([]); // nothing was bound yet
  });

  test('a NAK from a server we did not select is ignored while REQUESTING', async () => {
    const r = rig();
    const rogue = new ScriptedServer(r.lan, '10.9.0.66');
    rogue.script = (p, type) => (type === 'REQUEST' ? rogue.reply(p, DhcpMessageType.NAK, 0) : null);
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    expect(r.client.stats.naks).toBe(0);
  });

  test('INIT-REBOOT: the remembered address is asked for straight away and confirmed', async () => {
    const r = rig({ previousLease: { address: '10.9.0.123' } });
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    expect(r.server.seen.map((s) => s.type)).toEqual(['REQUEST']);
    const p = r.server.seen[0]!.p;
    expect(ipv4ToString(opt(p).requestedIp as number)).toBe('10.9.0.123');
    expect(opt(p).serverId).toBeUndefined();
    expect(p.ciaddr).toBe(0);
    expect(r.server.seen[0]!.to).toBe('255.255.255.255');
    expect(r.states).toEqual(['INIT-REBOOT', 'REBOOTING', 'BOUND']);
    expect(r.client.lease?.address).toBe('10.9.0.123');
  });

  test('INIT-REBOOT NAKed (the address is not valid here): INIT, and a new address', async () => {
    const r = rig({ previousLease: { address: '10.9.0.250' } });
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    expect(r.server.seen.map((s) => s.type)).toEqual(['REQUEST', 'DISCOVER', 'REQUEST']);
    expect(r.states).toEqual(['INIT-REBOOT', 'REBOOTING', 'INIT', 'SELECTING', 'REQUESTING', 'BOUND']);
    expect(r.client.lease?.address).toBe('10.9.0.100');
    expect(opt(r.server.sent('DISCOVER')[0]!.p).requestedIp).toBeUndefined();
  });

  test('INIT-REBOOT unanswered: after the retry policy, INIT', async () => {
    const r = rig({ previousLease: { address: '10.9.0.123' } });
    r.server.script = (_p, type, _to) => (type === 'REQUEST' && r.client.state === 'REBOOTING' ? null : undefined);
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 30 * S);
    expect(r.server.seen.map((s) => s.type)).toEqual(['REQUEST', 'REQUEST', 'REQUEST', 'REQUEST', 'DISCOVER', 'REQUEST']);
    // INIT still suggests the address it had
    expect(r.client.lease?.address).toBe('10.9.0.123');
  });

  test('DECLINE: an address the check finds in use is declined; the client waits, then starts over', async () => {
    const checked: string[] = [];
    const r = rig({
      declineWaitMs: 10_000,
      addressCheck: (l) => {
        checked.push(l.address);
        return checked.length === 1 ? 'in-use' : 'ok';
      },
    });
    // the server forgets the declined binding and offers the next address
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 60 * S);
    const decl = r.server.sent('DECLINE');
    expect(decl.length).toBe(1);
    const p = decl[0]!.p;
    expect(decl[0]!.to).toBe('255.255.255.255');
    expect(ipv4ToString(opt(p).requestedIp as number)).toBe('10.9.0.100');
    expect(ipv4ToString(opt(p).serverId as number)).toBe('10.9.0.1');
    expect(p.ciaddr).toBe(0);
    expect(p.flags).toBe(0);
    expect(opt(p).parameterRequestList).toBeUndefined();
    const d = r.server.sent('DISCOVER');
    expect(d[1]!.atUs - decl[0]!.atUs).toBeGreaterThanOrEqual(10 * S);
    expect(opt(d[1]!.p).requestedIp).toBeUndefined();
    expect(checked).toEqual(['10.9.0.100', '10.9.0.101']);
    expect(r.configured.map((c) => c.address.address)).toEqual(['10.9.0.101']);
    expect(r.client.stats.declines).toBe(1);
  });

  test('an asynchronous addressCheck (an ARP probe) holds the bind until it answers', async () => {
    let answer: ((v: 'ok' | 'in-use') => void) | undefined;
    const r = rig({ addressCheck: () => new Promise((res) => (answer = res)) });
    await r.lan.until('the check', () => answer !== undefined, 10 * S);
    await r.lan.pump(r.lan.now + 5 * S);
    expect(r.client.state).toBe('REQUESTING');
    expect(r.configured).toEqual([]);
    answer!('ok');
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 1 * S);
    expect(r.server.sent('REQUEST').length).toBe(1);
  });

  test('RELEASE on orderly shutdown: the context going to CONTEXT_DESTROYING gives the lease back', async () => {
    const r = rig();
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    r.ctx.destroy();
    // the datagram was written before the socket closed; the LAN carries it on
    await r.lan.pump(r.lan.now + S);
    const rel = r.server.sent('RELEASE');
    expect(rel.length).toBe(1);
    expect(rel[0]!.to).toBe('10.9.0.1');
    expect(ipv4ToString(rel[0]!.p.ciaddr)).toBe('10.9.0.100');
    expect(ipv4ToString(opt(rel[0]!.p).serverId as number)).toBe('10.9.0.1');
    expect(rel[0]!.p.flags).toBe(0);
    expect(r.lost.map((l) => l.reason)).toEqual(['released']);
    expect(r.client.state).toBe('STOPPED');
    expect(r.lan.sockets.size).toBe(0);
  });

  test('stop() keeps the lease for INIT-REBOOT at the next start()', async () => {
    const r = rig({}, { board: 'preconfigured' });
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    r.client.stop();
    expect(r.lost).toEqual([]);
    r.client.start();
    await r.lan.until('BOUND', () => r.client.state === 'BOUND', 10 * S);
    expect(r.server.seen.map((s) => s.type)).toEqual(['DISCOVER', 'REQUEST', 'REQUEST']);
    expect(r.states.slice(-3)).toEqual(['INIT-REBOOT', 'REBOOTING', 'BOUND']);
  });
});

describe('fault injection', () => {
  test('30 % loss each way: BOUND in 100 of 100 seeded runs', async () => {
    const tx: number[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const r = rig({}, { faults: new FaultInjector('dhcp/udp_tx_loss(30%),dhcp/udp_rx_loss(30%)', seed) });
      await r.lan.until(`BOUND (seed ${seed})`, () => r.client.state === 'BOUND', 600 * S);
      tx.push(r.client.stats.transmissions);
      const st = r.ctx.faults.stats();
      expect(st['dhcp/udp_tx_loss']!.seen).toBe(r.client.stats.transmissions);
      r.ctx.destroy();
    }
    expect(tx.length).toBe(100);
    expect(Math.min(...tx)).toBeGreaterThanOrEqual(2);
  });
});

describe('hostile servers', () => {
  const addr = fc.oneof(fc.constantFrom(0, 0xffffffff, ip('10.9.0.1'), ip('10.9.0.100'), ip('10.9.0.255'), ip('127.0.0.1')), fc.integer({ min: 0, max: 0xffffffff }));
  const reply = fc.record(
    {
      messageType: fc.constantFrom(DhcpMessageType.OFFER, DhcpMessageType.ACK, DhcpMessageType.NAK, DhcpMessageType.DISCOVER),
      yiaddr: addr,
      serverId: addr,
      leaseSecs: fc.oneof(fc.constantFrom(0, 1, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
      t1Secs: fc.integer({ min: 0, max: 0xffffffff }),
      t2Secs: fc.integer({ min: 0, max: 0xffffffff }),
      subnetMask: addr,
      routers: fc.array(addr, { minLength: 1, maxLength: 3 }),
      dns: fc.array(addr, { minLength: 1, maxLength: 3 }),
      ntp: fc.array(addr, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['messageType', 'yiaddr'] },
  );

  test('whatever well-formed replies a server sends, the client never throws and stays in a defined state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(reply, { minLength: 1, maxLength: 6 }), async (replies) => {
        const r = rig({ addressCheck: () => 'ok' });
        let i = 0;
        r.server.script = (p) => {
          const { yiaddr, ...o } = replies[i++ % replies.length]!;
          return { op: BOOTREPLY, xid: p.xid, chaddr: p.chaddr, yiaddr, options: o };
        };
        await r.lan.pump(r.lan.now + 200 * S);
        expect(['INIT', 'SELECTING', 'REQUESTING', 'BOUND', 'RENEWING', 'REBINDING', 'REBOOTING']).toContain(r.client.state);
        expect(r.logs.filter((l) => /threw/.test(l.msg))).toEqual([]);
        if (r.client.lease) expect(r.configured.at(-1)?.address.address).toBe(r.client.lease.address);
        r.ctx.destroy();
      }),
      { numRuns: 100 },
    );
  });
});
