/**
 * The DNS codec: vectors, dns-packet as the oracle both ways on random valid messages,
 * compression and its pointer checks, name limits, and fuzzing (arbitrary bytes, every
 * truncation and random corruption of valid messages) where only DnsParseError may escape.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { formatIPv6, parseIPv6 } from '../../src/services/dns/address.js';
import { DnsClass, DnsEncodeError, DnsFlag, DnsType, decodeMessage, encodeMessage, encodeQuery, peekId } from '../../src/services/dns/codec.js';
import type { DnsMessage, DnsRecord, DnsSoa } from '../../src/services/dns/codec.js';
import { DnsNameError, DnsParseError } from '../../src/services/dns/errors.js';

/** What we use of dns-packet (it ships no types). */
interface PacketRecord {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
}
interface Packet {
  id?: number;
  type?: 'query' | 'response';
  flags?: number;
  questions?: { name: string; type: string; class?: string }[];
  answers?: PacketRecord[];
  authorities?: PacketRecord[];
  additionals?: PacketRecord[];
}
const dnsPacket = createRequire(import.meta.url)('dns-packet') as { encode(p: Packet): Buffer; decode(b: Buffer): Required<Packet> };
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

const TYPE_NAME: Record<number, string> = { 1: 'A', 5: 'CNAME', 6: 'SOA', 28: 'AAAA' };
const typeName = (t: number): string => TYPE_NAME[t] ?? `UNKNOWN_${t}`;
const typeNumber = (s: string): number => Number(Object.entries(TYPE_NAME).find(([, n]) => n === s)?.[0] ?? s.replace('UNKNOWN_', ''));

// ---------------------------------------------------------------------------------------------
// generators: valid messages, names from the letters both codecs print the same way

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const soa: fc.Arbitrary<DnsSoa> = fc.record({ mname: name, rname: name, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 });
// a private-use type (65280..65534) travels as raw bytes in both codecs
const opaqueType = fc.integer({ min: 65280, max: 65534 });

const record: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ name, type: fc.constant(DnsType.A as number), class: fc.constant(1), ttl: u32, data: fc.ipV4() }),
  fc.record({ name, type: fc.constant(DnsType.AAAA as number), class: fc.constant(1), ttl: u32, data: fc.ipV6().map((a) => formatIPv6(parseIPv6(a) as Uint8Array)) }),
  fc.record({ name, type: fc.constant(DnsType.CNAME as number), class: fc.constant(1), ttl: u32, data: name }),
  fc.record({ name, type: fc.constant(DnsType.SOA as number), class: fc.constant(1), ttl: u32, data: soa }),
  fc.record({ name, type: opaqueType, class: fc.constant(1), ttl: u32, data: fc.uint8Array({ maxLength: 40 }) }),
);

const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  questions: fc.array(fc.record({ name, type: fc.constantFrom(1, 5, 6, 28), class: fc.constant(1) }), { maxLength: 2 }),
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 3 }),
  additionals: fc.array(record, { maxLength: 3 }),
});

function toPacket(m: DnsMessage): Packet {
  const rec = (r: DnsRecord): PacketRecord => ({
    name: r.name,
    type: typeName(r.type),
    class: 'IN',
    ttl: r.ttl,
    data: r.data instanceof Uint8Array ? Buffer.from(r.data) : r.data,
  });
  return {
    id: m.id,
    type: m.flags & DnsFlag.QR ? 'response' : 'query',
    flags: m.flags & 0x7fff,
    questions: m.questions.map((q) => ({ name: q.name, type: typeName(q.type), class: 'IN' })),
    answers: m.answers.map(rec),
    authorities: m.authorities.map(rec),
    additionals: m.additionals.map(rec),
  };
}

function fromPacket(p: Required<Packet>): DnsMessage {
  const rec = (r: PacketRecord): DnsRecord => {
    const type = typeNumber(r.type);
    let data = r.data as DnsRecord['data'];
    if (type === DnsType.AAAA) data = formatIPv6(parseIPv6(data as string) as Uint8Array);
    else if (Buffer.isBuffer(data)) data = new Uint8Array(data);
    return { name: r.name, type, class: r.class === 'IN' ? 1 : -1, ttl: r.ttl as number, data };
  };
  return {
    id: p.id,
    flags: p.flags | (p.type === 'response' ? DnsFlag.QR : 0),
    questions: p.questions.map((q) => ({ name: q.name, type: typeNumber(q.type), class: q.class === 'IN' ? 1 : -1 })),
    answers: p.answers.map(rec),
    authorities: p.authorities.map(rec),
    additionals: p.additionals.map(rec),
  };
}

/** Only DnsParseError may come out of the decoder. */
function decodeOrParseError(b: Uint8Array): DnsMessage | DnsParseError {
  try {
    return decodeMessage(b);
  } catch (e) {
    if (!(e instanceof DnsParseError)) throw e;
    expect(e.code).toBe('ERR_DNS_PARSE');
    expect(typeof e.detail?.['offset']).toBe('number');
    expect(typeof e.detail?.['field']).toBe('string');
    return e;
  }
}

