/**
 * The DHCP codec: a captured dnsmasq ACK, round trips of typed messages, RFC 3396 long options
 * and RFC 2132 option overload, every structural error with its offset, and fuzzing (arbitrary
 * bytes, truncations and corruptions of valid packets) where the only exception allowed is
 * DhcpParseError.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DhcpParseError } from '../../src/services/dhcp/errors.js';
import { ipv4FromString, ipv4ToString, macFromString, maskFromPrefix, prefixFromMask } from '../../src/services/dhcp/ipv4.js';
import { DHCP_PARAMETER_REQUEST_LIST, DhcpMessageType, DhcpOpt } from '../../src/services/dhcp/options.js';
import type { DhcpOptions } from '../../src/services/dhcp/options.js';
import {
  BOOTP_FLAG_BROADCAST,
  BOOTP_MIN_LENGTH,
  BOOTREPLY,
  BOOTREQUEST,
  DHCP_MAX_LENGTH,
  DHCP_OPTIONS_OFFSET,
  encodeDhcp,
  parseDhcp,
} from '../../src/services/dhcp/packet.js';
import type { DhcpPacketInit } from '../../src/services/dhcp/packet.js';
import { UsageError } from '../../src/util/errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) as string[], (h) => parseInt(h, 16));
const ip = ipv4FromString;

/** A DHCPACK from dnsmasq 2.90 (captured in a network namespace: 2 min lease, T1 5 s, T2 8 s). */
const DNSMASQ_ACK = hex(
  '020106001122334400008000000000000ad5077f0ad5070100000000020000aabbcc' +
    '00'.repeat(10 + 64 + 128) +
    '63825363' +
    '350105' + '36040ad50701' + '330400000078' + '3a0400000005' + '3b0400000008' + '0104ffffff00' +
    '1c040ad507ff' + '0f086c77732e74657374' + '2a040ad50701' + '06040ad50701' + '03040ad50701' + 'ff',
);

function parseError(fn: () => unknown): DhcpParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DhcpParseError);
    expect((e as DhcpParseError).code).toBe('ERR_DHCP_PARSE');
    return e as DhcpParseError;
  }
  throw new Error('expected a DhcpParseError');
}

const MAC = macFromString('02:00:00:aa:bb:cc');

function ack(extra: Partial<DhcpOptions> = {}): DhcpPacketInit {
  return {
    op: BOOTREPLY,
    xid: 0xcafef00d,
    flags: BOOTP_FLAG_BROADCAST,
    yiaddr: ip('10.9.0.42'),
    siaddr: ip('10.9.0.1'),
    chaddr: MAC,
    options: {
      messageType: DhcpMessageType.ACK,
      serverId: ip('10.9.0.1'),
      leaseSecs: 3600,
      subnetMask: ip('255.255.255.0'),
      routers: [ip('10.9.0.1')],
      dns: [ip('10.9.0.1'), ip('10.9.0.2')],
      ntp: [ip('10.9.0.3')],
      domainName: 'lws.test',
      ...extra,
    },
  };
}

describe('a real server’s reply', () => {
  test('parses the dnsmasq ACK field by field', () => {
    const p = parseDhcp(DNSMASQ_ACK);
    expect(p.op).toBe(BOOTREPLY);
    expect(p.htype).toBe(1);
    expect(p.hlen).toBe(6);
    expect(p.xid).toBe(0x11223344);
    expect(p.flags).toBe(BOOTP_FLAG_BROADCAST);
    expect(ipv4ToString(p.yiaddr)).toBe('10.213.7.127');
    expect(ipv4ToString(p.siaddr)).toBe('10.213.7.1');
    expect(Array.from(p.chaddr)).toEqual(Array.from(MAC));
    const o = p.options;
    expect(o.messageType).toBe(DhcpMessageType.ACK);
    expect(ipv4ToString(o.serverId as number)).toBe('10.213.7.1');
    expect(o.leaseSecs).toBe(120);
    expect(o.t1Secs).toBe(5);
    expect(o.t2Secs).toBe(8);
    expect(prefixFromMask(o.subnetMask as number)).toBe(24);
    expect(ipv4ToString(o.broadcastAddress as number)).toBe('10.213.7.255');
    expect(o.domainName).toBe('lws.test');
    expect((o.ntp as number[]).map(ipv4ToString)).toEqual(['10.213.7.1']);
    expect((o.dns as number[]).map(ipv4ToString)).toEqual(['10.213.7.1']);
    expect((o.routers as number[]).map(ipv4ToString)).toEqual(['10.213.7.1']);
  });
});

