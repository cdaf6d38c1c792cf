/**
 * Autobahn testsuite sections 12 and 13 (permessage-deflate), as data shared by the in-memory
 * suite (test/unit/ws-autobahn-deflate.test.ts) and the one against `ws`
 * (test/interop/ws-autobahn-deflate.test.ts).
 *
 * As in Autobahn's case12_x_x.py: each case sends COUNT messages of LEN bytes cut in turn from
 * a test corpus (wrapping around), auto-fragmented to AUTOFRAG bytes per frame (0: one frame),
 * and expects each echoed back intact before sending the next. 12.x uses the default offer on
 * five corpora; 13.x uses the JSON corpus under seven offer/accept pairs. Autobahn's corpora are
 * files it downloads (Faust, a bitmap, a PDF, JSON, HTML); ours are generated here, seeded, of
 * the same kinds. Autobahn sends 1000 messages per case; `messageCount` scales that down to a
 * byte budget so the whole matrix runs in seconds, and the suites print the counts they ran.
 */
import type { DeflateOptions } from '../../src/protocols/ws/extensions.js';

/** (payload length, auto-fragment size), in Autobahn's order: cases x.y.1 to x.y.18 */
export const MSG_SIZES: ReadonlyArray<readonly [len: number, autofrag: number]> = [
  [16, 0], [64, 0], [256, 0], [1024, 0], [4096, 0], [8192, 0], [16384, 0], [32768, 0], [65536, 0], [131072, 0],
  [8192, 256], [16384, 256], [32768, 256], [65536, 256], [131072, 256], [131072, 1024], [131072, 4096], [131072, 32768],
];

export interface Corpus {
  name: string;
  /** sent as binary messages (Autobahn sends all but JSON and HTML as binary) */
  binary: boolean;
  data: Uint8Array;
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const CORPUS_SIZE = 256 * 1024;
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0x7f);

function text(seed: number, words: readonly string[], sep: () => string): Uint8Array {
  const r = xorshift(seed);
  let s = '';
  while (s.length < CORPUS_SIZE) s += (words[r() % words.length] as string) + (r() % 9 === 0 ? sep() : ' ');
  return ascii(s.slice(0, CORPUS_SIZE));
}

function faust(): Uint8Array {
  const words = ['Habe', 'nun,', 'ach!', 'Philosophie,', 'Juristerei', 'und', 'Medizin,', 'Und', 'leider', 'auch', 'Theologie', 'Durchaus', 'studiert,', 'mit', 'heissem', 'Bemuehn.', 'Da', 'steh', 'ich', 'nun,', 'ich', 'armer', 'Tor!', 'FAUST:', 'MEPHISTOPHELES:', 'Gretchen', 'der', 'die', 'das', 'nicht'];
  return text(1, words, () => '\n');
}

