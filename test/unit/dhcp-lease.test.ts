/**
 * Which offers the client takes: leaseFromReply's consistency rules, and the T1/T2 defaults
 * (RFC 2131 §4.4.5: 0.5 and 0.875 of the lease) when a server's timers make no sense.
 */
import { describe, expect, test } from '@jest/globals';
import { DhcpLeaseError } from '../../src/services/dhcp/errors.js';
import { ipv4FromString as ip } from '../../src/services/dhcp/ipv4.js';
import { DHCP_INFINITE_LEASE, leaseFromReply } from '../../src/services/dhcp/lease.js';
import { DhcpMessageType } from '../../src/services/dhcp/options.js';
import type { DhcpOptions } from '../../src/services/dhcp/options.js';
import { BOOTREPLY } from '../../src/services/dhcp/packet.js';
import type { DhcpPacket } from '../../src/services/dhcp/packet.js';

function offer(yiaddr: string, o: Partial<DhcpOptions> = {}, drop: Array<keyof DhcpOptions> = []): DhcpPacket {
  const options: DhcpOptions = {
    messageType: DhcpMessageType.OFFER,
    serverId: ip('10.9.0.1'),
    leaseSecs: 3600,
    subnetMask: ip('255.255.255.0'),
    routers: [ip('10.9.0.1')],
    dns: [ip('10.9.0.1')],
    ntp: [ip('10.9.0.1')],
    ...o,
  };
  for (const k of drop) delete options[k];
  return { op: BOOTREPLY, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: 0, yiaddr: ip(yiaddr), siaddr: 0, giaddr: 0, chaddr: new Uint8Array(6), options };
}

function rejected(p: DhcpPacket): string {
  try {
    leaseFromReply(p, 0);
  } catch (e) {
    expect(e).toBeInstanceOf(DhcpLeaseError);
    expect((e as DhcpLeaseError).code).toBe('ERR_DHCP_LEASE');
    return (e as DhcpLeaseError).detail?.['field'] as string;
  }
  throw new Error('expected the lease to be rejected');
}

describe('a consistent offer becomes a lease', () => {
  test('every field, T1/T2 defaulted, counted from the request time', () => {
    const l = leaseFromReply(offer('10.9.0.42', { domainName: 'lws.test', dns: [ip('10.9.0.1'), ip('10.9.0.2')] }), 123);
    expect(l).toEqual({
      address: '10.9.0.42',
      prefixLength: 24,
      subnetMask: '255.255.255.0',
      routers: ['10.9.0.1'],
      dns: ['10.9.0.1', '10.9.0.2'],
      ntp: ['10.9.0.1'],
      domain: 'lws.test',
      serverId: '10.9.0.1',
      leaseSecs: 3600,
      t1Secs: 1800,
      t2Secs: 3150,
      startUs: 123,
    });
  });

  test('no mask: the classful default; no router: none', () => {
    expect(leaseFromReply(offer('10.9.0.42', {}, ['subnetMask', 'routers']), 0).prefixLength).toBe(8);
    expect(leaseFromReply(offer('172.16.3.4', {}, ['subnetMask', 'routers']), 0).prefixLength).toBe(16);
    expect(leaseFromReply(offer('192.168.1.9', {}, ['subnetMask', 'routers']), 0).prefixLength).toBe(24);
    expect(leaseFromReply(offer('10.9.0.42', {}, ['routers']), 0).routers).toEqual([]);
  });

  test('the server’s T1/T2 when 0 < T1 < T2 < lease, else the RFC fractions', () => {
    const t = (t1?: number, t2?: number, lease = 120): [number, number] => {
      const o: Partial<DhcpOptions> = { leaseSecs: lease };
      if (t1 !== undefined) o.t1Secs = t1;
      if (t2 !== undefined) o.t2Secs = t2;
      const l = leaseFromReply(offer('10.9.0.42', o), 0);
      return [l.t1Secs, l.t2Secs];
    };
    expect(t(5, 8)).toEqual([5, 8]);
    expect(t(5)).toEqual([5, 105]);
    expect(t(undefined, 100)).toEqual([60, 100]);
    expect(t(undefined, 40)).toEqual([20, 40]); // T2 before half the lease: T1 halves T2
    expect(t(90, 80)).toEqual([60, 80]);
    expect(t(0, 0)).toEqual([60, 105]);
    expect(t(5, 120)).toEqual([5, 105]);
    expect(t(undefined, undefined, 1)).toEqual([0.5, 0.875]);
    const inf = leaseFromReply(offer('10.9.0.42', { leaseSecs: DHCP_INFINITE_LEASE, t1Secs: 5 }), 0);
    expect([inf.t1Secs, inf.t2Secs]).toEqual([DHCP_INFINITE_LEASE, DHCP_INFINITE_LEASE]);
  });

  test('DNS and NTP entries that are not unicast are dropped, with a warning', () => {
    const warned: string[] = [];
    const l = leaseFromReply(offer('10.9.0.42', { dns: [ip('0.0.0.0'), ip('10.9.0.1'), ip('255.255.255.255')], ntp: [ip('224.0.1.1')] }), 0, (f, _w, v) => warned.push(`${f}=${v}`));
    expect(l.dns).toEqual(['10.9.0.1']);
    expect(l.ntp).toEqual([]);
    expect(warned).toEqual(['dns[0]=0.0.0.0', 'dns[2]=255.255.255.255', 'ntp[0]=224.0.1.1']);
  });
});

