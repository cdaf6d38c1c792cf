/**
 * XS bench: build a DHCPACK (the options dnsmasq sends: server id, lease, T1, T2, mask,
 * broadcast, domain, NTP, DNS, router) and parse it back into a checked lease, N times:
 * LWSX_XS_ITERATIONS when run-in-xs.mjs sets it, else DHCP_BENCH_ITERATIONS. bench/xs.bench.ts
 * runs it with two counts and divides the difference, so loading and reporting cancel out.
 */
/// <reference path="./globals.d.ts" />
import { ipv4FromString as ip } from '../../src/services/dhcp/ipv4.js';
import { leaseFromReply } from '../../src/services/dhcp/lease.js';
import { DhcpMessageType } from '../../src/services/dhcp/options.js';
import { BOOTP_FLAG_BROADCAST, BOOTREPLY, encodeDhcp, parseDhcp } from '../../src/services/dhcp/packet.js';
import { reportToHost } from '../../test/xs/report.js';

export const DHCP_BENCH_ITERATIONS = 1000;
const N = globalThis.LWSX_XS_ITERATIONS ?? DHCP_BENCH_ITERATIONS;

reportToHost(() => {
  const chaddr = Uint8Array.of(2, 0, 0, 0xaa, 0xbb, 0xcc);
  let bytes = 0;
  let last = '';
  for (let i = 0; i < N; i++) {
    const b = encodeDhcp({
      op: BOOTREPLY,
      xid: (0x11223344 + i) >>> 0,
      flags: BOOTP_FLAG_BROADCAST,
      yiaddr: ip('10.213.7.100') + (i % 50),
      siaddr: ip('10.213.7.1'),
      chaddr,
      options: {
        messageType: DhcpMessageType.ACK,
        serverId: ip('10.213.7.1'),
        leaseSecs: 120,
        t1Secs: 5,
        t2Secs: 8,
        subnetMask: ip('255.255.255.0'),
        broadcastAddress: ip('10.213.7.255'),
        domainName: 'lws.test',
        ntp: [ip('10.213.7.1')],
        dns: [ip('10.213.7.1')],
        routers: [ip('10.213.7.1')],
      },
    });
    bytes += b.length;
    const lease = leaseFromReply(parseDhcp(b), 0);
    last = lease.address;
  }
  return { iterations: N, bytes, last };
});
