/**
 * Shared by the h1 tests: byte helpers, a driver that runs the parser over chunks the way the
 * role machines do, and a normal form of its events in which how the input was split cannot
 * show (consecutive data events are merged, bodies become strings).
 */
import { H1Error } from '../../src/protocols/h1/errors.js';
import { H1Parser } from '../../src/protocols/h1/parser.js';
import type { H1ParseEvent, H1ParserOptions } from '../../src/protocols/h1/parser.js';

/** Latin-1 bytes of s (one char, one byte). */
export function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

export function text(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits b at the given cut points. */
export function splitAt(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const sorted = [...new Set(cuts.filter((c) => c > 0 && c < b.length))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(b.slice(prev, c));
    prev = c;
  }
  out.push(b.slice(prev));
  return out;
}

export type Norm =
  | { type: 'head'; head: Record<string, unknown> }
  | { type: 'data'; text: string }
  | { type: 'trailers'; fields: string[] }
  | { type: 'end' }
  | { type: 'tunnel'; rest: string }
  | { type: 'error'; code: string; status: number };

function headSummary(h: H1ParseEvent & { type: 'head' }): Record<string, unknown> {
  const { headers, ...rest } = h.head;
  return { ...rest, fields: headers.fields };
}

export function normalize(events: H1ParseEvent[], into: Norm[] = []): Norm[] {
  for (const e of events) {
    if (e.type === 'data') {
      const last = into[into.length - 1];
      if (last !== undefined && last.type === 'data') last.text += text(e.data);
      else into.push({ type: 'data', text: text(e.data) });
    } else if (e.type === 'head') into.push({ type: 'head', head: headSummary(e) });
    else if (e.type === 'trailers') into.push({ type: 'trailers', fields: e.trailers.fields });
    else into.push({ type: 'end' });
  }
  return into;
}

/**
 * Runs a parser over `chunks`, going on to the next message after each one (pipelining),
 * with `methods[i]` as the request method of the i-th response. Ends with finish() (the peer
 * closed) unless `eof` is false. Non-H1Error exceptions escape: the tests want to see them.
 */
export function drive(kind: 'request' | 'response', chunks: Uint8Array[], opts: { methods?: string[]; limits?: H1ParserOptions; eof?: boolean } = {}): Norm[] {
  const p = new H1Parser(kind, opts.limits);
  const out: Norm[] = [];
  let m = 0;
  const ev: H1ParseEvent[] = [];
  const flush = (): void => {
    normalize(ev, out);
    ev.length = 0;
  };
  try {
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c] as Uint8Array;
      let off = 0;
      while (off < chunk.length) {
        p.requestMethod = opts.methods?.[m] ?? 'GET';
        off = p.feed(chunk, off, ev);
        flush();
        if (p.state === 'done') {
          m++;
          p.next();
        } else if (p.state === 'tunnel') {
          out.push({ type: 'tunnel', rest: text(concat([chunk.subarray(off), ...chunks.slice(c + 1)])) });
          return out;
        }
      }
    }
    if (opts.eof !== false) {
      p.finish(ev);
      flush();
    }
  } catch (e) {
    flush();
    if (!(e instanceof H1Error)) throw e;
    out.push({ type: 'error', code: e.code, status: e.status });
  }
  return out;
}
