/**
 * The resolver's logic on a virtual clock and a virtual network: the resend schedule, server
 * rotation and latency ranking, lookup order (cache, literal, hosts, join, wire), CNAME restarts
 * and their limit, every failure code, negative caching, partial answers, TCP fallback with
 * reads split anywhere, cancellation and reference-counted results.
 *
 * The "servers" are functions answering decoded questions; what dnsmasq itself does is proven
 * in test/interop/dns.test.ts. These cover what dnsmasq cannot be made to do on demand (stay
 * silent, SERVFAIL, answer garbage, truncate over TCP too, chain CNAMEs without chasing them).
 */
import { describe, expect, test } from '@jest/globals';
import { Context } from '../../src/loop/context.js';
import type { Datagram, SocketCallbacks, TCP, TcpOptions, UDP, UdpOptions } from '../../src/net/host.js';
import { DnsFlag, DnsType, decodeMessage, encodeMessage } from '../../src/services/dns/codec.js';
import type { DnsMessage, DnsRecord } from '../../src/services/dns/codec.js';
import { DnsLookupError, DnsNameError } from '../../src/services/dns/errors.js';
import { parseHosts } from '../../src/services/dns/hosts.js';
import { DnsResolver } from '../../src/services/dns/resolver.js';
import type { DnsLookupOptions, DnsResolverOptions, DnsResult } from '../../src/services/dns/resolver.js';
import { UsageError } from '../../src/util/errors.js';
import { VirtualHost } from '../vectors/virtual-host.js';

// ---------------------------------------------------------------------------------------------
// the virtual network

/** What a server does with one question: an answer message, raw bytes, or silence. */
type Answer = { msg?: DnsMessage; bytes?: Uint8Array; delayUs?: number; from?: { address: string; port: number } } | undefined;
type ServerFn = (q: DnsMessage, via: 'udp' | 'tcp') => Answer;

interface Sent {
  atUs: number;
  to: string;
  via: 'udp' | 'tcp';
  name: string;
  type: number;
  id: number;
}

class VirtualUdp implements UDP {
  readonly queue: Datagram[] = [];
  closed = false;
  constructor(private readonly net: NetHost, readonly opts: UdpOptions, readonly port: number) {}
  read(): Datagram | undefined {
    return this.queue.shift();
  }
  write(data: ArrayBuffer | ArrayBufferView, address: string, port: number): void {
    const b = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.net.udpSend(this, b, address, port);
  }
  close(): void {
    this.closed = true;
  }
}

class VirtualTcp implements TCP {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly chunks: Uint8Array[] = [];
  private got = new Uint8Array(0);
  closed = false;
  constructor(private readonly net: NetHost, readonly cb: SocketCallbacks, opts: TcpOptions) {
    this.remoteAddress = opts.address as string;
    this.remotePort = opts.port;
  }
  read(): ArrayBuffer | undefined {
    const c = this.chunks.shift();
    return c ? (c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength) as ArrayBuffer) : undefined;
  }
  write(data: ArrayBuffer | ArrayBufferView): number {
    const b = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const all = new Uint8Array(this.got.length + b.length);
    all.set(this.got);
    all.set(b, this.got.length);
    this.got = all;
    if (this.got.length >= 2 && this.got.length >= 2 + ((this.got[0] as number) << 8) + (this.got[1] as number)) {
      this.net.tcpQuery(this, this.got.slice(2));
    }
    return 65536;
  }
  close(): void {
    this.closed = true;
  }
}

class NetHost extends VirtualHost {
  latencyUs = 1_000;
  readonly sent: Sent[] = [];
  readonly tcpSockets: VirtualTcp[] = [];
  /** how TCP replies are cut into reads: default one read */
  tcpSplit: (reply: Uint8Array) => Uint8Array[] = (r) => [r];
  private readonly servers = new Map<string, ServerFn>();
  private readonly tcpServers = new Set<string>();
  private events: { at: number; seq: number; run: () => void }[] = [];
  private seq = 0;
  private nextPort = 40000;

