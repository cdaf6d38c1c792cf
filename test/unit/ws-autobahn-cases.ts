/**
 * A conformance suite modelled on the Autobahn testsuite, sections 1-7 and 9, as data: each
 * case names the frames the peer sends (Autobahn's fuzzingclient or fuzzingserver) and what the
 * echo peer under test must send back. Shared by the in-memory suite against our machine
 * (test/unit/ws-autobahn.test.ts) and the one over loopback TCP against our stack and `ws`
 * (test/interop/ws-autobahn.test.ts). Each case is named by its Autobahn number.
 *
 * Where a case expects a failure, the peer under test must Fail the WebSocket Connection with
 * that close code: Autobahn's "non-strict" outcomes (a close code other than the best one, a
 * missing echo before the failure) are not the expected outcome here.
 */
import type { WsRole } from '../../src/protocols/ws/connection.js';
import { BINARY, bytes, CLOSE, concat, CONT, enc, PING, PONG, rawFrame, show, TEXT, type RawFrame } from './ws-harness.js';

export const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const star = (n: number): string => '*'.repeat(n);
export const closeBody = (code: number, reason: string | Uint8Array = ''): Uint8Array =>
  concat([bytes(code >> 8, code & 0xff), typeof reason === 'string' ? enc(reason) : reason]);

/** What the peer under test must send: a frame, or `fail` (Close with that code, after an error event). */
export type Out = { op: number; payload?: string | Uint8Array } | { fail: number };

export interface Case {
  frames: RawFrame[];
  expect: Out[];
  /** extra chopping: receive() calls (or socket writes) of this many bytes */
  chunk?: number;
  /** skip the one-byte-per-receive run (large payloads) */
  noOctets?: boolean;
  maxMessageSize?: number;
}

export interface Section {
  n: string;
  title: string;
  cases: Record<string, Case>;
}

/** The frames `expect` stands for, comparable with toEqual (payloads through show()). */
export function outFrames(expect: readonly Out[]): Array<{ op: number; payload: unknown }> {
  return expect.map((o) =>
    'fail' in o
      ? { op: CLOSE, payload: show(closeBody(o.fail)) }
      : { op: o.op, payload: show(typeof o.payload === 'string' ? enc(o.payload) : (o.payload ?? new Uint8Array(0))) },
  );
}

const sections: Section[] = [];
const section = (n: string, title: string, cases: Record<string, Case>): void => {
  sections.push({ n, title, cases });
};
const echoText = (s: string | Uint8Array): Out => ({ op: TEXT, payload: s });
const echoBin = (b: Uint8Array): Out => ({ op: BINARY, payload: b });
const pong = (s: string | Uint8Array = ''): Out => ({ op: PONG, payload: s });
const closeOut = (code?: number): Out => ({ op: CLOSE, payload: code === undefined ? '' : closeBody(code) });
const fail = (code = 1002): Out => ({ fail: code });

// ---- 1 Framing

const framing: Record<string, Case> = {};
[0, 125, 126, 127, 128, 65535, 65536].forEach((n, i) => {
  framing[`1.1.${i + 1} text, ${n} bytes`] = { frames: [{ op: TEXT, payload: star(n) }], expect: [echoText(star(n))] };
  const b = Uint8Array.from({ length: n }, (_, k) => (k * 7) & 0xff);
  framing[`1.2.${i + 1} binary, ${n} bytes`] = { frames: [{ op: BINARY, payload: b }], expect: [echoBin(b)] };
});
framing['1.1.8 text, 65536 bytes in chops of 997'] = {
  frames: [{ op: TEXT, payload: star(65536) }],
  expect: [echoText(star(65536))],
  chunk: 997,
};
framing['1.2.8 binary, 65536 bytes in chops of 997'] = {
  frames: [{ op: BINARY, payload: new Uint8Array(65536).fill(0xfe) }],
  expect: [echoBin(new Uint8Array(65536).fill(0xfe))],
  chunk: 997,
};
section('1', 'framing', framing);