// ---------------------------------------------------------------------------------------------

describe('vectors', () => {
  test('a query is the RFC 1035 layout: header, labels, type, class', () => {
    const q = encodeQuery(0xbeef, 'www.Example.com', DnsType.AAAA);
    expect(Buffer.from(q).toString('hex')).toBe(
      'beef' + '0100' + '0001' + '0000' + '0000' + '0000' + '03777777' + '074578616d706c65' + '03636f6d' + '00' + '001c' + '0001',
    );
    expect(peekId(q)).toBe(0xbeef);
    expect(peekId(q.subarray(0, 11))).toBeUndefined();
  });

  test('a response with a CNAME chain, an SOA, compressed, decodes to what was encoded', () => {
    const m: DnsMessage = {
      id: 7,
      flags: DnsFlag.QR | DnsFlag.RD | DnsFlag.RA | 3,
      questions: [{ name: 'c.lws.test', type: DnsType.A, class: DnsClass.IN }],
      answers: [
        { name: 'c.lws.test', type: DnsType.CNAME, class: 1, ttl: 60, data: 'a.lws.test' },
        { name: 'a.lws.test', type: DnsType.A, class: 1, ttl: 30, data: '10.0.0.1' },
        { name: 'a.lws.test', type: DnsType.AAAA, class: 1, ttl: 30, data: '2001:db8::1' },
      ],
      authorities: [
        { name: 'lws.test', type: DnsType.SOA, class: 1, ttl: 300, data: { mname: 'ns.lws.test', rname: 'hostmaster.lws.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
      ],
      additionals: [],
    };
    const compressed = encodeMessage(m);
    const plain = encodeMessage(m, { compress: false });
    expect(compressed.length).toBeLessThan(plain.length);
    expect(decodeMessage(compressed)).toEqual(m);
    expect(decodeMessage(plain)).toEqual(m);
  });

  test('names keep their case, escape what is not printable, and the root is "."', () => {
    const m: DnsMessage = {
      id: 1,
      flags: 0,
      questions: [
        { name: 'MiXeD.Case', type: 1, class: 1 },
        { name: 'a\\.b.c', type: 1, class: 1 },
        { name: 'sp\\032ace\\\\x', type: 1, class: 1 },
        { name: '.', type: 1, class: 1 },
      ],
      answers: [],
      authorities: [],
      additionals: [],
    };
    expect(decodeMessage(encodeMessage(m)).questions.map((q) => q.name)).toEqual(['MiXeD.Case', 'a\\.b.c', 'sp\\032ace\\\\x', '.']);
  });

  test('compression reuses exact suffixes and keeps every name\'s case', () => {
    const b = encodeMessage({
      id: 1,
      flags: 0,
      questions: [
        { name: 'www.lws.test', type: 1, class: 1 },
        { name: 'mail.lws.test', type: 1, class: 1 },
        { name: 'MAIL.LWS.TEST', type: 1, class: 1 },
      ],
      answers: [],
      authorities: [],
      additionals: [],
    });
    // 12 header + 14 (www.lws.test) + 4; "mail" 5 + pointer 2 + 4; MAIL.LWS.TEST uncompressed 15 + 4
    expect(b.length).toBe(12 + 14 + 4 + 5 + 2 + 4 + 15 + 4);
    expect(decodeMessage(b).questions.map((q) => q.name)).toEqual(['www.lws.test', 'mail.lws.test', 'MAIL.LWS.TEST']);
  });
});

describe('dns-packet as the oracle', () => {
  test('ours encodes (compressed or not), dns-packet decodes the same message', () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, compress) => {
        expect(fromPacket(dnsPacket.decode(asBuffer(encodeMessage(m, { compress }))))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  test('dns-packet encodes, ours decodes the same message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(dnsPacket.encode(toPacket(m)))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  test('ours round-trips its own encoding', () => {
    fc.assert(fc.property(message, (m) => expect(decodeMessage(encodeMessage(m))).toEqual(m)), { numRuns: 300 });
  });
});

describe('compression pointers and name limits', () => {
  const header = (qd: number): number[] => [0, 1, 0, 0, 0, qd, 0, 0, 0, 0, 0, 0];
  const parseError = (bytes: number[]): DnsParseError => {
    const r = decodeOrParseError(new Uint8Array(bytes));
    expect(r).toBeInstanceOf(DnsParseError);
    return r as DnsParseError;
  };

  test('a pointer to itself, forwards, or into a loop is refused where it stands', () => {
    expect(parseError([...header(1), 0xc0, 12, 0, 1, 0, 1]).detail).toMatchObject({ offset: 12, field: 'questions[0].name' });
    expect(parseError([...header(1), 0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1]).detail).toMatchObject({ offset: 12 });
    // 12: "a" then pointer to 16; 16: pointer back to 12 — each hop must go strictly backwards
    expect(parseError([...header(1), 1, 0x61, 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]).detail).toMatchObject({ offset: 14 });
  });

  test('a backwards chain of pointers resolves; a name over 255 bytes through pointers is refused', () => {
    // question 0: "a"; question 1: "b" + pointer to question 0
    const ok = decodeMessage(new Uint8Array([...header(2), 1, 0x61, 0, 0, 1, 0, 1, 1, 0x62, 0xc0, 12, 0, 1, 0, 1]));
    expect(ok.questions.map((q) => q.name)).toEqual(['a', 'b.a']);
    // five names of 63-byte labels, each pointing at the one before: the last is 5 × 64 bytes long
    const bytes = [...header(5)];
    let prev = -1;
    for (let i = 0; i < 5; i++) {
      const at = bytes.length;
      bytes.push(63, ...new Array(63).fill(0x78));
      if (prev < 0) bytes.push(0);
      else bytes.push(0xc0 | (prev >> 8), prev & 0xff);
      bytes.push(0, 1, 0, 1);
      prev = at;
    }
    expect(parseError(bytes).detail).toMatchObject({ field: 'questions[3].name' });
  });

  test('reserved label types are refused', () => {
    expect(parseError([...header(1), 0x40, 0, 0, 1, 0, 1]).message).toMatch(/reserved label type/);
    expect(parseError([...header(1), 0x80, 0, 0, 1, 0, 1]).message).toMatch(/reserved label type/);
  });

  test('record data must fill exactly its rdlength', () => {
    const base = Array.from(encodeMessage({ id: 1, flags: 0x8000, questions: [], answers: [{ name: 'a', type: 1, class: 1, ttl: 1, data: '1.2.3.4' }], authorities: [], additionals: [] }));
    const badLen = base.slice();
    badLen[12 + 3 + 8 + 1] = 5; // rdlength 5 for an A record
    badLen.push(0);
    expect(parseError(badLen).detail).toMatchObject({ field: 'answers[0].data' });
    const cname = Array.from(encodeMessage({ id: 1, flags: 0x8000, questions: [], answers: [{ name: 'a', type: 5, class: 1, ttl: 1, data: 'b' }], authorities: [], additionals: [] }));
    cname[12 + 3 + 8 + 1] = 4; // the name "b" is 3 bytes; claim 4
    cname.push(0);
    expect(parseError(cname).message).toMatch(/does not fill its rdlength/);
  });

  test('encoding refuses bad names and data with typed errors', () => {
    const q = (n: string) => () => encodeQuery(1, n, 1);
    expect(q('x'.repeat(64))).toThrow(DnsNameError);
    expect(q(`${'x'.repeat(63)}.`.repeat(4) + 'xx')).toThrow(DnsNameError);
    expect(q(`${'x'.repeat(63)}.${'x'.repeat(63)}.${'x'.repeat(63)}.${'x'.repeat(61)}`)).not.toThrow(); // 255 bytes exactly
    expect(q('a..b')).toThrow(DnsNameError);
    expect(q('ünï.test')).toThrow(/punycode/);
    expect(q('sp ace')).toThrow(DnsNameError);
    expect(q('bad\\9')).toThrow(DnsNameError);
    expect(q('bad\\256')).toThrow(DnsNameError);
    const rec = (type: number, data: DnsRecord['data']) => () =>
      encodeMessage({ id: 1, flags: 0, questions: [], answers: [{ name: 'a', type, class: 1, ttl: 1, data }], authorities: [], additionals: [] });
    expect(rec(1, '1.2.3')).toThrow(DnsEncodeError);
    expect(rec(28, '1.2.3.4')).toThrow(DnsEncodeError);
    expect(rec(5, new Uint8Array(1))).toThrow(DnsEncodeError);
    expect(rec(99, 'text')).toThrow(DnsEncodeError);
    expect(() => encodeMessage({ id: 70000, flags: 0, questions: [], answers: [], authorities: [], additionals: [] })).toThrow(DnsEncodeError);
  });
});

describe('fuzz: only DnsParseError, never a hang', () => {
  test('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (b) => void decodeOrParseError(b)), { numRuns: 3000 });
  });

  test('arbitrary bytes behind a plausible header', () => {
    const counts = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }));
    fc.assert(
      fc.property(counts, fc.uint8Array({ maxLength: 400 }), ([flags, qd, an, ns, ar], body) => {
        const b = new Uint8Array(12 + body.length);
        b.set([0, 1, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar]);
        b.set(body, 12);
        decodeOrParseError(b);
      }),
      { numRuns: 3000 },
    );
  });

  test('every truncation of a valid message fails typed', () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, compress) => {
        const b = encodeMessage(m, { compress });
        for (let cut = 0; cut < b.length; cut++) expect(decodeOrParseError(b.subarray(0, cut))).toBeInstanceOf(DnsParseError);
      }),
      { numRuns: 60 },
    );
  });

  test('random corruption of a valid message', () => {
    fc.assert(
      fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (m, flips) => {
        const b = encodeMessage(m);
        for (const [at, v] of flips) b[at % b.length] = v;
        decodeOrParseError(b);
      }),
      { numRuns: 2000 },
    );
  });
});