  serve(at: string, fn: ServerFn, opts: { tcp?: boolean; latencyUs?: number } = {}): void {
    this.servers.set(at, opts.latencyUs === undefined ? fn : (q, via) => {
      const a = fn(q, via);
      return a && { ...a, delayUs: (a.delayUs ?? 0) + (opts.latencyUs as number) * 2 - this.latencyUs * 2 };
    });
    if (opts.tcp ?? true) this.tcpServers.add(at);
  }

  override udp(opts: UdpOptions = {}): UDP {
    return new VirtualUdp(this, opts, this.nextPort++);
  }

  override tcp(opts: TcpOptions): TCP {
    const s = new VirtualTcp(this, opts, opts);
    this.tcpSockets.push(s);
    const at = `${opts.address}#${opts.port}`;
    this.later(this.latencyUs, () => {
      if (s.closed) return;
      if (this.tcpServers.has(at)) opts.onWritable?.(65536);
      else opts.onError?.(new Error('connection refused'));
    });
    return s;
  }

  /** Datagrams sent to `at` (address#port), optionally only for `name`. */
  count(at?: string, name?: string): number {
    return this.sent.filter((s) => (!at || s.to === at) && (!name || s.name === name)).length;
  }

  udpSend(from: VirtualUdp, b: Uint8Array, address: string, port: number): void {
    const at = `${address}#${port}`;
    const q = decodeMessage(b);
    this.sent.push({ atUs: this.now, to: at, via: 'udp', name: q.questions[0]?.name ?? '', type: q.questions[0]?.type ?? 0, id: q.id });
    const fn = this.servers.get(at);
    if (!fn) return;
    this.later(this.latencyUs, () => {
      const a = fn(q, 'udp');
      if (!a) return;
      const bytes = a.bytes ?? encodeMessage(a.msg as DnsMessage);
      this.later(this.latencyUs + (a.delayUs ?? 0), () => {
        if (from.closed) return;
        from.queue.push({ data: bytes.slice().buffer as ArrayBuffer, address: a.from?.address ?? address, port: a.from?.port ?? port });
        from.opts.onReadable?.(from.queue.length);
      });
    });
  }

  tcpQuery(s: VirtualTcp, b: Uint8Array): void {
    const at = `${s.remoteAddress}#${s.remotePort}`;
    const q = decodeMessage(b);
    this.sent.push({ atUs: this.now, to: at, via: 'tcp', name: q.questions[0]?.name ?? '', type: q.questions[0]?.type ?? 0, id: q.id });
    const a = (this.servers.get(at) as ServerFn)(q, 'tcp');
    if (!a) return;
    const bytes = a.bytes ?? encodeMessage(a.msg as DnsMessage);
    const framed = new Uint8Array(bytes.length + 2);
    framed.set([bytes.length >> 8, bytes.length & 0xff]);
    framed.set(bytes, 2);
    let t = this.latencyUs;
    for (const piece of this.tcpSplit(framed)) {
      this.later((t += 10), () => {
        if (s.closed) return;
        s.chunks.push(piece);
        s.cb.onReadable?.(piece.length);
      });
    }
  }