// ---- 2 Pings/Pongs

const bin8 = bytes(0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff);
const ten = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
section('2', 'pings and pongs', {
  '2.1 ping without payload': { frames: [{ op: PING }], expect: [pong()] },
  '2.2 ping with small text payload': { frames: [{ op: PING, payload: 'Hello, world!' }], expect: [pong('Hello, world!')] },
  '2.3 ping with small binary payload': { frames: [{ op: PING, payload: bin8 }], expect: [pong(bin8)] },
  '2.4 ping with 125-byte binary payload': {
    frames: [{ op: PING, payload: new Uint8Array(125).fill(0xfe) }],
    expect: [pong(new Uint8Array(125).fill(0xfe))],
  },
  '2.5 ping with 126-byte payload': { frames: [{ op: PING, payload: new Uint8Array(126).fill(0xfe) }], expect: [fail()] },
  '2.6 ping with 125-byte payload, in chops of 1 octet': {
    frames: [{ op: PING, payload: new Uint8Array(125).fill(0xfe) }],
    expect: [pong(new Uint8Array(125).fill(0xfe))],
    chunk: 1,
  },
  '2.7 unsolicited pong without payload': { frames: [{ op: PONG }], expect: [] },
  '2.8 unsolicited pong with payload': { frames: [{ op: PONG, payload: 'unsolicited pong payload' }], expect: [] },
  '2.9 unsolicited pong, then ping': {
    frames: [
      { op: PONG, payload: 'unsolicited pong payload' },
      { op: PING, payload: 'ping payload' },
    ],
    expect: [pong('ping payload')],
  },
  '2.10 ten pings': { frames: ten.map((p) => ({ op: PING, payload: p })), expect: ten.map((p) => pong(p)) },
  '2.11 ten pings, in chops of 1 octet': {
    frames: ten.map((p) => ({ op: PING, payload: p })),
    expect: ten.map((p) => pong(p)),
    chunk: 1,
  },
});

// ---- 3 Reserved bits

const hello = 'Hello, world!';
section('3', 'reserved bits', {
  '3.1 text with RSV = 1': { frames: [{ op: TEXT, payload: hello, rsv: 1 }], expect: [fail()] },
  '3.2 text, then text with RSV = 2, then ping': {
    frames: [{ op: TEXT, payload: hello }, { op: TEXT, payload: hello, rsv: 2 }, { op: PING, payload: hello }],
    expect: [echoText(hello), fail()],
  },
  '3.3 text, then text with RSV = 3, then ping': {
    frames: [{ op: TEXT, payload: hello }, { op: TEXT, payload: hello, rsv: 3 }, { op: PING, payload: hello }],
    expect: [echoText(hello), fail()],
  },
  '3.4 text, then text with RSV = 4 (RSV1, no extension), then ping': {
    frames: [{ op: TEXT, payload: hello }, { op: TEXT, payload: hello, rsv: 4 }, { op: PING, payload: hello }],
    expect: [echoText(hello), fail()],
  },
  '3.5 binary with RSV = 5': { frames: [{ op: BINARY, payload: bin8, rsv: 5 }], expect: [fail()] },
  '3.6 ping with RSV = 6': { frames: [{ op: PING, payload: hello, rsv: 6 }], expect: [fail()] },
  '3.7 close with RSV = 7': { frames: [{ op: CLOSE, payload: closeBody(1000), rsv: 7 }], expect: [fail()] },
});

// ---- 4 Opcodes

