/**
 * The device's own network clients, wired as libwebsockets wires them: the DHCP client holds
 * the DHCP state and hands what the lease says to the resolver (DNS servers) and to SNTP (NTP
 * servers, option 42); SNTP resolves its server names through the resolver and holds
 * TIME_VALID until the clock is set. Created right after the Context — boot starts a tick later,
 * so every notifier is in place before the walk.
 */
import type { Context } from '../loop/context.js';
import { SysState } from '../system/states.js';
import { DhcpClient } from './dhcp/client.js';
import type { DhcpClientOptions } from './dhcp/client.js';
import { DhcpNotifier } from './dhcp/notifier.js';
import { DnsResolver } from './dns/resolver.js';
import type { DnsResolverOptions } from './dns/resolver.js';
import { SntpClient } from './sntp/client.js';
import type { SntpClientOptions } from './sntp/client.js';
import { TimeValidNotifier } from './sntp/notifier.js';
import type { TimeValidOptions } from './sntp/notifier.js';

export interface SystemServicesOptions {
  dns?: DnsResolverOptions;
  /** false: no SNTP client; TIME_VALID then only checks the board's clock */
  sntp?: (SntpClientOptions & { timeValid?: Omit<TimeValidOptions, 'client'> }) | false;
  /** the interface DHCP runs on; only boards with `interfaces: "dhcp"` use it */
  dhcp?: Pick<DhcpClientOptions, 'ifname' | 'mac'> & Partial<DhcpClientOptions>;
}

export class SystemServices {
  readonly dns: DnsResolver;
  readonly sntp: SntpClient | undefined;
  readonly timeValid: TimeValidNotifier;
  readonly dhcp: DhcpClient | undefined;

  constructor(ctx: Context, opts: SystemServicesOptions = {}) {
    const dns = new DnsResolver(ctx, opts.dns);
    this.dns = dns;

    let sntp: SntpClient | undefined;
    if (opts.sntp !== false) {
      const { timeValid, ...sntpOpts } = opts.sntp ?? {};
      sntp = new SntpClient(ctx, { wallTimers: ctx.wallTimers, resolve: (name) => dns.lookupAddress(name, { family: 4 }), ...sntpOpts });
      this.timeValid = new TimeValidNotifier(ctx, { ...timeValid, client: sntp });
    } else {
      this.timeValid = new TimeValidNotifier(ctx, {});
    }
    this.sntp = sntp;
    ctx.system.register(this.timeValid);

    if (opts.dhcp && ctx.system.board.description.interfaces === 'dhcp') {
      const d = opts.dhcp;
      const dhcp = new DhcpClient(ctx, {
        ...d,
        onLease: (lease, renewed) => {
          dns.setServers(lease.dns, 'dhcp');
          sntp?.setDhcpServers(lease.ntp);
          d.onLease?.(lease, renewed);
        },
        onLeaseLost: (reason, lease) => {
          ctx.netif.unbound(d.ifname);
          d.onLeaseLost?.(reason, lease);
        },
      });
      this.dhcp = dhcp;
      ctx.system.register(new DhcpNotifier(dhcp));
    }

    // the resolver owns sockets: close them with the device
    ctx.system.register({
      name: 'services',
      notify: (_m, current, target) => {
        if (current === target && target === SysState.CONTEXT_DESTROYING) dns.destroy();
        return 'ok';
      },
    });
  }
}
