/**
 * The request target (RFC 9112 §3.2) and what a server does with it: tell the four forms apart,
 * split path from query, percent-decode (RFC 3986 §2.1) into UTF-8 text, and read the query as
 * name/value pairs (application/x-www-form-urlencoded: `+` is a space).
 *
 * The parser has already checked that the target is visible ASCII without spaces; here the
 * structure is checked. Anything wrong is an H1Error 'ERR_H1_TARGET' (400).
 */
import { utf8Decode } from '../../util/utf8.js';
import { H1Error } from './errors.js';

export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk';

export interface RequestTarget {
  readonly form: TargetForm;
  /** absolute-form only, lowercased ('http', 'https', …) */
  readonly scheme: string | undefined;
  /** absolute-form `host[:port]`, or the whole authority-form target of a CONNECT */
  readonly authority: string | undefined;
  /** the path as sent, still percent-encoded; '*' for asterisk-form, '' for authority-form */
  readonly rawPath: string;
  /** the path percent-decoded as UTF-8 */
  readonly path: string;
  /** what follows '?', still encoded (see parseQuery), or undefined when there is no '?' */
  readonly query: string | undefined;
}

function bad(why: string, target: string, field = 'target'): H1Error {
  return new H1Error('ERR_H1_TARGET', `bad request target: ${why}`, { field, target: target.length > 256 ? target.slice(0, 256) : target });
}

/** Splits and checks `target` for a request with `method`. */
export function parseRequestTarget(method: string, target: string): RequestTarget {
  if (target.indexOf('#') >= 0) throw bad('a fragment is not part of a request target', target);
  const c0 = target.charCodeAt(0);
  if (method === 'CONNECT') {
    // authority-form only (RFC 9112 §3.2.3): host ":" port, nothing else
    const colon = target.lastIndexOf(':');
    if (c0 === 0x2f || colon <= 0 || colon === target.length - 1 || target.indexOf('/') >= 0 || target.indexOf('?') >= 0 || target.indexOf('@') >= 0) {
      throw bad('CONNECT needs host:port', target);
    }
    for (let i = colon + 1; i < target.length; i++) {
      const d = target.charCodeAt(i);
      if (d < 0x30 || d > 0x39) throw bad('CONNECT port is not a number', target);
    }
    return { form: 'authority', scheme: undefined, authority: target, rawPath: '', path: '', query: undefined };
  }
  if (c0 === 0x2f) return pathAndQuery('origin', undefined, undefined, target, 0);
  if (target === '*') {
    if (method !== 'OPTIONS') throw bad('asterisk-form is for OPTIONS only', target);
    return { form: 'asterisk', scheme: undefined, authority: undefined, rawPath: '*', path: '*', query: undefined };
  }
  // absolute-form (RFC 9112 §3.2.2): scheme "://" authority path-abempty [ "?" query ]
  const sep = target.indexOf('://');
  if (sep <= 0) throw bad('neither origin-form nor absolute-form', target);
  for (let i = 0; i < sep; i++) {
    const ch = target.charCodeAt(i) | 0x20;
    const alpha = ch >= 0x61 && ch <= 0x7a;
    if (!alpha && (i === 0 || !((ch >= 0x30 && ch <= 0x39) || ch === 0x2b || ch === 0x2d || ch === 0x2e))) {
      throw bad('bad scheme', target);
    }
  }
  const scheme = target.slice(0, sep).toLowerCase();
  const aStart = sep + 3;
  let aEnd = aStart;
  while (aEnd < target.length) {
    const ch = target.charCodeAt(aEnd);
    if (ch === 0x2f || ch === 0x3f) break;
    aEnd++;
  }
  if (aEnd === aStart) throw bad('empty authority', target);
  const authority = target.slice(aStart, aEnd);
  if (aEnd === target.length) return { form: 'absolute', scheme, authority, rawPath: '/', path: '/', query: undefined };
  if (target.charCodeAt(aEnd) === 0x3f) {
    return { form: 'absolute', scheme, authority, rawPath: '/', path: '/', query: target.slice(aEnd + 1) };
  }
  return pathAndQuery('absolute', scheme, authority, target, aEnd);
}

function pathAndQuery(form: TargetForm, scheme: string | undefined, authority: string | undefined, target: string, from: number): RequestTarget {
  const q = target.indexOf('?', from);
  const rawPath = q < 0 ? (from === 0 ? target : target.slice(from)) : target.slice(from, q);
  const path = percentDecode(rawPath, false, 'path');
  if (path.indexOf('\0') >= 0) throw bad('NUL in path', target, 'path');
  return { form, scheme, authority, rawPath, path, query: q < 0 ? undefined : target.slice(q + 1) };
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Percent-decodes `s`: each run of %XX escapes is one UTF-8 byte sequence and must be valid.
 * With `plusAsSpace` a '+' is a space (form encoding). A '%' not followed by two hex digits, or
 * bytes that are not UTF-8, throw H1Error 'ERR_H1_TARGET' naming `field`.
 */
export function percentDecode(s: string, plusAsSpace = false, field = 'path'): string {
  const pct = s.indexOf('%');
  if (pct < 0 && (!plusAsSpace || s.indexOf('+') < 0)) return s;
  let out = '';
  let lit = 0;
  let bytes: Uint8Array | undefined;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i > lit) out += s.slice(lit, i);
      // a run of escapes decodes as one UTF-8 sequence; at most a third of the rest are escapes
      if (bytes === undefined || bytes.length < (n - i) / 3) bytes = new Uint8Array(Math.ceil((n - i) / 3));
      let k = 0;
      while (i < n && s.charCodeAt(i) === 0x25) {
        const h = i + 2 < n ? hexVal(s.charCodeAt(i + 1)) : -1;
        const l = h >= 0 ? hexVal(s.charCodeAt(i + 2)) : -1;
        if (l < 0) throw new H1Error('ERR_H1_TARGET', `bad percent escape at ${i} in ${field}`, { field, index: i });
        bytes[k++] = (h << 4) | l;
        i += 3;
      }
      try {
        out += utf8Decode(bytes, 0, k);
      } catch {
        throw new H1Error('ERR_H1_TARGET', `percent escapes before ${i} in ${field} are not UTF-8`, { field, index: i });
      }
      lit = i;
    } else if (c === 0x2b && plusAsSpace) {
      out += s.slice(lit, i) + ' ';
      lit = ++i;
    } else i++;
  }
  return lit < n ? out + s.slice(lit) : out;
}

/**
 * The query's name/value pairs, decoded, in order. Pieces are split on '&'; a piece without '='
 * has the value ''; empty pieces are skipped.
 */
export function parseQuery(query: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let start = 0;
  const n = query.length;
  while (start <= n) {
    let amp = query.indexOf('&', start);
    if (amp < 0) amp = n;
    if (amp > start) {
      const eq = query.indexOf('=', start);
      if (eq >= 0 && eq < amp) {
        out.push([percentDecode(query.slice(start, eq), true, 'query'), percentDecode(query.slice(eq + 1, amp), true, 'query')]);
      } else out.push([percentDecode(query.slice(start, amp), true, 'query'), '']);
    }
    start = amp + 1;
  }
  return out;
}