const opcodes: Record<string, Case> = {};
const reservedOps = (base: number, sub: string): void => {
  const ops = [base, base + 1, base + 2, base + 3, base + 4];
  opcodes[`${sub}.1 opcode ${ops[0]}`] = { frames: [{ op: ops[0]! }], expect: [fail()] };
  opcodes[`${sub}.2 opcode ${ops[1]} with payload`] = { frames: [{ op: ops[1]!, payload: 'reserved opcode payload' }], expect: [fail()] };
  for (let k = 2; k < 5; k++) {
    opcodes[`${sub}.${k + 1} text, opcode ${ops[k]}${k > 2 ? ' with payload' : ''}, ping`] = {
      frames: [{ op: TEXT, payload: hello }, { op: ops[k]!, payload: k > 2 ? 'reserved opcode payload' : '' }, { op: PING, payload: hello }],
      expect: [echoText(hello), fail()],
    };
  }
};
reservedOps(3, '4.1');
reservedOps(11, '4.2');
section('4', 'opcodes', opcodes);

// ---- 5 Fragmentation

const twoFrags: RawFrame[] = [
  { op: TEXT, payload: 'fragment1', fin: false },
  { op: CONT, payload: 'fragment2' },
];
const withPing: RawFrame[] = [
  { op: TEXT, payload: 'fragment1', fin: false },
  { op: PING, payload: 'ping payload' },
  { op: CONT, payload: 'fragment2' },
];
const frag519: RawFrame[] = [
  { op: TEXT, payload: 'fragment1', fin: false },
  { op: CONT, payload: 'fragment2', fin: false },
  { op: PING, payload: 'pongme 1!' },
  { op: CONT, payload: 'fragment3', fin: false },
  { op: CONT, payload: 'fragment4', fin: false },
  { op: PING, payload: 'pongme 2!' },
  { op: CONT, payload: 'fragment5' },
];
const frags = (...names: string[]): RawFrame[] => names.map((n) => JSON.parse(n) as RawFrame);
section('5', 'fragmentation', {
  '5.1 ping in 2 fragments': {
    frames: [{ op: PING, payload: 'fragment1', fin: false }, { op: CONT, payload: 'fragment2' }],
    expect: [fail()],
  },
  '5.2 pong in 2 fragments': {
    frames: [{ op: PONG, payload: 'fragment1', fin: false }, { op: CONT, payload: 'fragment2' }],
    expect: [fail()],
  },
  '5.3 text in 2 fragments': { frames: twoFrags, expect: [echoText('fragment1fragment2')] },
  '5.4 text in 2 fragments, octet-wise': { frames: twoFrags, expect: [echoText('fragment1fragment2')], chunk: 1 },
  '5.5 text in 2 fragments, frame-wise': { frames: twoFrags, expect: [echoText('fragment1fragment2')] },
  '5.6 text in 2 fragments with a ping between': { frames: withPing, expect: [pong('ping payload'), echoText('fragment1fragment2')] },
  '5.7 same, octet-wise': { frames: withPing, expect: [pong('ping payload'), echoText('fragment1fragment2')], chunk: 1 },
  '5.8 same, frame-wise': { frames: withPing, expect: [pong('ping payload'), echoText('fragment1fragment2')] },
  '5.9 unexpected continuation (FIN), then text': {
    frames: [{ op: CONT, payload: 'non-continuation payload' }, { op: TEXT, payload: hello }],
    expect: [fail()],
  },
  '5.10 same, octet-wise': {
    frames: [{ op: CONT, payload: 'non-continuation payload' }, { op: TEXT, payload: hello }],
    expect: [fail()],
    chunk: 1,
  },
  '5.11 same, frame-wise': {
    frames: [{ op: CONT, payload: 'non-continuation payload' }, { op: TEXT, payload: hello }],
    expect: [fail()],
  },
  '5.12 unexpected continuation (no FIN), then text': {
    frames: [{ op: CONT, payload: 'non-continuation payload', fin: false }, { op: TEXT, payload: hello }],
    expect: [fail()],
  },
  '5.13 same, octet-wise': {
    frames: [{ op: CONT, payload: 'non-continuation payload', fin: false }, { op: TEXT, payload: hello }],
    expect: [fail()],
    chunk: 1,
  },
  '5.14 same, frame-wise': {
    frames: [{ op: CONT, payload: 'non-continuation payload', fin: false }, { op: TEXT, payload: hello }],
    expect: [fail()],
  },
  '5.15 text in 2 fragments, then a stray continuation and text': {
    frames: [
      ...twoFrags,
      { op: CONT, payload: 'fragment3', fin: false },
      { op: TEXT, payload: 'fragment4' },
    ],
    expect: [echoText('fragment1fragment2'), fail()],
  },
  '5.16 (continuation, text, continuation) twice': {
    frames: frags(
      '{"op":0,"payload":"fragment1","fin":false}',
      '{"op":1,"payload":"fragment2","fin":false}',
      '{"op":0,"payload":"fragment3"}',
      '{"op":0,"payload":"fragment1","fin":false}',
      '{"op":1,"payload":"fragment2","fin":false}',
      '{"op":0,"payload":"fragment3"}',
    ),
    expect: [fail()],
  },
  '5.17 (continuation FIN, text, continuation) twice': {
    frames: frags(
      '{"op":0,"payload":"fragment1"}',
      '{"op":1,"payload":"fragment2","fin":false}',
      '{"op":0,"payload":"fragment3"}',
      '{"op":0,"payload":"fragment1"}',
      '{"op":1,"payload":"fragment2","fin":false}',
      '{"op":0,"payload":"fragment3"}',
    ),
    expect: [fail()],
  },
  '5.18 text in 2 fragments, both with opcode text': {
    frames: [{ op: TEXT, payload: 'fragment1', fin: false }, { op: TEXT, payload: 'fragment2' }],
    expect: [fail()],
  },
  '5.19 text in 5 fragments with 2 pings between': {
    frames: frag519,
    expect: [pong('pongme 1!'), pong('pongme 2!'), echoText('fragment1fragment2fragment3fragment4fragment5')],
  },
  '5.20 same, frame-wise': {
    frames: frag519,
    expect: [pong('pongme 1!'), pong('pongme 2!'), echoText('fragment1fragment2fragment3fragment4fragment5')],
  },
});