describe('encoding', () => {
  test('a client DISCOVER: broadcast flag, client id, parameter request list, END, padded to 300', () => {
    const b = encodeDhcp({
      op: BOOTREQUEST,
      xid: 0x01020304,
      flags: BOOTP_FLAG_BROADCAST,
      chaddr: MAC,
      options: { messageType: DhcpMessageType.DISCOVER, clientId: Uint8Array.of(1, ...MAC), parameterRequestList: [...DHCP_PARAMETER_REQUEST_LIST] },
    });
    expect(b.length).toBe(BOOTP_MIN_LENGTH);
    expect(Array.from(b.subarray(0, 12))).toEqual([1, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0x80, 0]);
    const opts = Array.from(b.subarray(DHCP_OPTIONS_OFFSET, DHCP_OPTIONS_OFFSET + 24));
    expect(opts).toEqual([53, 1, 1, 61, 7, 1, ...MAC, 55, 9, 1, 3, 6, 15, 42, 51, 54, 58, 59, 255]);
    expect(parseDhcp(b).options.parameterRequestList).toEqual([1, 3, 6, 15, 42, 51, 54, 58, 59]);
  });

  test('an option longer than 255 bytes is split and comes back whole (RFC 3396)', () => {
    const big = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    const b = encodeDhcp(ack({ other: new Map([[43, big]]) }));
    const p = parseDhcp(b);
    expect(Array.from(p.options.other?.get(43) as Uint8Array)).toEqual(Array.from(big));
  });

  test('refuses what cannot be sent', () => {
    const bad = (init: DhcpPacketInit): string | undefined => {
      try {
        encodeDhcp(init);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as UsageError).code;
      }
      return undefined;
    };
    expect(bad({ ...ack(), chaddr: new Uint8Array(17) })).toBe('ERR_DHCP_ENCODE');
    expect(bad({ ...ack(), xid: 2 ** 32 })).toBe('ERR_DHCP_ENCODE');
    expect(bad({ ...ack(), secs: -1 })).toBe('ERR_DHCP_ENCODE');
    expect(bad(ack({ other: new Map([[DhcpOpt.OVERLOAD, Uint8Array.of(1)]]) }))).toBe('ERR_DHCP_ENCODE');
    expect(bad(ack({ other: new Map([[DhcpOpt.END, Uint8Array.of(1)]]) }))).toBe('ERR_DHCP_ENCODE');
    expect(bad(ack({ domainName: 'caf\u00e9\u2603' }))).toBe('ERR_DHCP_ENCODE');
  });
});

/** Options in the sname and file fields, pointed to by option 52. */
function overloaded(value: number, main: number[], file: number[], sname: number[]): Uint8Array {
  const b = encodeDhcp({ op: BOOTREPLY, xid: 7, chaddr: MAC, yiaddr: ip('10.9.0.42'), options: { messageType: DhcpMessageType.OFFER } });
  // replace the options field: 53, 52, then what the test puts there
  const opts = [53, 1, 2, 52, 1, value, ...main];
  b.fill(0, DHCP_OPTIONS_OFFSET);
  b.set(opts, DHCP_OPTIONS_OFFSET);
  b.set(file, 108);
  b.set(sname, 44);
  return b;
}

describe('option overload (52)', () => {
  test('file then sname carry options; split parts are joined in RFC 3396 order', () => {
    const b = overloaded(3, [6, 4, 10, 9, 0, 1, 255], [6, 4, 10, 9, 0, 2, 54, 4, 10, 9, 0, 1, 255], [6, 4, 10, 9, 0, 3, 51, 4, 0, 0, 1, 0]);
    const o = parseDhcp(b).options;
    expect((o.dns as number[]).map(ipv4ToString)).toEqual(['10.9.0.1', '10.9.0.2', '10.9.0.3']);
    expect(ipv4ToString(o.serverId as number)).toBe('10.9.0.1');
    expect(o.leaseSecs).toBe(256);
  });

  test('only the fields it names are read', () => {
    const b = overloaded(1, [255], [54, 4, 10, 9, 0, 1, 255], [51, 4, 0, 0, 1, 0]);
    const o = parseDhcp(b).options;
    expect(o.serverId).toBe(ip('10.9.0.1'));
    expect(o.leaseSecs).toBeUndefined();
  });

  test('bad overloads are parse errors at their offset', () => {
    expect(parseError(() => parseDhcp(overloaded(4, [255], [], []))).detail?.['offset']).toBe(DHCP_OPTIONS_OFFSET + 3);
    expect(parseError(() => parseDhcp(overloaded(1, [255], [52, 1, 2, 255], []))).detail?.['offset']).toBe(108);
    // an option may not run past the end of the file field into the cookie
    const e = parseError(() => parseDhcp(overloaded(1, [255], [...new Array(126).fill(0), 6, 8], [])));
    expect(e.detail?.['offset']).toBe(108 + 126);
  });
});