describe('an inconsistent offer is rejected, naming the field', () => {
  test.each([
    ['yiaddr 0.0.0.0', offer('0.0.0.0'), 'yiaddr'],
    ['yiaddr loopback', offer('127.0.0.5', { routers: [] }), 'yiaddr'],
    ['yiaddr multicast', offer('224.1.2.3', { routers: [] }), 'yiaddr'],
    ['yiaddr the limited broadcast', offer('255.255.255.255', { routers: [] }), 'yiaddr'],
    ['yiaddr the subnet broadcast', offer('10.9.0.255'), 'yiaddr'],
    ['yiaddr the network address', offer('10.9.0.0'), 'yiaddr'],
    ['no server identifier', offer('10.9.0.42', {}, ['serverId']), 'serverId'],
    ['a broadcast server identifier', offer('10.9.0.42', { serverId: ip('255.255.255.255') }), 'serverId'],
    ['no lease time', offer('10.9.0.42', {}, ['leaseSecs']), 'leaseSecs'],
    ['a lease of 0 s', offer('10.9.0.42', { leaseSecs: 0 }), 'leaseSecs'],
    ['a mask with holes', offer('10.9.0.42', { subnetMask: ip('255.0.255.0') }), 'subnetMask'],
    ['a mask of /0', offer('10.9.0.42', { subnetMask: 0 }), 'subnetMask'],
    ['a router outside the subnet', offer('10.9.0.42', { routers: [ip('10.9.0.1'), ip('10.9.1.1')] }), 'routers[1]'],
    ['our own address as the router', offer('10.9.0.42', { routers: [ip('10.9.0.42')] }), 'routers[0]'],
    ['a router on a /32', offer('10.9.0.42', { subnetMask: 0xffffffff }), 'routers[0]'],
  ])('%s', (_name, p, field) => {
    expect(rejected(p)).toBe(field);
  });

  test('a /31 or /32 without a router is fine (point-to-point)', () => {
    expect(leaseFromReply(offer('10.9.0.42', { subnetMask: 0xffffffff }, ['routers']), 0).prefixLength).toBe(32);
    expect(leaseFromReply(offer('10.9.0.42', { subnetMask: 0xfffffffe, routers: [ip('10.9.0.43')] }), 0).routers).toEqual(['10.9.0.43']);
  });
});