  private later(delayUs: number, run: () => void): void {
    this.events.push({ at: this.now + delayUs, seq: this.seq++, run });
    this.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Plays timers and network events in time order until nothing is left, or up to `untilUs` (then the clock is there). */
  override async run(untilUs?: number): Promise<void> {
    const limit = untilUs ?? this.now + 120_000_000;
    for (let spins = 0; spins < 1_000_000; spins++) {
      await Promise.resolve();
      await Promise.resolve();
      const net = this.events[0]?.at;
      const timer = this.wakeAt;
      const next = net === undefined ? timer : timer === undefined ? net : Math.min(net, timer);
      if (next === undefined || next > limit) {
        if (untilUs !== undefined) this.now = Math.max(this.now, untilUs);
        return;
      }
      if (next > this.now) this.now = next;
      if (net !== undefined && net <= this.now) {
        this.events.shift()?.run();
        continue;
      }
      this.wakeup();
    }
    throw new Error('NetHost.run: too many steps');
  }
}

// ---------------------------------------------------------------------------------------------
// answers

const S1 = '10.53.0.1#53';
const S2 = '10.53.0.2#53';
const S3 = '10.53.0.3#53';

function reply(q: DnsMessage, rcode: number, answers: DnsRecord[] = [], authorities: DnsRecord[] = [], flags = 0): { msg: DnsMessage } {
  return { msg: { id: q.id, flags: DnsFlag.QR | DnsFlag.RD | DnsFlag.RA | flags | rcode, questions: q.questions, answers, authorities, additionals: [] } };
}

const A = (name: string, address: string, ttl = 60): DnsRecord => ({ name, type: DnsType.A, class: 1, ttl, data: address });
const AAAA = (name: string, address: string, ttl = 60): DnsRecord => ({ name, type: DnsType.AAAA, class: 1, ttl, data: address });
const CNAME = (name: string, target: string, ttl = 60): DnsRecord => ({ name, type: DnsType.CNAME, class: 1, ttl, data: target });
const SOA = (minimum: number, ttl = 3600): DnsRecord => ({
  name: 'lws.test',
  type: DnsType.SOA,
  class: 1,
  ttl,
  data: { mname: 'ns.lws.test', rname: 'hostmaster.lws.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});

/** A zone: name → records; unknown names NXDOMAIN (with `soa` if given). */
function zone(records: DnsRecord[], soa?: DnsRecord): ServerFn {
  return (q) => {
    const qq = q.questions[0] as { name: string; type: number };
    const mine = records.filter((r) => r.name === qq.name);
    if (!mine.length) return reply(q, 3, [], soa ? [soa] : []);
    return reply(q, 0, mine.filter((r) => r.type === qq.type || r.type === DnsType.CNAME), soa ? [soa] : []);
  };
}

const ZONE = zone([A('a.lws.test', '10.0.0.1'), AAAA('a.lws.test', 'fd00::1'), A('b.lws.test', '10.0.0.2'), A('c.lws.test', '10.0.0.3')]);

async function setup(opts: DnsResolverOptions = {}, servers: string[] = ['10.53.0.1']): Promise<{ host: NetHost; ctx: Context; dns: DnsResolver }> {
  const host = new NetHost();
  const ctx = new Context({
    host,
    board: { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' }, ops: {} },
  });
  await host.run(); // boot
  const dns = new DnsResolver(ctx, { servers, ...opts });
  return { host, ctx, dns };
}

/** Starts a lookup, plays the network, and returns what came back. */
async function settle(host: NetHost, dns: DnsResolver, name: string, opts?: DnsLookupOptions): Promise<DnsResult | DnsLookupError> {
  let out: DnsResult | DnsLookupError | undefined;
  dns.resolve(name, (e, r) => (out = e ?? r), opts);
  await host.run();
  if (!out) throw new Error(`${name}: no callback`);
  return out;
}

function ok(r: DnsResult | DnsLookupError): DnsResult {
  if (r instanceof DnsLookupError) throw r;
  return r;
}

function err(r: DnsResult | DnsLookupError): DnsLookupError {
  expect(r).toBeInstanceOf(DnsLookupError);
  return r as DnsLookupError;
}

// ---------------------------------------------------------------------------------------------

describe('lookup order', () => {
  test('the network, then the cache, answered before resolve() returns', async () => {
    const { host, dns } = await setup();
    host.serve(S1, ZONE);
    const first = ok(await settle(host, dns, 'a.lws.test'));
    expect(first.source).toBe('network');
    expect(first.addresses).toEqual([
      { family: 4, address: '10.0.0.1', ttl: 60 },
      { family: 6, address: 'fd00::1', ttl: 60 },
    ]);
    expect(host.sent.map((s) => s.type)).toEqual([DnsType.A, DnsType.AAAA]);
    expect(host.sent[0]?.id).not.toBe(host.sent[1]?.id);
    let sync: DnsResult | undefined;
    const req = dns.resolve('A.LWS.TEST.', (_e, r) => (sync = r), { prefer: 'ipv6' });
    expect(req.done).toBe(true);
    expect(sync?.source).toBe('cache');
    expect(sync?.addresses.map((a) => a.family)).toEqual([6, 4]);
    expect(host.count()).toBe(2);
  });

  test('literals answer themselves; a literal of the other family is NODATA', async () => {
    const { host, dns } = await setup();
    const v4 = ok(await settle(host, dns, '192.0.2.7'));
    expect(v4).toMatchObject({ source: 'numeric', expiresUs: undefined, addresses: [{ family: 4, address: '192.0.2.7', ttl: 0 }] });
    const v6 = ok(await settle(host, dns, '2001:DB8::1'));
    expect(v6.addresses).toEqual([{ family: 6, address: '2001:db8::1', ttl: 0 }]);
    expect(err(await settle(host, dns, '192.0.2.7', { family: 6 })).code).toBe('ERR_DNS_NODATA');
    expect(host.count()).toBe(0);
  });

  test('hosts entries come before the wire; a family they lack falls through to DNS', async () => {
    const { host, dns } = await setup({ hosts: parseHosts('127.0.0.1 localhost\n::1 localhost\n10.1.1.1 a.lws.test\n') });
    host.serve(S1, ZONE);
    const lh = ok(await settle(host, dns, 'LocalHost'));
    expect(lh).toMatchObject({ source: 'hosts', addresses: [{ address: '127.0.0.1' }, { address: '::1' }] });
    expect(ok(await settle(host, dns, 'a.lws.test', { family: 4 })).addresses[0]?.address).toBe('10.1.1.1');
    const v6 = ok(await settle(host, dns, 'a.lws.test', { family: 6 }));
    expect(v6).toMatchObject({ source: 'network', addresses: [{ address: 'fd00::1' }] });
    expect(host.count()).toBe(1);
  });

  test('a second lookup of a name on the wire joins it; a cancelled waiter is not called', async () => {
    const { host, dns } = await setup();
    host.serve(S1, ZONE);
    const got: string[] = [];
    dns.resolve('a.lws.test', (_e, r) => got.push(`first ${r?.addresses.length}`));
    const second = dns.resolve('a.lws.test', () => got.push('second'));
    dns.resolve('a.lws.test', (_e, r) => got.push(`third ${r?.source}`));
    second.cancel();
    await host.run();
    expect(got).toEqual(['first 2', 'third network']);
    expect(dns.stats).toMatchObject({ joined: 2, questions: 2 });
    expect(host.count()).toBe(2);
  });

  test('cancelling the only waiter abandons the question: no more retransmissions', async () => {
    const { host, dns } = await setup();
    host.serve(S1, () => undefined);
    const req = dns.resolve('a.lws.test', () => {
      throw new Error('must not be called');
    }, { family: 4 });
    await host.run(host.now + 400_000); // the first retransmission has gone
    expect(host.count()).toBe(2);
    req.cancel();
    await host.run();
    expect(host.count()).toBe(2);
    expect(host.wakeAt).toBeUndefined();
  });

  test('names that are not DNS names throw DnsNameError; lookup() rejects with it', async () => {
    const { dns } = await setup();
    expect(() => dns.resolve('a..b', () => {})).toThrow(DnsNameError);
    expect(() => dns.resolve('', () => {})).toThrow(DnsNameError);
    expect(() => dns.resolve('x', () => {}, { family: 5 as 4 })).toThrow(UsageError);
    await expect(dns.lookup('bad name')).rejects.toBeInstanceOf(DnsNameError);
  });
});

describe('the wire', () => {
  test('lws resend schedule: 300, 500, 700, 1250 ms (+0..20 % jitter), 5 s for the last, then ERR_DNS_TIMEOUT', async () => {
    const { host, dns } = await setup();
    host.serve(S1, () => undefined);
    const t0 = host.now;
    const e = err(await settle(host, dns, 'a.lws.test', { family: 4 }));
    expect(e.code).toBe('ERR_DNS_TIMEOUT');
    expect(e.detail).toMatchObject({ name: 'a.lws.test', transmissions: 5 });
    const at = host.sent.map((s) => s.atUs - t0);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    [300, 500, 700, 1250].forEach((ms, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(ms * 1000);
      expect(gaps[i]).toBeLessThanOrEqual(ms * 1200);
    });
    const last = at[4] as number;
    expect(host.now - t0 - last).toBeGreaterThanOrEqual(5_000_000);
    expect(host.now - t0 - last).toBeLessThanOrEqual(6_000_000 + 2 * host.latencyUs);
  });

  test('each timeout moves to the next server; the one that answered leads afterwards', async () => {
    const { host, dns } = await setup({}, ['10.53.0.1', '10.53.0.2', '10.53.0.3']);
    host.serve(S3, ZONE);
    ok(await settle(host, dns, 'b.lws.test', { family: 4 }));
    expect(host.sent.map((s) => s.to)).toEqual([S1, S2, S3]);
    expect(dns.servers().map((s) => [s.address, s.failures, s.answers])).toEqual([
      ['10.53.0.3', 0, 1],
      ['10.53.0.1', 1, 0],
      ['10.53.0.2', 1, 0],
    ]);
    host.sent.length = 0;
    ok(await settle(host, dns, 'c.lws.test', { family: 4 }));
    expect(host.sent.map((s) => s.to)).toEqual([S3]);
  });

  test('latency: every server is measured once, then the fastest leads', async () => {
    const { host, dns } = await setup({}, ['10.53.0.1', '10.53.0.2']);
    host.serve(S1, ZONE, { latencyUs: 40_000 });
    host.serve(S2, ZONE, { latencyUs: 2_000 });
    for (const n of ['a', 'b', 'c', 'a']) ok(await settle(host, dns, `${n}.lws.test`, { family: 4 })).release();
    dns.flushCache();
    ok(await settle(host, dns, 'a.lws.test', { family: 4 }));
    expect(host.sent.map((s) => s.to)).toEqual([S1, S2, S2, S2]);
    const [fast, slow] = dns.servers();
    expect(fast).toMatchObject({ address: '10.53.0.2', answers: 3 });
    expect(slow).toMatchObject({ address: '10.53.0.1', answers: 1 });
    expect(fast?.srttMs).toBeCloseTo(4, 0);
    expect(slow?.srttMs).toBeCloseTo(80, 0);
  });

  test('answers from elsewhere are ignored: another port, another address, an unknown id', async () => {
    const { host, dns } = await setup();
    let n = 0;
    host.serve(S1, (q) => {
      n++;
      if (n === 1) return { ...reply(q, 0, [A('a.lws.test', '6.6.6.6')]), from: { address: '10.53.0.1', port: 5353 } };
      if (n === 2) return { ...reply(q, 0, [A('a.lws.test', '6.6.6.6')]), from: { address: '10.66.0.1', port: 53 } };
      if (n === 3) return { msg: { ...reply(q, 0, [A('a.lws.test', '6.6.6.6')]).msg, id: (q.id + 1) & 0xffff } };
      return reply(q, 0, [A('a.lws.test', '10.0.0.1')]);
    });
    const r = ok(await settle(host, dns, 'a.lws.test', { family: 4 }));
    expect(r.addresses[0]?.address).toBe('10.0.0.1');
    expect(dns.stats.udp.ignored).toBe(3);
  });

  test('transaction ids are unique among questions in flight', async () => {
    const { host, dns } = await setup();
    host.serve(S1, () => undefined);
    for (let i = 0; i < 200; i++) dns.resolve(`n${i}.lws.test`, () => {});
    const ids = host.sent.map((s) => s.id);
    expect(ids).toHaveLength(400);
    expect(new Set(ids).size).toBe(400);
    dns.destroy();
  });

  test('no servers: ERR_DNS_NO_SERVERS at once; servers from DHCP are then used first', async () => {
    const { host, dns } = await setup({}, []);
    expect(err(await settle(host, dns, 'a.lws.test')).code).toBe('ERR_DNS_NO_SERVERS');
    dns.setServers(['10.53.0.2'], 'board');
    dns.setServers(['10.53.0.1'], 'dhcp');
    host.serve(S1, ZONE);
    ok(await settle(host, dns, 'a.lws.test', { family: 4 }));
    expect(host.sent.map((s) => s.to)).toEqual([S1]);
  });
});

describe('answers', () => {
  test('CNAME chains in the answer are followed; the TTL is the smallest of the chain', async () => {
    const { host, dns } = await setup();
    host.serve(S1, (q) => reply(q, 0, [CNAME(q.questions[0]!.name, 'x.lws.test', 10), CNAME('x.lws.test', 'a.lws.test', 20), A('a.lws.test', '10.0.0.1', 300)]));
    const t0 = host.now;
    const r = ok(await settle(host, dns, 'alias.lws.test', { family: 4 }));
    expect(r.canonicalName).toBe('a.lws.test');
    expect(r.expiresUs).toBeGreaterThanOrEqual(t0 + 10_000_000);
    expect(r.expiresUs).toBeLessThan(t0 + 11_000_000);
    expect(dns.stats.questions).toBe(1);
  });

  test('a chain that stops short restarts at its end, at most 4 times, then ERR_DNS_CNAME_DEPTH', async () => {
    const { host, dns } = await setup();
    // n0 → n1 → … each answered alone, never chased by the "server"
    host.serve(S1, (q) => {
      const name = q.questions[0]!.name;
      const i = Number(name.slice(1, name.indexOf('.')));
      return i === 9 ? reply(q, 0, [A(name, '10.0.0.9')]) : reply(q, 0, [CNAME(name, `n${i + 1}.lws.test`)]);
    });
    const four = ok(await settle(host, dns, 'n5.lws.test', { family: 4 }));
    expect(four.canonicalName).toBe('n9.lws.test');
    expect(host.count()).toBe(5);
    host.sent.length = 0;
    const e = err(await settle(host, dns, 'n4.lws.test', { family: 4 }));
    expect(e.code).toBe('ERR_DNS_CNAME_DEPTH');
    expect(e.detail).toMatchObject({ name: 'n4.lws.test', target: 'n9.lws.test', restarts: 4 });
    expect(host.count()).toBe(5);
  });

  test('a CNAME loop inside one answer is ERR_DNS_CNAME_DEPTH', async () => {
    const { host, dns } = await setup();
    host.serve(S1, (q) => reply(q, 0, [CNAME('l.lws.test', 'm.lws.test'), CNAME('m.lws.test', 'l.lws.test')]));
    expect(err(await settle(host, dns, 'l.lws.test', { family: 4 })).code).toBe('ERR_DNS_CNAME_DEPTH');
  });

  test('SERVFAIL, REFUSED, FORMERR each have their code; the error names the server', async () => {
    for (const [rcode, code] of [[2, 'ERR_DNS_SERVFAIL'], [5, 'ERR_DNS_REFUSED'], [1, 'ERR_DNS_RCODE'], [4, 'ERR_DNS_RCODE']] as const) {
      const { host, dns } = await setup();
      host.serve(S1, (q) => reply(q, rcode));
      const e = err(await settle(host, dns, 'a.lws.test'));
      expect([rcode, e.code]).toEqual([rcode, code]);
      expect(e.detail).toMatchObject({ name: 'a.lws.test', rcode, server: S1 });
    }
  });

  test('malformed answers: undecodable, not a response, not our question', async () => {
    const cases: Array<(q: DnsMessage) => Answer> = [
      (q) => ({ bytes: new Uint8Array([q.id >> 8, q.id & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0]) }),
      (q) => ({ msg: { ...reply(q, 0).msg, flags: 0 } }),
      (q) => ({ msg: { ...reply(q, 0).msg, questions: [{ name: 'other.lws.test', type: 1, class: 1 }] } }),
      (q) => ({ msg: { ...reply(q, 0).msg, questions: [] } }),
    ];
    for (const c of cases) {
      const { host, dns } = await setup();
      host.serve(S1, c);
      const e = err(await settle(host, dns, 'a.lws.test', { family: 4 }));
      expect(e.code).toBe('ERR_DNS_MALFORMED');
      expect(e.detail).toMatchObject({ server: S1, via: 'udp' });
    }
  });

  test('NXDOMAIN with an SOA is cached for min(SOA TTL, minimum), capped; without an SOA it is not', async () => {
    const { host, dns } = await setup();
    host.serve(S1, zone([], SOA(30)));
    const first = err(await settle(host, dns, 'gone.lws.test'));
    expect(first.code).toBe('ERR_DNS_NXDOMAIN');
    const cached = err(await settle(host, dns, 'gone.lws.test'));
    expect(cached.detail).toMatchObject({ cached: true });
    expect(host.count()).toBe(2);
    await host.run(host.now + 30_000_000);
    expect(err(await settle(host, dns, 'gone.lws.test')).detail).toMatchObject({ cached: false });
    expect(host.count()).toBe(4);

    const capped = await setup({ maxNegativeTtlS: 5 });
    capped.host.serve(S1, zone([], SOA(100_000, 100_000)));
    await settle(capped.host, capped.dns, 'gone.lws.test');
    await capped.host.run(capped.host.now + 5_000_000);
    await settle(capped.host, capped.dns, 'gone.lws.test');
    expect(capped.host.count()).toBe(4);

    const bare = await setup();
    bare.host.serve(S1, zone([]));
    await settle(bare.host, bare.dns, 'gone.lws.test');
    await settle(bare.host, bare.dns, 'gone.lws.test');
    expect(bare.host.count()).toBe(4);
  });

  test('one family timing out still delivers the other, uncached', async () => {
    const { host, dns } = await setup();
    host.serve(S1, (q) => (q.questions[0]?.type === DnsType.AAAA ? undefined : ZONE(q, 'udp')));
    const r = ok(await settle(host, dns, 'a.lws.test'));
    expect(r.addresses).toEqual([{ family: 4, address: '10.0.0.1', ttl: 60 }]);
    expect(dns.stats.partial).toBe(1);
    const before = host.count();
    ok(await settle(host, dns, 'a.lws.test', {})).release();
    expect(host.count()).toBeGreaterThan(before);
  });

  test('a name with data of one family only is a complete answer, and cached', async () => {
    const { host, dns } = await setup();
    host.serve(S1, ZONE);
    expect(ok(await settle(host, dns, 'b.lws.test')).addresses).toEqual([{ family: 4, address: '10.0.0.2', ttl: 60 }]);
    expect(ok(await settle(host, dns, 'b.lws.test')).source).toBe('cache');
    expect(err(await settle(host, dns, 'b.lws.test', { family: 6 })).code).toBe('ERR_DNS_NODATA');
  });

  test('TTLs are capped by maxTtlS, and expire on the virtual clock', async () => {
    const { host, dns } = await setup({ maxTtlS: 2 });
    host.serve(S1, ZONE);
    ok(await settle(host, dns, 'a.lws.test')).release();
    await host.run(host.now + 1_000_000);
    expect(ok(await settle(host, dns, 'a.lws.test')).source).toBe('cache');
    await host.run(host.now + 1_000_000);
    expect(ok(await settle(host, dns, 'a.lws.test')).source).toBe('network');
  });
});

describe('TCP after a truncated answer', () => {
  const big = Array.from({ length: 60 }, (_, i) => A('big.lws.test', `10.77.0.${i + 1}`));
  const truncating: ServerFn = (q, via) =>
    via === 'udp' ? reply(q, 0, big.slice(0, 20), [], DnsFlag.TC) : reply(q, 0, big);

  test('the TCP answer, read however it is split, gives every record', async () => {
    for (const split of [(r: Uint8Array) => [r], (r: Uint8Array) => Array.from(r, (b) => new Uint8Array([b])), (r: Uint8Array) => [r.subarray(0, 1), r.subarray(1, 7), r.subarray(7)]]) {
      const { host, dns } = await setup();
      host.tcpSplit = split;
      host.serve(S1, truncating);
      const r = ok(await settle(host, dns, 'big.lws.test', { family: 4 }));
      expect(r.addresses).toHaveLength(60);
      expect(host.sent.map((s) => s.via)).toEqual(['udp', 'tcp']);
      expect(host.tcpSockets.every((s) => s.closed)).toBe(true);
      expect(dns.stats.tcp).toBe(1);
    }
  });

  test('refused, silent, or a nonsense length: typed errors', async () => {
    const refused = await setup();
    refused.host.serve(S1, truncating, { tcp: false });
    const e1 = err(await settle(refused.host, refused.dns, 'big.lws.test', { family: 4 }));
    expect(e1.code).toBe('ERR_DNS_TCP');
    expect(e1.detail).toMatchObject({ via: 'tcp', server: S1 });

    const silent = await setup({ tcpTimeoutMs: 2000 });
    silent.host.serve(S1, (q, via) => (via === 'udp' ? truncating(q, via) : undefined));
    const t0 = silent.host.now;
    expect(err(await settle(silent.host, silent.dns, 'big.lws.test', { family: 4 })).code).toBe('ERR_DNS_TIMEOUT');
    expect(silent.host.now - t0).toBeGreaterThanOrEqual(2_000_000);
    expect(silent.host.tcpSockets[0]?.closed).toBe(true);

    const tiny = await setup();
    tiny.host.serve(S1, (q, via) => (via === 'udp' ? truncating(q, via) : { bytes: new Uint8Array(5) }));
    expect(err(await settle(tiny.host, tiny.dns, 'big.lws.test', { family: 4 })).code).toBe('ERR_DNS_MALFORMED');
  });
});

describe('results and lifetime', () => {
  test('a held result keeps its entry in a full cache; released, it can be evicted', async () => {
    const { host, dns } = await setup({ cacheSize: 1 });
    host.serve(S1, ZONE);
    const a = ok(await settle(host, dns, 'a.lws.test'));
    ok(await settle(host, dns, 'b.lws.test')).release();
    expect(dns.stats.cache.uncachedFull).toBe(1);
    const again = ok(await settle(host, dns, 'a.lws.test'));
    expect(again.source).toBe('cache');
    again.release();
    a.release();
    a.release(); // twice is harmless
    ok(await settle(host, dns, 'b.lws.test')).release();
    expect(ok(await settle(host, dns, 'b.lws.test')).source).toBe('cache');
  });

  test('lookupAddress gives the preferred first address and releases the result itself', async () => {
    const { host, dns } = await setup({ prefer: 'ipv6' });
    host.serve(S1, ZONE);
    const p = dns.lookupAddress('a.lws.test');
    await host.run();
    await expect(p).resolves.toBe('fd00::1');
  });

  test('a callback that throws is logged and does not stop the others', async () => {
    const { host, dns } = await setup();
    host.serve(S1, ZONE);
    const got: string[] = [];
    dns.resolve('a.lws.test', () => {
      throw new Error('user bug');
    });
    dns.resolve('a.lws.test', (_e, r) => got.push(r?.addresses[0]?.address ?? ''));
    await host.run();
    expect(got).toEqual(['10.0.0.1']);
  });

  test('destroy fails pending lookups with ERR_DNS_DESTROYED and refuses new ones', async () => {
    const { host, dns } = await setup();
    host.serve(S1, () => undefined);
    const p = dns.lookup('a.lws.test');
    dns.destroy();
    await expect(p).rejects.toMatchObject({ code: 'ERR_DNS_DESTROYED' });
    expect(() => dns.resolve('a.lws.test', () => {})).toThrow(UsageError);
    await host.run();
    expect(host.count()).toBe(2);
  });
});
