/**
 * Header fields as the parser hands them out, and the byte classes of RFC 9110 §5 that both the
 * parser and the serializer check against.
 *
 * Fields are kept in one flat array, name then value, in the order received: no per-field tuple,
 * and duplicates (Set-Cookie) stay separate. Names are lowercased once, on arrival, so lookups are
 * plain string compares. Values are the field's octets as Latin-1 (RFC 9110 §5.5: obs-text is
 * opaque), with surrounding whitespace removed.
 */
import { latin1 } from '../../util/latin1.js';

export { latin1 };

/** tchar (RFC 9110 §5.6.2): what a field name, method or coding name is made of. */
export const TCHAR = /* @__PURE__ */ byteClass("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

/** field-vchar plus SP and HTAB (RFC 9110 §5.5): what may appear inside a field value or a reason phrase. */
export const FIELD_CHAR = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256);
  t[0x09] = 1;
  for (let c = 0x20; c < 0x7f; c++) t[c] = 1;
  for (let c = 0x80; c < 0x100; c++) t[c] = 1;
  return t;
})();

function byteClass(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}


export class Headers {
  /** name0, value0, name1, value1, …: names lowercase, in arrival order */
  readonly fields: string[];

  constructor(fields: string[] = []) {
    this.fields = fields;
  }

  /** number of field lines */
  get size(): number {
    return this.fields.length >> 1;
  }

  /** The first value of `name` (lowercase), or undefined. */
  get(name: string): string | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
    return undefined;
  }

  /** Every value of `name` (lowercase), in order. */
  getAll(name: string): string[] {
    const out: string[] = [];
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) out.push(f[i + 1] as string);
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** [name, value] pairs, for iteration and tests. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) out.push([f[i] as string, f[i + 1] as string]);
    return out;
  }
}

/**
 * The elements of a comma-separated list value (RFC 9110 §5.6.1), trimmed and lowercased, empty
 * elements dropped: what Connection, Transfer-Encoding and Upgrade carry.
 */
export function listTokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = owsTrim(part);
    if (t !== '') out.push(t.toLowerCase());
  }
  return out;
}

/**
 * `s` without leading and trailing SP and HTAB (RFC 9110 OWS). Not String.prototype.trim, which
 * also strips NBSP (0xA0): "chunked\xA0" must stay an unknown coding, as other parsers see it.
 */
export function owsTrim(s: string): string {
  let a = 0;
  let z = s.length;
  while (a < z && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (z > a && (s.charCodeAt(z - 1) === 0x20 || s.charCodeAt(z - 1) === 0x09)) z--;
  return a === 0 && z === s.length ? s : s.slice(a, z);
}

/** True when the comma list `value` has the element `token` (lowercase), ignoring case. */
export function hasToken(value: string, token: string): boolean {
  // the common single-token case without splitting
  if (value.length === token.length) return value.toLowerCase() === token;
  return listTokens(value).includes(token);
}

/** Slots in a StringCache (a power of two). */
const CACHE_SLOTS = 128;
/** Longer strings are decoded every time: they rarely repeat and would pin memory. */
const CACHE_MAX_LENGTH = 96;

/**
 * Remembers recently decoded field names and values, so a connection that keeps sending the same
 * fields (every browser does) gets the same string back without allocating. Direct-mapped by a
 * hash the parser computes while it validates the bytes anyway; a hit is confirmed byte by byte.
 * Per parser, not global: module state may be frozen in a preloaded XS module.
 */
export class StringCache {
  private readonly slots: Array<string | undefined> = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);

  /** b[s, e) as Latin-1; with `lower`, A-Z read as a-z (field names). */
  get(b: Uint8Array, s: number, e: number, hash: number, lower: boolean): string {
    const n = e - s;
    if (n > CACHE_MAX_LENGTH) return lower ? latin1(b, s, e).toLowerCase() : latin1(b, s, e);
    const slot = hash & (CACHE_SLOTS - 1);
    const k = this.slots[slot];
    if (k !== undefined && k.length === n) {
      let i = 0;
      if (lower) {
        for (; i < n; i++) {
          const c = b[s + i] as number;
          if (k.charCodeAt(i) !== (c >= 0x41 && c <= 0x5a ? c | 0x20 : c)) break;
        }
      } else for (; i < n && k.charCodeAt(i) === b[s + i]; i++);
      if (i === n) return k;
    }
    const str = lower ? latin1(b, s, e).toLowerCase() : latin1(b, s, e);
    this.slots[slot] = str;
    return str;
  }
}