// ---- 6 UTF-8 handling

/** a text message in one frame, or (per > 0) in frames of `per` bytes */
function textFrames(payload: Uint8Array, per = 0): RawFrame[] {
  if (!per) return [{ op: TEXT, payload }];
  const out: RawFrame[] = [];
  for (let i = 0; i < payload.length; i += per) {
    out.push({ op: i === 0 ? TEXT : CONT, payload: payload.subarray(i, i + per), fin: i + per >= payload.length });
  }
  return out;
}
const utf8Valid = (p: Uint8Array, per = 0): Case => ({ frames: textFrames(p, per), expect: [echoText(p)] });
const utf8Invalid = (p: Uint8Array, per = 0): Case => ({ frames: textFrames(p, per), expect: [fail(1007)] });

const kosme = hex('cebae1bdb9cf83cebcceb5');
const helloUtf8 = enc('Hello-µ@ßöäüàá-UTF-8!!');
const utf8: Record<string, Case> = {
  '6.1.1 empty text': utf8Valid(new Uint8Array(0)),
  '6.1.2 three empty fragments': {
    frames: [{ op: TEXT, fin: false }, { op: CONT, fin: false }, { op: CONT }],
    expect: [echoText('')],
  },
  '6.1.3 empty, non-empty, empty fragments': {
    frames: [{ op: TEXT, fin: false }, { op: CONT, payload: 'middle frame payload', fin: false }, { op: CONT }],
    expect: [echoText('middle frame payload')],
  },
  '6.2.1 valid UTF-8 in one fragment': utf8Valid(helloUtf8),
  '6.2.2 valid UTF-8 in 2 fragments split at a code point': {
    frames: [
      { op: TEXT, payload: helloUtf8.subarray(0, 12), fin: false },
      { op: CONT, payload: helloUtf8.subarray(12) },
    ],
    expect: [echoText(helloUtf8)],
  },
  '6.2.3 valid UTF-8 in 1-octet fragments': utf8Valid(helloUtf8, 1),
  '6.2.4 κόσμε in 1-octet fragments': utf8Valid(kosme, 1),
  '6.3.1 invalid UTF-8 (surrogate) in one frame': utf8Invalid(hex('cebae1bdb9cf83cebcceb5eda080656469746564')),
  '6.3.2 same in 1-octet fragments': utf8Invalid(hex('cebae1bdb9cf83cebcceb5eda080656469746564'), 1),
  '6.5.1 κόσμε': utf8Valid(kosme),
  '6.5.2 κόσμε in 1-octet fragments': utf8Valid(kosme, 1),
  '6.5.3 κόσμε in 3-octet fragments': utf8Valid(kosme, 3),
  '6.5.4 κόσμε in 4-octet fragments': utf8Valid(kosme, 4),
  '6.5.5 κόσμε in 5-octet fragments': utf8Valid(kosme, 5),
};
const prefixValid = [false, true, false, false, true, false, true, false, true, false, true];
const prefixLen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
prefixLen.forEach((n, i) => {
  utf8[`6.6.${i + 1} κόσμε cut to ${n} bytes`] = prefixValid[i] ? utf8Valid(kosme.subarray(0, n)) : utf8Invalid(kosme.subarray(0, n));
});
const table = (sub: string, valid: boolean, seqs: string[]): void => {
  seqs.forEach((h, i) => {
    utf8[`6.${sub}.${i + 1} ${h.length > 24 ? h.slice(0, 24) + '…' : h}`] = valid ? utf8Valid(hex(h)) : utf8Invalid(hex(h));
  });
};
const range = (a: number, b: number, after = ''): string =>
  Array.from({ length: b - a + 1 }, (_, k) => (a + k).toString(16).padStart(2, '0') + after).join('');