/** A 512×512 8-bit grey bitmap: BMP header, palette, then a smooth picture with sensor noise. */
function bitmap(): Uint8Array {
  const r = xorshift(2);
  const w = 512;
  const header = 14 + 40 + 1024;
  const out = new Uint8Array(header + w * w);
  out.set(ascii('BM'), 0);
  for (let i = 0; i < 256; i++) out.set([i, i, i, 0], 54 + i * 4);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const v = 128 + 60 * Math.sin(x / 37) * Math.cos(y / 23) + 40 * Math.sin((x + y) / 91) + ((r() % 9) - 4);
      out[header + y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out.subarray(0, CORPUS_SIZE);
}

/** A PDF: text objects between streams that are already compressed (random bytes). */
function pdf(): Uint8Array {
  const r = xorshift(3);
  const parts: Uint8Array[] = [ascii('%PDF-1.4\n')];
  let size = parts[0]!.length;
  for (let obj = 1; size < CORPUS_SIZE; obj++) {
    const n = 200 + (r() % 3000);
    const head = ascii(`${obj} 0 obj\n<< /Length ${n} /Filter /FlateDecode >>\nstream\n`);
    const body = Uint8Array.from({ length: n }, () => r() & 0xff);
    const tail = ascii(`\nendstream\nendobj\n${obj + 1} 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /MediaBox [0 0 612 792] >>\nendobj\n`);
    for (const p of [head, body, tail]) {
      parts.push(p);
      size += p.length;
    }
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out.subarray(0, CORPUS_SIZE);
}

function json(): Uint8Array {
  const r = xorshift(4);
  const names = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve', 'Mallory', 'Trent', 'Peggy'];
  let s = '[';
  for (let i = 0; s.length < CORPUS_SIZE; i++) {
    s += `${i ? ',' : ''}\n  {"id": ${i}, "name": "${names[r() % names.length]}", "active": ${r() % 2 === 0}, "score": ${(r() % 100000) / 100}, "tags": ["lws", "ws", "${(r() % 4096).toString(16)}"], "position": {"lat": ${((r() % 18000) / 100 - 90).toFixed(2)}, "lon": ${((r() % 36000) / 100 - 180).toFixed(2)}}}`;
  }
  return ascii(s.slice(0, CORPUS_SIZE));
}

function html(): Uint8Array {
  const r = xorshift(5);
  const words = ['libwebsockets', 'secure', 'streams', 'policy', 'the', 'a', 'of', 'device', 'connection', 'retry', 'with', 'and'];
  let s = '<!DOCTYPE html>\n<html><head><title>lwsx</title></head><body>\n';
  while (s.length < CORPUS_SIZE) {
    const tag = ['p', 'li', 'td', 'span', 'h2'][r() % 5] as string;
    let body = '';
    for (let k = 3 + (r() % 20); k > 0; k--) body += `${words[r() % words.length]} `;
    s += `<${tag} class="c${r() % 7}"><a href="/docs/${r() % 300}.html">${body.trim()}</a></${tag}>\n`;
  }
  return ascii(s.slice(0, CORPUS_SIZE));
}

let corpora: Corpus[] | undefined;
/** 12.1 to 12.5 in Autobahn's order; 13.x uses the JSON corpus (index 3). */
export function corpusList(): Corpus[] {
  corpora ??= [
    { name: 'Faust-like German text', binary: true, data: faust() },
    { name: '512×512 grey bitmap', binary: true, data: bitmap() },
    { name: 'PDF with compressed streams', binary: true, data: pdf() },
    { name: 'JSON', binary: false, data: json() },
    { name: 'HTML', binary: false, data: html() },
  ];
  return corpora;
}

/** Autobahn's sendOne: the next `len` bytes of the corpus from `ptr`, wrapping around. */
export function slice(corpus: Uint8Array, ptr: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let o = 0; o < len; ) {
    const at = (ptr + o) % corpus.length;
    const n = Math.min(len - o, corpus.length - at);
    out.set(corpus.subarray(at, at + n), o);
    o += n;
  }
  return out;
}

/** Messages per case: Autobahn's 1000, or fewer to stay within `budget` bytes and `max` messages (at least 2). */
export function messageCount(len: number, budget: number, max = 1000): number {
  return Math.max(2, Math.min(max, Math.floor(budget / len)));
}

/**
 * 13.1-13.7: the client's offers and the server's accept policy. Autobahn's offers always
 * include client_max_window_bits; its accepts ask for client_no_context_takeover (T) and a
 * client window (8 or 15) when the offer allows it. 13.7 offers three and accepts the first
 * it can.
 */
export interface DeflatePair {
  name: string;
  offers: DeflateOptions[];
  accept: DeflateOptions;
}

export const DEFLATE_PAIRS: readonly DeflatePair[] = [
  { name: 'offer (F,0) / accept (F,0)', offers: [{ clientMaxWindowBits: true }], accept: {} },
  { name: 'offer (T,0) / accept (T,0)', offers: [{ serverNoContextTakeover: true, clientMaxWindowBits: true }], accept: { clientNoContextTakeover: true } },
  { name: 'offer (F,8) / accept (F,8)', offers: [{ serverMaxWindowBits: 8, clientMaxWindowBits: true }], accept: { clientMaxWindowBits: 8 } },
  { name: 'offer (F,15) / accept (F,15)', offers: [{ serverMaxWindowBits: 15, clientMaxWindowBits: true }], accept: { clientMaxWindowBits: 15 } },
  {
    name: 'offer (T,8) / accept (T,8)',
    offers: [{ serverNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: true }],
    accept: { clientNoContextTakeover: true, clientMaxWindowBits: 8 },
  },
  {
    name: 'offer (T,15) / accept (T,15)',
    offers: [{ serverNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: true }],
    accept: { clientNoContextTakeover: true, clientMaxWindowBits: 15 },
  },
  {
    name: 'offers [(T,8), (T,0), (F,0)] / accept [(T,8), (T,0), (F,0)]',
    offers: [
      { serverNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: true },
      { serverNoContextTakeover: true, clientMaxWindowBits: true },
      { clientMaxWindowBits: true },
    ],
    accept: { clientNoContextTakeover: true, clientMaxWindowBits: 8 },
  },
];

export interface DeflateCase {
  /** "12.3.11" */
  id: string;
  section: string;
  corpus: Corpus;
  len: number;
  autofrag: number;
  offers: DeflateOptions[];
  accept: DeflateOptions;
}

/** Every case of sections 12 and 13, in Autobahn's numbering. */
export function deflateCases(): DeflateCase[] {
  const out: DeflateCase[] = [];
  corpusList().forEach((corpus, j) => {
    MSG_SIZES.forEach(([len, autofrag], i) => {
      out.push({ id: `12.${j + 1}.${i + 1}`, section: `12.${j + 1}`, corpus, len, autofrag, offers: [{ clientMaxWindowBits: true }], accept: {} });
    });
  });
  DEFLATE_PAIRS.forEach((p, j) => {
    MSG_SIZES.forEach(([len, autofrag], i) => {
      out.push({ id: `13.${j + 1}.${i + 1}`, section: `13.${j + 1}`, corpus: corpusList()[3] as Corpus, len, autofrag, offers: p.offers, accept: p.accept });
    });
  });
  return out;
}

export function sectionTitle(section: string): string {
  const [, sub] = section.split('.');
  if (section.startsWith('12.')) return corpusList()[Number(sub) - 1]!.name;
  return `JSON, ${DEFLATE_PAIRS[Number(sub) - 1]!.name}`;
}

/** Per-section counts for the suites' closing summary. */
export class SectionTally {
  private readonly rows = new Map<string, { cases: number; messages: number; bytes: number; wire: number }>();

  add(section: string, messages: number, bytes: number, wire: number): void {
    const r = this.rows.get(section) ?? { cases: 0, messages: 0, bytes: 0, wire: 0 };
    r.cases++;
    r.messages += messages;
    r.bytes += bytes;
    r.wire += wire;
    this.rows.set(section, r);
  }

  /** A table: section, cases passed, messages echoed, payload MiB, wire ÷ payload (when measured). */
  format(title: string): string {
    const lines = [`${title}`, `${'section'.padEnd(8)} ${'cases'.padStart(5)} ${'messages'.padStart(9)} ${'payload'.padStart(10)} ${'wire/payload'.padStart(12)}  corpus / parameters`];
    let cases = 0;
    let messages = 0;
    for (const [s, r] of [...this.rows].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
      cases += r.cases;
      messages += r.messages;
      lines.push(
        `${s.padEnd(8)} ${String(r.cases).padStart(5)} ${String(r.messages).padStart(9)} ${`${(r.bytes / 1048576).toFixed(2)} MiB`.padStart(10)} ${(r.wire && r.bytes ? (r.wire / r.bytes).toFixed(3) : '-').padStart(12)}  ${sectionTitle(s)}`,
      );
    }
    lines.push(`total: ${cases} cases passed, ${messages} messages echoed`);
    return lines.join('\n') + '\n';
  }
}
