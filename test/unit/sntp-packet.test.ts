/** The SNTP codec: timestamps, request layout, strict reply checks, the four-timestamp maths, fuzz. */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { SntpError } from '../../src/services/sntp/error.js';
import {
  NTP_PACKET_LEN,
  decodeNtpPacket,
  encodeNtpPacket,
  encodeSntpRequest,
  parseSntpReply,
  refIdText,
  sntpSample,
} from '../../src/services/sntp/packet.js';
import type { NtpPacket } from '../../src/services/sntp/packet.js';
import { NTP_UNIX_OFFSET_S, ntpShortToUs, ntpToUnixUs, unixUsToNtp } from '../../src/services/sntp/timestamp.js';
import type { NtpTimestamp } from '../../src/services/sntp/timestamp.js';

const T2026 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z, unix µs

function reply(over: Partial<NtpPacket> = {}): NtpPacket {
  return {
    leap: 0,
    version: 4,
    mode: 4,
    stratum: 2,
    poll: 6,
    precision: -20,
    rootDelay: 0x0000_1000,
    rootDispersion: 0x0000_2000,
    refId: 0x7f000001,
    reference: unixUsToNtp(T2026 - 60_000_000),
    origin: unixUsToNtp(T2026),
    receive: unixUsToNtp(T2026 + 1000),
    transmit: unixUsToNtp(T2026 + 1500),
    ...over,
  };
}

const kiss = (s: string): number => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;

function errorOf(fn: () => unknown): SntpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SntpError);
    return e as SntpError;
  }
  throw new Error('expected an SntpError');
}