table('7', true, ['00', 'c280', 'e0a080', 'f0908080']);
table('8', false, ['f888808080', 'fc8480808080']);
table('9', true, ['7f', 'dfbf', 'efbfbf', 'f48fbfbf']);
table('10', false, ['f7bfbfbf', 'fbbfbfbfbf', 'fdbfbfbfbfbf']);
table('11', true, ['ed9fbf', 'ee8080', 'efbfbd', 'f48fbfbf']);
utf8['6.11.5 f4908080'] = utf8Invalid(hex('f4908080'));
table('12', false, ['80', 'bf', '80bf', '80bf80', '80bf80bf', '80bf80bf80', '80bf80bf80bf', range(0x80, 0xbf)]);
table('13', false, [range(0xc0, 0xdf, '20'), range(0xe0, 0xef, '20'), range(0xf0, 0xf7, '20'), range(0xf8, 0xfb, '20'), range(0xfc, 0xfd, '20')]);
table('14', false, ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf']);
table('15', false, ['c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf']);
table('16', false, ['fe', 'ff', 'fefeffff']);
table('17', false, ['c0af', 'e080af', 'f08080af', 'f8808080af', 'fc80808080af']);
table('18', false, ['c1bf', 'e09fbf', 'f08fbfbf', 'f887bfbfbf', 'fc83bfbfbfbf']);
table('19', false, ['c080', 'e08080', 'f0808080', 'f880808080', 'fc8080808080']);
table('20', false, ['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf']);
table('21', false, ['eda080edb080', 'eda080edbfbf', 'edadbfedb080', 'edadbfedbfbf', 'edae80edb080', 'edae80edbfbf', 'edafbfedb080', 'edafbfedbfbf']);
const nonchars = ['efbfbe', 'efbfbf'];
for (let plane = 1; plane <= 16; plane++) {
  for (const last of [0xfffe, 0xffff]) nonchars.push(Buffer.from(String.fromCodePoint(plane * 0x10000 + last)).toString('hex'));
}
table('22', true, nonchars);
table('23', true, ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf']);
section('6', 'UTF-8 handling', utf8);

/**
 * 6.4.x fail fast: the receive() calls (socket writes) of each case. The error must come out of
 * the one that delivers the first bad byte (the second), before the rest arrives.
 */
export function failFastCases(role: WsRole): Array<[string, Uint8Array[]]> {
  const cases: Array<[string, Uint8Array[]]> = [
    ['6.4.1 3 fragments, the 2nd invalid', [rawFrame({ op: TEXT, payload: kosme, fin: false }, role), rawFrame({ op: CONT, payload: hex('f4908080'), fin: false }, role), rawFrame({ op: CONT, payload: 'edited' }, role)]],
    ['6.4.2 3 fragments, invalid at the 2nd', [rawFrame({ op: TEXT, payload: hex('cebae1bdb9cf83cebcceb5f4'), fin: false }, role), rawFrame({ op: CONT, payload: hex('90'), fin: false }, role), rawFrame({ op: CONT, payload: hex('8080656469746564') }, role)]],
  ];
  const one = rawFrame({ op: TEXT, payload: hex('cebae1bdb9cf83cebcceb5f49080806564697465640a') }, role);
  const head = one.length - 22;
  cases.push(['6.4.3 one frame in 3 chops, the 2nd invalid', [one.subarray(0, head + 11), one.subarray(head + 11, head + 15), one.subarray(head + 15)]]);
  cases.push(['6.4.4 one frame in 3 chops, invalid at the 2nd', [one.subarray(0, head + 12), one.subarray(head + 12, head + 13), one.subarray(head + 13)]]);
  return cases;
}


// ---- 7 Close handling

const closeF = (code?: number, reason: string | Uint8Array = ''): RawFrame => ({
  op: CLOSE,
  payload: code === undefined ? new Uint8Array(0) : closeBody(code, reason),
});
const closing: Record<string, Case> = {
  '7.1.1 text, then close': { frames: [{ op: TEXT, payload: hello }, closeF(1000)], expect: [echoText(hello), closeOut(1000)] },
  '7.1.2 two closes': { frames: [closeF(1000), closeF(1000)], expect: [closeOut(1000)] },
  '7.1.3 close, then ping': { frames: [closeF(1000), { op: PING, payload: hello }], expect: [closeOut(1000)] },
  '7.1.4 close, then text': { frames: [closeF(1000), { op: TEXT, payload: hello }], expect: [closeOut(1000)] },
  '7.1.5 fragment, close, final fragment': {
    frames: [{ op: TEXT, payload: 'fragment1', fin: false }, closeF(1000), { op: CONT, payload: 'fragment2' }],
    expect: [closeOut(1000)],
  },
  '7.1.6 256 KiB text, close, ping': {
    frames: [{ op: TEXT, payload: star(262144) }, closeF(1000), { op: PING, payload: hello }],
    expect: [echoText(star(262144)), closeOut(1000)],
    noOctets: true,
    chunk: 1000,
  },
  '7.3.1 close with empty payload': { frames: [closeF()], expect: [closeOut()] },
  '7.3.2 close with 1-byte payload': { frames: [{ op: CLOSE, payload: bytes(0x03) }], expect: [fail()] },
  '7.3.3 close with code 1000': { frames: [closeF(1000)], expect: [closeOut(1000)] },
  '7.3.4 close with code and reason': { frames: [closeF(1000, hello)], expect: [closeOut(1000)] },
  '7.3.5 close with a 123-byte reason': { frames: [closeF(1000, star(123))], expect: [closeOut(1000)] },
  '7.3.6 close with a 124-byte reason': { frames: [closeF(1000, star(124))], expect: [fail()] },
  '7.5.1 close with an invalid UTF-8 reason': {
    frames: [closeF(1000, hex('cebae1bdb9cf83cebcceb5eda080656469746564'))],
    expect: [fail(1007)],
  },
};
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) => {
  closing[`7.7.${i + 1} close with valid code ${code}`] = { frames: [closeF(code)], expect: [closeOut(code)] };
});
[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
  closing[`7.9.${i + 1} close with invalid code ${code}`] = { frames: [closeF(code)], expect: [fail()] };
});
closing['7.13.1 close with code 5000'] = { frames: [closeF(5000)], expect: [fail()] };
closing['7.13.2 close with code 65535'] = { frames: [closeF(65535)], expect: [fail()] };
section('7', 'close handling', closing);

