/**
 * The whole boot over a real wire: `npm start -- --netns` puts the simulated device in a network
 * namespace of its own, with dnsmasq (DHCP, DNS) and chrony (NTP) in a second one. DHCP,
 * DNS and SNTP are all genuinely exercised: DHCP holds its state until a lease is bound, the DNS
 * server comes from the lease, SNTP resolves ntp.lws.test through it and holds TIME_VALID until
 * chrony has answered.
 */
import { execFile, spawnSync } from 'node:child_process';
import { bundleProgram } from '../helpers/bundle.js';
import type { SimEvent } from '../../hosts/node/sim/simulator.js';
import { requirePeers } from '../peers/peers.js';

const { peerTest } = requirePeers('netns boot', ['ip', 'dnsmasq', 'chronyd'], { root: true });
const root = new URL('../../', import.meta.url).pathname;
let cli = '';

beforeAll(() => {
  cli = bundleProgram('hosts/node/sim/main.ts', 'sim-netns.mjs');
});

function namespaces(): string[] {
  return (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.startsWith(`lwsx-`));
}

peerTest.each([
  ['the NTP server the lease names', [], 'lease'],
  ['ntp.lws.test, found through the DNS server the lease names', ['--ntp-server', 'ntp.lws.test'], 'ntp.lws.test'],
])('boots to OPERATIONAL with DHCP and TIME_VALID held and released by our clients; SNTP uses %s', async (_what, extra, ntpServer) => {
  const before = namespaces();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, '--netns', '--json', '--exit-when-operational', '--log-level', 'info', ...extra], { cwd: root, timeout: 60_000 }, (err, so, se) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: so, stderr: se }),
    );
  });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as SimEvent);
  const states = events.filter((e): e is Extract<SimEvent, { type: 'state' }> => e.type === 'state');
  const logs = events.filter((e): e is Extract<SimEvent, { type: 'log' }> => e.type === 'log');
  const idx = (pred: (e: SimEvent) => boolean): number => events.findIndex(pred);

  // DHCP: held by the DHCP client until a lease was bound and applied to the interface
  const dhcpHeld = idx((e) => e.type === 'state' && e.kind === 'held' && e.state === 'DHCP' && e.heldBy === 'dhcp');
  const bound = idx((e) => e.type === 'log' && e.subsystem === 'dhcp' && e.msg === 'bound');
  const dhcpStep = idx((e) => e.type === 'state' && e.kind === 'step' && e.state === 'DHCP');
  expect(dhcpHeld).toBeGreaterThan(-1);
  expect(bound).toBeGreaterThan(dhcpHeld);
  expect(dhcpStep).toBeGreaterThan(bound);
  const lease = logs[logs.findIndex((e) => e.subsystem === 'dhcp' && e.msg === 'bound')]?.fields as { address: string; server: string };
  expect(lease.address).toMatch(/^10\.213\.\d+\.1\d\d\/24$/);
  expect(events.some((e) => e.type === 'board' && e.what === 'configureInterface')).toBe(true);

  // DNS: the server came from the lease
  const dnsFromDhcp = logs.find((e) => e.subsystem === 'dns' && e.msg === 'servers from dhcp');
  expect(dnsFromDhcp?.fields).toEqual({ servers: [lease.server] });

  // TIME_VALID: held by SNTP until chrony (named by the lease, or found through DNS) answered
  const tvHeld = idx((e) => e.type === 'state' && e.kind === 'held' && e.state === 'TIME_VALID' && e.heldBy === 'sntp');
  const synced = idx((e) => e.type === 'log' && e.subsystem === 'sntp' && e.msg === 'time synced');
  const tvStep = idx((e) => e.type === 'state' && e.kind === 'step' && e.state === 'TIME_VALID');
  expect(tvHeld).toBeGreaterThan(dhcpStep);
  expect(synced).toBeGreaterThan(tvHeld);
  expect(tvStep).toBeGreaterThan(synced);
  const sync = (events[synced] as Extract<SimEvent, { type: 'log' }>).fields as { server: string; stratum: number; offsetUs: number };
  expect(sync.server).toBe(ntpServer === 'lease' ? lease.server : ntpServer);
  expect(sync.stratum).toBe(8); // chrony's `local stratum 8`, not the embedded responder's 2
  expect(Math.abs(sync.offsetUs)).toBeLessThan(50_000);

  expect(states.filter((e) => e.kind === 'step').at(-1)?.state).toBe('OPERATIONAL');
  expect(states.at(-1)?.state).toBe('CONTEXT_DESTROYING');
  // an orderly shutdown releases the lease, and the namespaces are gone
  expect(logs.some((e) => e.subsystem === 'dhcp' && e.msg === 'released')).toBe(true);
  expect(namespaces()).toEqual(before);
});