describe('timestamps', () => {
  test('the unix epoch is 2208988800 s after the NTP epoch', () => {
    expect(unixUsToNtp(0)).toEqual({ seconds: NTP_UNIX_OFFSET_S, fraction: 0 });
    expect(ntpToUnixUs({ seconds: NTP_UNIX_OFFSET_S, fraction: 0 })).toBe(0);
    expect(unixUsToNtp(T2026)).toEqual({ seconds: 3_976_214_400, fraction: 0 });
  });

  test('the fraction is 2^-32 s, not nanoseconds (the lws bug)', () => {
    expect(unixUsToNtp(500_000).fraction).toBe(0x8000_0000);
    expect(ntpToUnixUs({ seconds: NTP_UNIX_OFFSET_S, fraction: 0x8000_0000 })).toBe(500_000);
    expect(ntpToUnixUs({ seconds: NTP_UNIX_OFFSET_S, fraction: 0x4000_0000 })).toBe(250_000);
    // the largest fraction is just under one second; read as ns it would be 4.29 s
    const us = ntpToUnixUs({ seconds: NTP_UNIX_OFFSET_S, fraction: 0xffff_ffff });
    expect(us).toBeGreaterThan(999_999);
    expect(us).toBeLessThan(1_000_000);
  });

  test('RFC 4330 eras: seconds with the MSB clear are after 2036-02-07T06:28:16Z', () => {
    const wrapUs = (2 ** 32 - NTP_UNIX_OFFSET_S) * 1e6;
    expect(new Date(wrapUs / 1000).toISOString()).toBe('2036-02-07T06:28:16.000Z');
    expect(unixUsToNtp(wrapUs)).toEqual({ seconds: 0, fraction: 0 });
    expect(ntpToUnixUs({ seconds: 0, fraction: 0 })).toBe(wrapUs);
    expect(ntpToUnixUs({ seconds: 2 ** 31, fraction: 0 })).toBe((2 ** 31 - NTP_UNIX_OFFSET_S) * 1e6); // 1968
  });

  test('the short format is 16.16 s', () => {
    expect(ntpShortToUs(0x0001_0000)).toBe(1_000_000);
    expect(ntpShortToUs(0x0000_8000)).toBe(500_000);
  });

  test('property: unix µs → NTP → unix µs is exact from 1968 to 2104', () => {
    const lo = (2 ** 31 - NTP_UNIX_OFFSET_S) * 1e6;
    const hi = (2 ** 32 + 2 ** 31 - NTP_UNIX_OFFSET_S) * 1e6 - 1;
    fc.assert(
      fc.property(fc.integer({ min: lo, max: hi }), (us) => {
        expect(Math.round(ntpToUnixUs(unixUsToNtp(us)))).toBe(us);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('request', () => {
  test('48 bytes, version 4, mode 3, all zero but our transmit timestamp', () => {
    const ts: NtpTimestamp = { seconds: 0xe1234567, fraction: 0x89abcdef };
    const b = encodeSntpRequest(ts);
    expect(b.length).toBe(NTP_PACKET_LEN);
    expect(b[0]).toBe(0x23);
    expect(Array.from(b.subarray(1, 40)).every((x) => x === 0)).toBe(true);
    expect(Array.from(b.subarray(40))).toEqual([0xe1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  });

  test('the encoder refuses out-of-range fields, naming them', () => {
    expect(errorOf(() => encodeNtpPacket(reply({ stratum: 256 }))).detail).toMatchObject({ field: 'stratum' });
    expect(errorOf(() => encodeNtpPacket(reply({ poll: 128 }))).code).toBe('ERR_SNTP_FIELD');
    expect(errorOf(() => encodeNtpPacket(reply({ transmit: { seconds: 2 ** 32, fraction: 0 } }))).detail).toMatchObject({ field: 'transmit.seconds' });
  });
});

describe('reply checks', () => {
  const sent = [reply().origin];
  const parse = (p: NtpPacket, s: readonly NtpTimestamp[] = sent) => parseSntpReply(encodeNtpPacket(p), s);

  test('a good reply is accepted and says which request it answers', () => {
    const other = unixUsToNtp(T2026 - 1_000_000);
    const r = parseSntpReply(encodeNtpPacket(reply()), [other, reply().origin]);
    expect(r.request).toBe(1);
    expect(r.packet.stratum).toBe(2);
    expect(r.packet.poll).toBe(6);
    expect(r.packet.precision).toBe(-20);
  });

  test('version 3 is accepted; extension words after 48 bytes are ignored', () => {
    expect(parse(reply({ version: 3 })).packet.version).toBe(3);
    const long = new Uint8Array(48 + 24);
    long.set(encodeNtpPacket(reply()));
    expect(parseSntpReply(long, sent).request).toBe(0);
  });

  test.each([
    ['length 47', new Uint8Array(47), 'length'],
    ['length 50', new Uint8Array(50), 'length'],
    ['length 0', new Uint8Array(0), 'length'],
  ])('%s: ERR_SNTP_PARSE', (_n, bytes, field) => {
    const e = errorOf(() => parseSntpReply(bytes, sent));
    expect(e.code).toBe('ERR_SNTP_PARSE');
    expect(e.detail?.['field']).toBe(field);
  });

  test('mode other than 4 (server), version other than 3/4: ERR_SNTP_PARSE', () => {
    expect(errorOf(() => parse(reply({ mode: 3 }))).detail).toMatchObject({ field: 'mode', mode: 3 });
    expect(errorOf(() => parse(reply({ mode: 5 }))).code).toBe('ERR_SNTP_PARSE');
    expect(errorOf(() => parse(reply({ version: 2 }))).detail).toMatchObject({ field: 'version' });
    expect(errorOf(() => parse(reply({ version: 5 }))).code).toBe('ERR_SNTP_PARSE');
  });

  test('an origin that is not our transmit timestamp: ERR_SNTP_BOGUS, before anything else is believed', () => {
    const notOurs = { seconds: sent[0]!.seconds, fraction: sent[0]!.fraction ^ 1 };
    expect(errorOf(() => parse(reply({ origin: notOurs }))).detail).toMatchObject({ field: 'origin' });
    // even a DENY kiss from someone who cannot see our requests is not obeyed
    expect(errorOf(() => parse(reply({ origin: notOurs, stratum: 0, refId: kiss('DENY') }))).code).toBe('ERR_SNTP_BOGUS');
    expect(errorOf(() => parse(reply(), [])).code).toBe('ERR_SNTP_BOGUS');
  });

  test.each(['RATE', 'DENY', 'RSTR'])('stratum 0 %s: ERR_SNTP_KOD with the kiss code', (code) => {
    const e = errorOf(() => parse(reply({ stratum: 0, leap: 3, refId: kiss(code) })));
    expect(e.code).toBe('ERR_SNTP_KOD');
    expect(e.detail?.['code']).toBe(code);
  });

  test('stratum 0 without an actionable kiss code (INIT, binary): ERR_SNTP_UNSYNC', () => {
    expect(errorOf(() => parse(reply({ stratum: 0, refId: kiss('INIT') }))).detail).toMatchObject({ field: 'stratum', kiss: 'INIT' });
    const e = errorOf(() => parse(reply({ stratum: 0, refId: 0x7f000001 })));
    expect(e.code).toBe('ERR_SNTP_UNSYNC');
    expect(e.detail?.['kiss']).toBeUndefined();
  });

  test('leap indicator 3 (alarm) and stratum 16+: ERR_SNTP_UNSYNC', () => {
    expect(errorOf(() => parse(reply({ leap: 3 }))).detail).toMatchObject({ field: 'leap' });
    expect(errorOf(() => parse(reply({ stratum: 16 }))).detail).toMatchObject({ field: 'stratum', stratum: 16 });
    expect(errorOf(() => parse(reply({ stratum: 255 }))).code).toBe('ERR_SNTP_UNSYNC');
    expect(parse(reply({ stratum: 15, leap: 1 })).packet.leap).toBe(1);
  });

  test('zero receive or transmit timestamps: ERR_SNTP_BOGUS', () => {
    expect(errorOf(() => parse(reply({ transmit: { seconds: 0, fraction: 0 } }))).detail).toMatchObject({ field: 'transmit' });
    expect(errorOf(() => parse(reply({ receive: { seconds: 0, fraction: 0 } }))).detail).toMatchObject({ field: 'receive' });
  });

  test('refIdText reads printable kiss codes only', () => {
    expect(refIdText(kiss('RATE'))).toBe('RATE');
    expect(refIdText(0x7f000001)).toBeUndefined();
  });
});

describe('offset and delay', () => {
  test('RFC 5905 maths: asymmetric paths put half the asymmetry into the offset', () => {
    // true offset +1 s; 10 ms out, 5 ms in the server, 20 ms back
    const t1 = T2026;
    const p = reply({ receive: unixUsToNtp(t1 + 10_000 + 1_000_000), transmit: unixUsToNtp(t1 + 15_000 + 1_000_000) });
    const s = sntpSample(p, t1, t1 + 35_000);
    expect(s.offsetUs).toBe(1_000_000 - 5_000);
    expect(s.delayUs).toBe(30_000);
    expect(s.serverUs).toBe(t1 + 1_015_000);
    expect(s.stratum).toBe(2);
  });

  test('property: symmetric paths give the true offset and the round trip to within a µs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e12, max: 1e12 }), // offset up to ±11.5 days
        fc.integer({ min: 0, max: 2_000_000 }), // one-way delay
        fc.integer({ min: 0, max: 100_000 }), // server processing
        fc.integer({ min: 0, max: 10 ** 14 }),
        (theta, oneWay, proc, base) => {
          const t1 = 1_600_000_000_000_000 + base;
          const t2 = t1 + oneWay + theta;
          const t3 = t2 + proc;
          const t4 = t1 + 2 * oneWay + proc;
          const s = sntpSample(reply({ receive: unixUsToNtp(t2), transmit: unixUsToNtp(t3) }), t1, t4);
          expect(Math.abs(s.offsetUs - theta)).toBeLessThan(1);
          expect(Math.abs(s.delayUs - 2 * oneWay)).toBeLessThan(1);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('round trips and fuzz', () => {
  const ts = fc.record({ seconds: fc.integer({ min: 0, max: 0xffffffff }), fraction: fc.integer({ min: 0, max: 0xffffffff }) });
  const packet: fc.Arbitrary<NtpPacket> = fc.record({
    leap: fc.integer({ min: 0, max: 3 }),
    version: fc.integer({ min: 0, max: 7 }),
    mode: fc.integer({ min: 0, max: 7 }),
    stratum: fc.integer({ min: 0, max: 255 }),
    poll: fc.integer({ min: -128, max: 127 }),
    precision: fc.integer({ min: -128, max: 127 }),
    rootDelay: fc.integer({ min: 0, max: 0xffffffff }),
    rootDispersion: fc.integer({ min: 0, max: 0xffffffff }),
    refId: fc.integer({ min: 0, max: 0xffffffff }),
    reference: ts,
    origin: ts,
    receive: ts,
    transmit: ts,
  });

  test('property: decode(encode(p)) is p, and encode(decode(b)) is b', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const b = encodeNtpPacket(p);
        expect(decodeNtpPacket(b)).toEqual(p);
        expect(encodeNtpPacket(decodeNtpPacket(b))).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: arbitrary bytes give a reply or an SntpError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1100 }), fc.array(ts, { maxLength: 3 }), (bytes, sent) => {
        try {
          parseSntpReply(bytes, sent);
        } catch (e) {
          expect(e).toBeInstanceOf(SntpError);
        }
      }),
      { numRuns: 5000 },
    );
  });

  test('property: 48 random bytes echoing our origin give a reply or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (bytes) => {
        const origin = { seconds: ((bytes[24]! << 24) | (bytes[25]! << 16) | (bytes[26]! << 8) | bytes[27]!) >>> 0, fraction: ((bytes[28]! << 24) | (bytes[29]! << 16) | (bytes[30]! << 8) | bytes[31]!) >>> 0 };
        try {
          const r = parseSntpReply(bytes, [origin]);
          expect(r.packet.mode).toBe(4);
          expect(r.packet.stratum).toBeGreaterThan(0);
          expect(r.packet.stratum).toBeLessThan(16);
        } catch (e) {
          expect(e).toBeInstanceOf(SntpError);
        }
      }),
      { numRuns: 5000 },
    );
  });

  test('property: every truncation of a valid reply is ERR_SNTP_PARSE on the length', () => {
    const good = encodeNtpPacket(reply());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 47 }), (n) => {
        const e = errorOf(() => parseSntpReply(good.subarray(0, n), [reply().origin]));
        expect(e.code).toBe('ERR_SNTP_PARSE');
        expect(e.detail).toMatchObject({ field: 'length', length: n });
      }),
    );
  });
});