// ---- 9 Limits / large messages

const MiB = 1024 * 1024;
const sizeName = (n: number): string => (n >= MiB ? `${n / MiB} MiB` : `${n / 1024} KiB`);
const fragmented = (op: number, payload: Uint8Array, per: number): RawFrame[] => {
  const out: RawFrame[] = [];
  for (let i = 0; i < payload.length; i += per) out.push({ op: i === 0 ? op : CONT, payload: payload.subarray(i, i + per), fin: i + per >= payload.length });
  return out;
};

/**
 * Section 9 with every message size divided by `scale` (fragment and chop sizes kept): Autobahn's
 * sizes (up to 16 MiB) at 1, smaller ones over sockets. The one-byte-per-receive run is skipped.
 */
function large(scale: number): Section {
  const big: Record<string, Case> = {};
  const limit = (16 * MiB) / scale;
  [64 * 1024, 256 * 1024, MiB, 4 * MiB, 8 * MiB, 16 * MiB].forEach((full, i) => {
    const n = full / scale;
    big[`9.1.${i + 1} text of ${sizeName(n)}`] = {
      frames: [{ op: TEXT, payload: star(n) }],
      expect: [echoText(star(n))],
      noOctets: true,
      maxMessageSize: limit,
    };
    const b = new Uint8Array(n).fill(0xfe);
    big[`9.2.${i + 1} binary of ${sizeName(n)}`] = { frames: [{ op: BINARY, payload: b }], expect: [echoBin(b)], noOctets: true, maxMessageSize: limit };
  });
  const fragText = enc(star((4 * MiB) / scale));
  const fragBin = new Uint8Array((4 * MiB) / scale).fill(0xfe);
  [64, 256, 1024, 4096, 16384, 65536, 262144, MiB, 4 * MiB].forEach((per, i) => {
    big[`9.3.${i + 1} ${sizeName(fragText.length)} text in ${per}-byte fragments`] = {
      frames: fragmented(TEXT, fragText, per),
      expect: [echoText(fragText)],
      noOctets: true,
      maxMessageSize: limit,
    };
    big[`9.4.${i + 1} ${sizeName(fragBin.length)} binary in ${per}-byte fragments`] = {
      frames: fragmented(BINARY, fragBin, per),
      expect: [echoBin(fragBin)],
      noOctets: true,
      maxMessageSize: limit,
    };
  });
  const chopped = MiB / scale;
  const chopBin = new Uint8Array(chopped).fill(0xfe);
  [64, 128, 256, 512, 1024, 2048].forEach((per, i) => {
    big[`9.5.${i + 1} ${sizeName(chopped)} text in chops of ${per}`] = {
      frames: [{ op: TEXT, payload: star(chopped) }],
      expect: [echoText(star(chopped))],
      noOctets: true,
      chunk: per,
      maxMessageSize: limit,
    };
    big[`9.6.${i + 1} ${sizeName(chopped)} binary in chops of ${per}`] = {
      frames: [{ op: BINARY, payload: chopBin }],
      expect: [echoBin(chopBin)],
      noOctets: true,
      chunk: per,
      maxMessageSize: limit,
    };
  });
  return { n: '9', title: 'limits and large messages', cases: big };
}

/** Sections 1-7 and 9, in order; section 9's message sizes divided by `largeScale`. */
export function autobahnSections(largeScale = 1): Section[] {
  return [...sections, large(largeScale)];
}