describe('strict parsing: each fault is a DhcpParseError naming its offset', () => {
  const good = encodeDhcp(ack());
  const mutate = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    f(b);
    return b;
  };
  /** offset of the first option with `code` in an encoded packet */
  const at = (b: Uint8Array, code: number): number => {
    let i = DHCP_OPTIONS_OFFSET;
    while (b[i] !== code) i += b[i] === 0 ? 1 : 2 + (b[i + 1] as number);
    return i;
  };

  test.each([
    ['truncated before the cookie', () => good.slice(0, 239), 239],
    ['not BOOTP (op 3)', () => mutate((b) => (b[0] = 3)), 0],
    ['hlen past chaddr', () => mutate((b) => (b[2] = 17)), 2],
    ['no magic cookie', () => mutate((b) => (b[236] = 0)), 236],
    ['no END', () => good.slice(0, at(good, 255)), at(good, 255)],
    ['an option overrunning the packet', () => mutate((b) => (b[at(b, DhcpOpt.NTP_SERVER) + 1] = 200)), at(good, DhcpOpt.NTP_SERVER)],
    ['a subnet mask of 3 bytes', () => mutate((b) => (b[at(b, DhcpOpt.SUBNET_MASK) + 1] = 3)), at(good, DhcpOpt.SUBNET_MASK)],
    ['a router list of 5 bytes', () => mutate((b) => { const i = at(b, DhcpOpt.ROUTER); b[i + 1] = 5; b.copyWithin(i + 7, i + 6); }), at(good, DhcpOpt.ROUTER)],
    ['a message type of 9', () => mutate((b) => (b[at(b, 53) + 2] = 9)), at(good, 53)],
    ['a second message type (joined: 2 bytes)', () => mutate((b) => b.set([53, 1, 2, 255], at(b, 255))), at(good, 53)],
    ['no message type (plain BOOTP)', () => mutate((b) => (b[at(b, 53)] = 250)), DHCP_OPTIONS_OFFSET],
    ['longer than we accept', () => { const b = new Uint8Array(DHCP_MAX_LENGTH + 1); b.set(good); return b; }, DHCP_MAX_LENGTH],
  ])('%s', (_name, make, offset) => {
    expect(parseError(() => parseDhcp(make())).detail?.['offset']).toBe(offset);
  });

  test('pad bytes are skipped and bytes after END ignored', () => {
    const padded = new Uint8Array(good.length + 3);
    padded.set(good.subarray(0, DHCP_OPTIONS_OFFSET));
    padded.set(good.subarray(DHCP_OPTIONS_OFFSET), DHCP_OPTIONS_OFFSET + 3);
    expect(parseDhcp(padded).options.leaseSecs).toBe(3600);
    const trailing = mutate((b) => b.fill(0xee, at(b, 255) + 1));
    expect(parseDhcp(trailing).options.leaseSecs).toBe(3600);
  });
});

describe('ipv4 helpers', () => {
  test('masks and prefixes', () => {
    for (let p = 0; p <= 32; p++) expect(prefixFromMask(maskFromPrefix(p))).toBe(p);
    expect(prefixFromMask(ip('255.0.255.0'))).toBe(-1);
    expect(prefixFromMask(ip('127.255.255.255'))).toBe(-1);
  });
  test('dotted quads are strict', () => {
    expect(ipv4ToString(ip('10.213.0.1'))).toBe('10.213.0.1');
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4 ', 'a.b.c.d']) expect(() => ip(bad)).toThrow(UsageError);
    expect(() => macFromString('02:00:00:aa:bb')).toThrow(UsageError);
  });
});

