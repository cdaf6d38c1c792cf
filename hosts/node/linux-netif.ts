/**
 * Interface configuration on Linux with iproute2, for boards whose device really owns an
 * interface (the simulator inside a network namespace): what a device's netif layer does with a
 * DHCP lease. Needs root (or CAP_NET_ADMIN).
 */
import { spawnSync } from 'node:child_process';
import type { InterfaceConfig } from '../../src/system/ops.js';
import { LwsxError } from '../../src/util/errors.js';

export class NetifConfigError extends LwsxError {}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new NetifConfigError('ERR_NETIF_CONFIG', `ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`, { args });
  }
}

/** Puts the leased address on the interface and, when there is a router, the default route. */
export function linuxConfigureInterface(cfg: InterfaceConfig): void {
  ip(['addr', 'replace', `${cfg.address.address}/${cfg.address.prefixLength}`, 'dev', cfg.name]);
  if (cfg.router) ip(['route', 'replace', 'default', 'via', cfg.router, 'dev', cfg.name]);
}

/**
 * Takes the addresses off. Removing an interface's last IPv4 address makes Linux drop every
 * route through it, the 255.255.255.255/32 one a DHCP DISCOVER needs included (PEERS.md), so
 * that goes back at once. One turn later: a RELEASE written just before must leave first.
 */
export function linuxDeconfigureInterface(name: string): void {
  setImmediate(() => {
    spawnSync('ip', ['addr', 'flush', 'dev', name]);
    ip(['route', 'replace', '255.255.255.255/32', 'dev', name]);
  });
}
