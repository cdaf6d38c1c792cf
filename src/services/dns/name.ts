/**
 * Domain names: presentation text ↔ labels ↔ wire form (RFC 1035 sections 2.3.4, 3.1, 4.1.4,
 * 5.1).
 *
 * Text is the master-file presentation form without the trailing dot ("." alone is the root):
 * "\." is a dot inside a label, "\\" a backslash, "\DDD" any byte; only printable ASCII may
 * appear unescaped, so a name decoded from the wire can always be encoded back to the same bytes.
 * IDNA (punycode) is the caller's business: a non-ASCII character is refused, not guessed at.
 *
 * Limits, checked both ways: a label is 1..63 bytes, a name at most 255 bytes on the wire.
 */
import { DnsNameError } from './errors.js';

export const MAX_LABEL = 63;
export const MAX_NAME_WIRE = 255;

const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** The labels of a text name; the root ("" or ".") has none. Throws DnsNameError. */
export function parseName(name: string): Uint8Array[] {
  const labels: Uint8Array[] = [];
  const n = name.length;
  if (n === 0 || (n === 1 && name.charCodeAt(0) === DOT)) return labels;
  const buf = new Uint8Array(MAX_LABEL + 1);
  let len = 0;
  let wire = 1; // the root byte
  const close = (): void => {
    if (len === 0) throw new DnsNameError(name, 'empty label');
    labels.push(buf.slice(0, len));
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw new DnsNameError(name, `longer than ${MAX_NAME_WIRE} bytes on the wire`);
    len = 0;
  };
  for (let i = 0; i < n; i++) {
    let c = name.charCodeAt(i);
    if (c === DOT) {
      if (i === n - 1) break; // one trailing dot: fully qualified, same name
      close();
      continue;
    }
    if (c === BACKSLASH) {
      const d = name.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
        const text = name.slice(i + 1, i + 4);
        if (!/^[0-9]{3}$/.test(text) || Number(text) > 255) throw new DnsNameError(name, `bad escape \\${text}`);
        c = Number(text);
        i += 3;
      } else if (d >= 0x21 && d <= 0x7e) {
        c = d;
        i++;
      } else throw new DnsNameError(name, 'a backslash must escape a printable character or \\DDD');
    } else if (c < 0x21 || c > 0x7e) {
      throw new DnsNameError(name, c > 0x7e ? 'non-ASCII character (convert to punycode first)' : 'unescaped space or control character');
    }
    if (len === MAX_LABEL) throw new DnsNameError(name, `a label is longer than ${MAX_LABEL} bytes`);
    buf[len++] = c;
  }
  close();
  return labels;
}

/** One label's presentation text, escaping what must be. */
export function labelText(b: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) {
    const c = b[i] as number;
    if (c === DOT || c === BACKSLASH) s += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${c < 10 ? '00' : c < 100 ? '0' : ''}${c}`;
  }
  return s;
}

/** Text of a label list; "." for the root. */
export function formatName(labels: readonly Uint8Array[]): string {
  if (labels.length === 0) return '.';
  return labels.map((l) => labelText(l, 0, l.length)).join('.');
}

/** ASCII-only lower case: DNS compares names case-insensitively on A-Z alone (RFC 4343). */
export function lowerAscii(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/**
 * The canonical form of a name the user gave: validated, escapes normalised, lower case, no
 * trailing dot. Cache keys and in-flight joins use it. Throws DnsNameError.
 */
export function canonicalName(name: string): string {
  return lowerAscii(formatName(parseName(name)));
}
