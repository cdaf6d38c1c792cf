/**
 * The resolver against a real dnsmasq on loopback: A and AAAA, CNAME chains answered in one
 * reply and a CNAME that needs a restart, NXDOMAIN, NODATA, REFUSED, TTL expiry (counted on
 * dnsmasq's side), a truncated answer that forces TCP, failover from a dead server, an IPv6
 * server, and 100 seeded runs with 30 % loss injected each way.
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import { Context } from '../../src/loop/context.js';
import { seededRandom16 } from '../../src/loop/retry.js';
import { FaultInjector } from '../../src/net/fault.js';
import type { Board } from '../../src/system/board.js';
import { DnsLookupError } from '../../src/services/dns/errors.js';
import { DnsResolver } from '../../src/services/dns/resolver.js';
import type { DnsResolverOptions, DnsResult } from '../../src/services/dns/resolver.js';
import { NodeHost } from '../../hosts/node/host.js';
import { manyRecords, startDnsmasq } from '../peers/dnsmasq.js';
import type { Dnsmasq } from '../peers/dnsmasq.js';
import { freePort, requirePeers } from '../peers/peers.js';
import { waitFor } from '../helpers/wait.js';

const { ok, peerTest } = requirePeers('dns interop (dnsmasq)', ['dnsmasq']);

const board: Board = {
  description: { board: 'dns-interop', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' },
  ops: {},
};

const ZONE = [
  'host-record=a.lws.test,10.0.0.1,fd00::1',
  'host-record=v4only.lws.test,10.0.0.2',
  'host-record=v6only.lws.test,fd00::2',
  'cname=c1.lws.test,a.lws.test',
  'cname=c2.lws.test,c1.lws.test',
  'cname=c3.lws.test,c2.lws.test',
  // dnsmasq does not chase a CNAME into address= names: the reply stops at the CNAME, so the
  // resolver must restart the question at the target
  'cname=r.lws.test,t.other.test',
  'address=/t.other.test/10.9.9.9',
  'address=/t.other.test/fd00::9',
  ...manyRecords('big.lws.test', 100),
];

let dm: Dnsmasq;
let short: Dnsmasq;
let host: NodeHost;
let ctx: Context;
const resolvers: DnsResolver[] = [];

beforeAll(async () => {
  if (!ok) return;
  [dm, short] = await Promise.all([startDnsmasq({ ttl: 60, lines: ZONE }), startDnsmasq({ ttl: 1, lines: ZONE })]);
  host = await NodeHost.open();
  ctx = new Context({ host, board });
});

afterAll(async () => {
  for (const r of resolvers) r.destroy();
  ctx?.destroy();
  await Promise.all([dm?.stop(), short?.stop()]);
});

function resolver(server: Dnsmasq = dm, opts: DnsResolverOptions = {}): DnsResolver {
  const r = new DnsResolver(ctx, { servers: [`127.0.0.1:${server.port}`], ...opts });
  resolvers.push(r);
  return r;
}

async function failure(p: Promise<DnsResult>): Promise<DnsLookupError> {
  const e = await p.then(
    (r) => {
      r.release();
      throw new Error(`expected a failure, got ${JSON.stringify(r.addresses)}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DnsLookupError);
  return e as DnsLookupError;
}

peerTest('A and AAAA merged into one list, then served from the cache', async () => {
  const r = resolver();
  const first = await r.lookup('A.lws.test.');
  expect(first.source).toBe('network');
  expect(first.name).toBe('a.lws.test');
  expect(first.addresses).toEqual([
    { family: 4, address: '10.0.0.1', ttl: 60 },
    { family: 6, address: 'fd00::1', ttl: 60 },
  ]);
  const again = await r.lookup('a.lws.test', { prefer: 'ipv6' });
  expect(again.source).toBe('cache');
  expect(again.addresses.map((a) => a.address)).toEqual(['fd00::1', '10.0.0.1']);
  first.release();
  again.release();
  await dm.settled();
  expect(dm.queries('a.lws.test', 'A')).toBe(1);
  expect(dm.queries('a.lws.test', 'AAAA')).toBe(1);
  expect(r.stats).toMatchObject({ questions: 2, cacheHits: 1 });
});

peerTest('one family only; an IPv6 server', async () => {
  const r = new DnsResolver(ctx, { servers: [`[::1]:${dm.port}`] });
  resolvers.push(r);
  const v6 = await r.lookup('v6only.lws.test', { family: 6 });
  expect(v6.addresses).toEqual([{ family: 6, address: 'fd00::2', ttl: 60 }]);
  v6.release();
  expect(r.stats.questions).toBe(1);
  expect(r.servers()[0]).toMatchObject({ address: '::1', family: 6, answers: 1, failures: 0 });
});

peerTest('a CNAME chain answered in one reply: the addresses of its end, cached under the name asked', async () => {
  const r = resolver();
  const res = await r.lookup('c3.lws.test');
  expect(res.canonicalName).toBe('a.lws.test');
  expect(res.addresses.map((a) => a.address)).toEqual(['10.0.0.1', 'fd00::1']);
  res.release();
  expect(r.stats.questions).toBe(2);
  const cached = await r.lookup('c3.lws.test');
  expect(cached.source).toBe('cache');
  cached.release();
});

peerTest('a CNAME that stops short restarts the question at its target', async () => {
  const r = resolver();
  const res = await r.lookup('r.lws.test');
  expect(res.canonicalName).toBe('t.other.test');
  expect(res.addresses.map((a) => a.address)).toEqual(['10.9.9.9', 'fd00::9']);
  res.release();
  // A and AAAA for r.lws.test, then again for t.other.test
  expect(r.stats.questions).toBe(4);
  await dm.settled();
  expect(dm.queries('r.lws.test')).toBe(2);
  expect(dm.queries('t.other.test')).toBe(2);
});

peerTest('NXDOMAIN, NODATA and REFUSED are distinct typed errors', async () => {
  const r = resolver();
  const nx = await failure(r.lookup('nope.lws.test'));
  expect(nx.code).toBe('ERR_DNS_NXDOMAIN');
  expect(nx.detail).toMatchObject({ name: 'nope.lws.test' });
  const nodata = await failure(r.lookup('v4only.lws.test', { family: 6 }));
  expect(nodata.code).toBe('ERR_DNS_NODATA');
  const refused = await failure(r.lookup('www.example.com'));
  expect(refused.code).toBe('ERR_DNS_REFUSED');
  expect(refused.detail).toMatchObject({ rcode: 5, server: `127.0.0.1#${dm.port}` });
  // a name with only an A record still resolves when both families are asked
  const v4 = await r.lookup('v4only.lws.test');
  expect(v4.addresses).toEqual([{ family: 4, address: '10.0.0.2', ttl: 60 }]);
  v4.release();
});

peerTest('an entry expires at its TTL: the next lookup goes to the wire again', async () => {
  const r = resolver(short);
  const before = short.queries('a.lws.test', 'A');
  const first = await r.lookup('a.lws.test');
  expect(first.addresses[0]?.ttl).toBe(1);
  const expiresUs = first.expiresUs as number;
  first.release();
  const hit = await r.lookup('a.lws.test');
  expect(hit.source).toBe('cache');
  hit.release();
  await short.settled();
  expect(short.queries('a.lws.test', 'A')).toBe(before + 1);
  await waitFor('the TTL to pass', () => host.nowUs() > expiresUs, 5000);
  const again = await r.lookup('a.lws.test');
  expect(again.source).toBe('network');
  again.release();
  await short.settled();
  expect(short.queries('a.lws.test', 'A')).toBe(before + 2);
  expect(r.stats.cache.expirations).toBe(1);
});

peerTest('a truncated UDP answer is asked again over TCP and gives every record', async () => {
  const r = resolver();
  const res = await r.lookup('big.lws.test', { family: 4 });
  expect(res.addresses).toHaveLength(100);
  expect(new Set(res.addresses.map((a) => a.address)).size).toBe(100);
  res.release();
  expect(r.stats.tcp).toBe(1);
  // dnsmasq logs the query twice: over UDP (answered truncated), then over TCP from the child
  // it forks for the connection, whose log lines may come after later UDP ones
  await waitFor('dnsmasq to log the TCP query', () => dm.queries('big.lws.test', 'A') === 2);
  await dm.settled();
  expect(dm.queries('big.lws.test', 'A')).toBe(2);
});

peerTest('a dead server first in the list: failover on timeout, then the live one leads', async () => {
  const dead = await freePort(); // nothing listens there: our datagrams vanish
  const r = new DnsResolver(ctx, { servers: [`127.0.0.1:${dead}`, `127.0.0.1:${dm.port}`] });
  resolvers.push(r);
  const first = await r.lookup('a.lws.test', { family: 4 });
  expect(first.addresses[0]?.address).toBe('10.0.0.1');
  first.release();
  const [live, gone] = r.servers();
  expect(live).toMatchObject({ port: dm.port, answers: 1, failures: 0 });
  expect(gone).toMatchObject({ port: dead, answers: 0, failures: 1 });
  const sent = r.stats.transmissions;
  const second = await r.lookup('v4only.lws.test', { family: 4 });
  second.release();
  expect(r.stats.transmissions - sent).toBe(1);
});

peerTest('30 % loss each way: 100 seeded runs all converge', async () => {
  // all at once, each with its own host, context and fault injector, so each seed replays alone
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => faultRun(i + 1)));
  const failed = results.filter((x) => x.error);
  const tx = results.map((x) => x.transmissions);
  const total = tx.reduce((a, b) => a + b, 0);
  const partial = results.filter((x) => !x.error && !x.complete).length;
  process.stdout.write(
    `\ndns fault run (dns/udp_tx_loss(30%),dns/udp_rx_loss(30%), seeds 1..100): converged ${results.length - failed.length}/100` +
      ` (${partial} with one family missing), transmissions total ${total}, max ${Math.max(...tx)} per lookup` +
      ` (A + AAAA; 2 is the loss-free minimum)\n`,
  );
  expect(failed).toEqual([]);
}, 120_000);

/** A NodeHost whose entropy (transaction ids, retry jitter) comes from the seed, so a run replays. */
class SeededHost extends NodeHost {
  private readonly next: () => number;

  constructor(seed: number) {
    super();
    this.next = seededRandom16(seed);
  }

  override random(into: Uint8Array): void {
    for (let i = 0; i < into.length; i++) into[i] = this.next() & 0xff;
  }
}

async function faultRun(seed: number): Promise<{ seed: number; transmissions: number; complete: boolean; error?: string }> {
  const h = new SeededHost(seed);
  await h.ready();
  const c = new Context({ host: h, board, faults: new FaultInjector('dns/udp_tx_loss(30%),dns/udp_rx_loss(30%)', seed) });
  const r = new DnsResolver(c, { servers: [`127.0.0.1:${dm.port}`] });
  try {
    const res = await r.lookup('a.lws.test');
    const complete = res.addresses.length === 2;
    res.release();
    return { seed, transmissions: r.stats.transmissions, complete };
  } catch (e) {
    return { seed, transmissions: r.stats.transmissions, complete: false, error: `${(e as Error).message}` };
  } finally {
    r.destroy();
    c.destroy();
  }
}