const addr = fc.integer({ min: 0, max: 0xffffffff });
const addrs = fc.array(addr, { minLength: 1, maxLength: 70 }); // past 255 bytes: split options
const text = fc.string({ minLength: 1, maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'));
const optionsArb: fc.Arbitrary<DhcpOptions> = fc.record(
  {
    messageType: fc.integer({ min: 1, max: 8 }) as fc.Arbitrary<DhcpOptions['messageType']>,
    subnetMask: addr,
    routers: addrs,
    dns: addrs,
    hostname: text,
    domainName: text,
    broadcastAddress: addr,
    ntp: addrs,
    requestedIp: addr,
    leaseSecs: addr,
    serverId: addr,
    parameterRequestList: fc.array(fc.integer({ min: 1, max: 254 }), { minLength: 1, maxLength: 40 }),
    message: text,
    maxMessageSize: fc.integer({ min: 576, max: 0xffff }),
    t1Secs: addr,
    t2Secs: addr,
    clientId: fc.uint8Array({ minLength: 2, maxLength: 40 }),
    other: fc
      .uniqueArray(fc.tuple(fc.integer({ min: 60, max: 254 }).filter((c) => c !== 61), fc.uint8Array({ maxLength: 300 })), { selector: (t) => t[0], maxLength: 4 })
      .map((l) => new Map(l)),
  },
  { requiredKeys: ['messageType'] },
);
const packetArb: fc.Arbitrary<DhcpPacketInit> = fc.record({
  op: fc.constantFrom(BOOTREQUEST, BOOTREPLY),
  xid: addr,
  chaddr: fc.uint8Array({ maxLength: 16 }),
  options: optionsArb,
  htype: fc.integer({ min: 0, max: 255 }),
  hops: fc.integer({ min: 0, max: 255 }),
  secs: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  ciaddr: addr,
  yiaddr: addr,
  siaddr: addr,
  giaddr: addr,
});

/** Only DhcpParseError may escape parseDhcp. */
function parsesOrTypedError(b: Uint8Array): void {
  try {
    parseDhcp(b);
  } catch (e) {
    if (!(e instanceof DhcpParseError)) throw e;
    const off = e.detail?.['offset'];
    if (typeof off !== 'number' || off < 0 || off > Math.max(b.length, DHCP_MAX_LENGTH)) throw new Error(`bad offset ${String(off)}`);
  }
}

describe('properties', () => {
  test('encode then parse gives back every field', () => {
    fc.assert(
      fc.property(packetArb, (init) => {
        const p = parseDhcp(encodeDhcp(init));
        expect(p.op).toBe(init.op);
        expect(p.xid).toBe(init.xid);
        expect([p.htype, p.hops, p.secs, p.flags]).toEqual([init.htype, init.hops, init.secs, init.flags]);
        expect([p.ciaddr, p.yiaddr, p.siaddr, p.giaddr]).toEqual([init.ciaddr, init.yiaddr, init.siaddr, init.giaddr]);
        expect(Array.from(p.chaddr)).toEqual(Array.from(init.chaddr));
        const want: DhcpOptions = { ...init.options };
        // an empty raw option round-trips as an empty value; empty maps are not sent at all
        if (want.other && want.other.size === 0) delete want.other;
        const got = { ...p.options } as DhcpOptions;
        if (got.clientId) got.clientId = Uint8Array.from(got.clientId);
        expect(got).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary bytes: a packet or a DhcpParseError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (b) => parsesOrTypedError(b)), { numRuns: 2000 });
  });

  test('arbitrary bytes behind a valid header and cookie exercise the option walker', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(0, 1, 2, 3), (tail, ov) => {
        const head = encodeDhcp(ack()).slice(0, DHCP_OPTIONS_OFFSET);
        const b = new Uint8Array(DHCP_OPTIONS_OFFSET + 6 + tail.length);
        b.set(head);
        b.set([53, 1, 5, 52, 1, ov || 3], DHCP_OPTIONS_OFFSET);
        b.set(tail, DHCP_OPTIONS_OFFSET + 6);
        b.set(tail.subarray(0, 192), 44); // garbage in sname and file too
        parsesOrTypedError(b);
      }),
      { numRuns: 2000 },
    );
  });

  test('every truncation of a valid packet is a packet or a DhcpParseError', () => {
    fc.assert(
      fc.property(packetArb, (init) => {
        const b = encodeDhcp(init);
        for (let n = 0; n < b.length; n += 1 + (n >> 6)) parsesOrTypedError(b.subarray(0, n));
      }),
      { numRuns: 100 },
    );
    for (let n = 0; n <= DNSMASQ_ACK.length; n++) parsesOrTypedError(DNSMASQ_ACK.subarray(0, n));
  });

  test('corrupting bytes of a valid packet gives a packet or a DhcpParseError', () => {
    fc.assert(
      fc.property(packetArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (init, hits) => {
        const b = encodeDhcp(init);
        for (const [i, v] of hits) b[DHCP_OPTIONS_OFFSET - 4 + (i % (b.length - DHCP_OPTIONS_OFFSET + 4))] = v;
        parsesOrTypedError(b);
      }),
      { numRuns: 1000 },
    );
  });
});
