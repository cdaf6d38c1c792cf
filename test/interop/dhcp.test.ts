/**
 * DHCP against a real dnsmasq in a pair of network namespaces this suite creates (PEERS.md).
 * The device is test/fixtures/dhcp-client-main.ts, bundled from the real src/ and run inside
 * the client namespace with NodeHost: lease, DNS and NTP servers learnt, the DHCP boot state
 * held until bound, renewal at T1 (unicast), rebinding at T2 (broadcast), a NAK answered by
 * starting over, RELEASE at shutdown, and 100 seeded runs with 30 % loss each way. busybox
 * udhcpc, run in the same namespace, is the reference client for what is learnt.
 *
 * dnsmasq's shortest lease is 2 minutes; it sends options 58/59 as configured, so T1 = 5 s and
 * T2 = 8 s let a renewal happen within seconds.
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleProgram } from '../helpers/bundle.js';
import { createNetnsPair } from '../peers/netns.js';
import type { Dnsmasq, NetnsPair } from '../peers/netns.js';
import { requirePeers, which } from '../peers/peers.js';

const peers = requirePeers('dhcp interop', ['dnsmasq', 'ip', 'busybox'], { root: true });
const root = new URL('../../', import.meta.url).pathname;
let bundle = '';

let pair: NetnsPair | undefined;
let dnsmasq: Dnsmasq | undefined;

interface Ev {
  ev: string;
  ms: number;
  [k: string]: unknown;
}

beforeAll(async () => {
  if (!peers.ok) return;
  bundle = bundleProgram('test/fixtures/dhcp-client-main.ts', 'dhcp-client.mjs');
  pair = createNetnsPair('d');
  dnsmasq = await pair.startDnsmasq({ range: [100, 150], lease: '2m', t1: 5, t2: 8 });
}, 30_000);

afterAll(async () => {
  await pair?.destroy();
}, 30_000);

async function runDevice(job: Record<string, unknown>, timeoutMs = 90_000): Promise<Ev[]> {
  const p = pair as NetnsPair;
  const r = await p.execCli(process.execPath, [bundle, JSON.stringify({ ifname: p.cliIf, ...job })], timeoutMs);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Ev);
  if (r.code !== 0) throw new Error(`device exited ${r.code}: ${r.stderr}\n${events.filter((e) => e.ev !== 'log').map((e) => JSON.stringify(e)).join('\n')}`);
  return events;
}

const of = (events: Ev[], ev: string): Ev[] => events.filter((e) => e.ev === ev);

interface Lease {
  address: string;
  prefixLength: number;
  routers: string[];
  dns: string[];
  ntp: string[];
  domain?: string;
  serverId: string;
  leaseSecs: number;
  t1Secs: number;
  t2Secs: number;
}

function inRange(p: NetnsPair, address: string): boolean {
  const host = Number(address.split('.')[3]);
  return address.startsWith(`${p.net}.`) && host >= 100 && host <= 150;
}

const note = (msg: string): void => {
  process.stderr.write(`dhcp interop: ${msg}\n`);
};

peers.peerTest('a lease with DNS and NTP servers, the DHCP state held until bound, a unicast renewal at T1, RELEASE at shutdown', async () => {
  const p = pair as NetnsPair;
  const ev = await runDevice({ mode: 'renew', renewals: 1, hostname: 'lwsx-dev' });
  const leases = of(ev, 'lease');
  expect(leases.map((l) => l['renewed'])).toEqual([false, true]);
  const lease = leases[0]!['lease'] as Lease;
  expect(inRange(p, lease.address)).toBe(true);
  expect(lease).toMatchObject({
    prefixLength: 24,
    routers: [p.serverIp],
    dns: [p.serverIp],
    ntp: [p.serverIp],
    domain: 'lws.test',
    serverId: p.serverIp,
    leaseSecs: 120,
    t1Secs: 5,
    t2Secs: 8,
  });
  // the interface was configured through the board op, with what the resolver and SNTP need
  const cfg = of(ev, 'configured')[0]!['cfg'];
  expect(cfg).toEqual({ name: p.cliIf, address: { family: 'IPv4', address: lease.address, prefixLength: 24 }, router: p.serverIp, dns: [p.serverIp], ntp: [p.serverIp], leaseSecs: 120 });
  // the boot walk: held at DHCP by the dhcp notifier, then on to OPERATIONAL
  const sys = of(ev, 'sys');
  const held = sys.find((s) => s['kind'] === 'held');
  expect(held).toMatchObject({ to: 'DHCP', heldBy: 'dhcp' });
  expect(sys.findIndex((s) => s['kind'] === 'step' && s['to'] === 'DHCP')).toBeGreaterThan(sys.indexOf(held!));
  expect(of(ev, 'bound')[0]!['sys']).toBe('OPERATIONAL');
  // the exchange: DISCOVER and REQUEST broadcast, the renewal unicast to the server with ciaddr
  const tx = of(ev, 'tx').map((t) => `${t['state']}:${t['type']}->${t['to']}`);
  expect(tx).toEqual(['SELECTING:DISCOVER->255.255.255.255', 'REQUESTING:REQUEST->255.255.255.255', `RENEWING:REQUEST->${p.serverIp}`, `BOUND:RELEASE->${p.serverIp}`]);
  const states = of(ev, 'state').map((s) => s['state']);
  expect(states).toEqual(['INIT', 'SELECTING', 'REQUESTING', 'BOUND', 'RENEWING', 'BOUND', 'STOPPED']);
  expect(of(ev, 'lost').map((l) => l['reason'])).toEqual(['released']);
  // dnsmasq saw it all, RELEASE included
  const d = dnsmasq as Dnsmasq;
  await d.waitLog(new RegExp(`DHCPRELEASE\\(${p.srvIf}\\) ${lease.address.replace(/\./g, '\\.')}`));
  const acks = d.log().match(new RegExp(`DHCPACK\\(${p.srvIf}\\) ${lease.address.replace(/\./g, '\\.')} ${p.cliMac} lwsx-dev`, 'g')) ?? [];
  expect(acks.length).toBe(2);
  const boundAt = leases[0]!.ms;
  note(`lease ${lease.address}/24 from ${lease.serverId} in ${of(ev, 'bound')[0]!.ms} ms after start; renewed at T1 ${((leases[1]!.ms - boundAt) / 1000).toFixed(2)} s after binding (T1 = 5 s)`);
}, 60_000);

peers.peerTest('REBINDING at T2: with the server unreachable by unicast, the broadcast REQUEST keeps the lease', async () => {
  const p = pair as NetnsPair;
  const ev = await runDevice({ mode: 'rebind', renewals: 1 });
  const states = of(ev, 'state').map((s) => s['state']);
  expect(states).toEqual(['INIT', 'SELECTING', 'REQUESTING', 'BOUND', 'RENEWING', 'REBINDING', 'BOUND', 'STOPPED']);
  const tx = of(ev, 'tx').filter((t) => t['state'] === 'RENEWING' || t['state'] === 'REBINDING');
  expect(tx[0]).toMatchObject({ state: 'RENEWING', to: p.serverIp });
  expect(tx.find((t) => t['state'] === 'REBINDING')).toMatchObject({ type: 'REQUEST', to: '255.255.255.255' });
  const leases = of(ev, 'lease');
  expect((leases[1]!['lease'] as Lease).address).toBe((leases[0]!['lease'] as Lease).address);
  expect(of(ev, 'lost').map((l) => l['reason'])).toEqual(['released']);
  note(`rebound at T2 ${((leases[1]!.ms - leases[0]!.ms) / 1000).toFixed(2)} s after binding (T2 = 8 s)`);
}, 60_000);

peers.peerTest('a NAK: INIT-REBOOT asking for an address dnsmasq does not give is NAKed; INIT gets a new lease', async () => {
  const p = pair as NetnsPair;
  const ev = await runDevice({ mode: 'renew', renewals: 0, previousLease: `${p.net}.20` });
  const states = of(ev, 'state').map((s) => s['state']);
  expect(states).toEqual(['INIT-REBOOT', 'REBOOTING', 'INIT', 'SELECTING', 'REQUESTING', 'BOUND', 'STOPPED']);
  const first = of(ev, 'tx')[0]!;
  expect(first).toMatchObject({ type: 'REQUEST', state: 'REBOOTING', to: '255.255.255.255' });
  const lease = of(ev, 'lease')[0]!['lease'] as Lease;
  expect(inRange(p, lease.address)).toBe(true);
  expect((dnsmasq as Dnsmasq).log()).toMatch(new RegExp(`DHCPNAK\\(${p.srvIf}\\) ${p.net.replace(/\./g, '\\.')}\\.20 `));
  const nak = of(ev, 'log').find((l) => l['msg'] === 'NAK');
  expect(nak?.['fields']).toMatchObject({ state: 'REBOOTING', server: p.serverIp });
}, 60_000);

peers.peerTest('INIT-REBOOT with the address it had: dnsmasq ACKs it straight away, no DISCOVER', async () => {
  const p = pair as NetnsPair;
  const first = of(await runDevice({ mode: 'renew', renewals: 0 }), 'lease')[0]!['lease'] as Lease;
  const ev = await runDevice({ mode: 'renew', renewals: 0, previousLease: first.address });
  expect(of(ev, 'state').map((s) => s['state'])).toEqual(['INIT-REBOOT', 'REBOOTING', 'BOUND', 'STOPPED']);
  expect(of(ev, 'tx').map((t) => t['type'])).toEqual(['REQUEST', 'RELEASE']);
  expect((of(ev, 'lease')[0]!['lease'] as Lease).address).toBe(first.address);
  expect(inRange(p, first.address)).toBe(true);
}, 60_000);

peers.peerTest('DECLINE: an address the check says is in use is declined, and dnsmasq hands out another', async () => {
  const p = pair as NetnsPair;
  const ev = await runDevice({ mode: 'renew', renewals: 0, declineFirst: true, declineWaitMs: 300 });
  const checked = of(ev, 'check').map((c) => c['address'] as string);
  expect(checked.length).toBe(2);
  expect(checked[1]).not.toBe(checked[0]);
  expect(of(ev, 'tx').map((t) => t['type'])).toEqual(['DISCOVER', 'REQUEST', 'DECLINE', 'DISCOVER', 'REQUEST', 'RELEASE']);
  expect(of(ev, 'state').map((s) => s['state'])).toEqual(['INIT', 'SELECTING', 'REQUESTING', 'INIT', 'SELECTING', 'REQUESTING', 'BOUND', 'STOPPED']);
  expect(of(ev, 'configured').map((c) => (c['cfg'] as { address: { address: string } }).address.address)).toEqual([checked[1]]);
  await (dnsmasq as Dnsmasq).waitLog(new RegExp(`DHCPDECLINE\\(${p.srvIf}\\) ${checked[0]!.replace(/\./g, '\\.')}`));
}, 60_000);

peers.peerTest('fault run: 30 % loss each way, seeds 1..100, BOUND 100 times out of 100', async () => {
  const ev = await runDevice({ mode: 'faults', runs: 100 }, 300_000);
  const runs = of(ev, 'run');
  expect(runs.length).toBe(100);
  expect(runs.every((r) => r['ok'] === true)).toBe(true);
  const done = of(ev, 'done')[0]!;
  expect(done).toMatchObject({ runs: 100, bound: 100 });
  const tx = runs.map((r) => r['transmissions'] as number);
  const dropped = runs.reduce((a, r) => {
    const f = r['faults'] as Record<string, { seen: number; dropped: number }>;
    return a + (f['dhcp/udp_tx_loss']?.dropped ?? 0) + (f['dhcp/udp_rx_loss']?.dropped ?? 0);
  }, 0);
  note(
    `fault run: 100/100 BOUND; transmissions total ${done['total']}, mean ${(tx.reduce((a, b) => a + b, 0) / 100).toFixed(2)}, ` +
      `min ${done['min']}, max ${done['max']} (2 without loss); datagrams dropped by injection ${dropped}`,
  );
}, 320_000);

peers.peerTest('busybox udhcpc in the same namespace learns the same router, DNS, NTP, mask and domain', async () => {
  const p = pair as NetnsPair;
  const script = join(p.dir, 'udhcpc.sh');
  writeFileSync(script, '#!/bin/sh\necho "event=$1"\nenv | grep -E "^(ip|mask|router|dns|ntpsrv|domain|lease|serverid)=" | sort\n');
  chmodSync(script, 0o755);
  const r = await p.execCli(which('busybox') as string, ['udhcpc', '-f', '-q', '-n', '-R', '-i', p.cliIf, '-s', script, '-O', 'ntpsrv', '-t', '5', '-T', '1'], 30_000);
  expect(r.code).toBe(0);
  const env = Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => /^[a-z]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const ours = of(await runDevice({ mode: 'renew', renewals: 0 }), 'lease')[0]!['lease'] as Lease;
  expect(env['router']).toBe(ours.routers.join(' '));
  expect(env['dns']).toBe(ours.dns.join(' '));
  expect(env['ntpsrv']).toBe(ours.ntp.join(' '));
  expect(Number(env['mask'])).toBe(ours.prefixLength);
  expect(env['domain']).toBe(ours.domain);
  expect(env['serverid']).toBe(ours.serverId);
  expect(Number(env['lease'])).toBe(ours.leaseSecs);
  expect(inRange(p, env['ip'] as string)).toBe(true);
  note(`udhcpc: ip ${env['ip']} router ${env['router']} dns ${env['dns']} ntp ${env['ntpsrv']}; lwsx: ip ${ours.address} router ${ours.routers[0]} dns ${ours.dns.join(' ')} ntp ${ours.ntp.join(' ')}`);
}, 60_000);
