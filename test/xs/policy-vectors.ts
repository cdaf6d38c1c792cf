/**
 * Deterministic results from the Secure Streams policy core, computed the same way in Node and
 * inside XS and then compared (xs-policy.test.ts). The policy texts come in as an argument: the
 * test embeds them into the XS bundle as strings, since XS has no file system here. Pure
 * ECMAScript importing only src/; everything returned is plain JSON.
 */
import {
  MetadataError, PolicyParseError, PolicyParser, applyOverlay, expandMetadata, parsePolicy, serializePolicy,
} from '../../src/ss/policy/index.js';
import type { Policy } from '../../src/ss/policy/index.js';
import { utf8Encode } from '../../src/util/utf8.js';

/** FNV-1a 32 over bytes or the code units of a string, as 8 hex digits. */
function fnv(x: Uint8Array | string): string {
  let h = 0x811c9dc5;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    h ^= typeof x === 'string' ? x.charCodeAt(i) : (x[i] as number);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function digest(p: Policy): Record<string, unknown> {
  const json = serializePolicy(p);
  return {
    release: p.release ?? null,
    product: p.product ?? null,
    retry: Object.keys(p.retry).map((k) => {
      const r = p.retry[k]!;
      return [k, r.table, r.conceal, r.jitterPercent, r.secsSinceValidPing, r.secsSinceValidHangup];
    }),
    certs: Object.keys(p.certs).map((k) => [k, p.certs[k]!.length, fnv(p.certs[k]!)]),
    trustStores: Object.keys(p.trustStores).map((k) => [k, p.trustStores[k]!.certs]),
    streamtypes: Object.keys(p.streamtypes).map((k) => {
      const s = p.streamtypes[k]!;
      return [k, s.protocol, s.port ?? null, s.tls, s.retry ?? null, s.tlsTrustStore ?? null, s.metadata.map((m) => m.name)];
    }),
    warnings: p.warnings.map((w) => `${w.code}@${w.path}`),
    serialized: [json.length, fnv(json)],
  };
}

function chunks<T extends string | Uint8Array>(x: T, size: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < x.length; i += size) out.push(x.slice(i, i + size) as T);
  return out;
}

function refusal(text: string): unknown[] {
  try {
    parsePolicy(text);
    return ['accepted'];
  } catch (e) {
    if (!(e instanceof PolicyParseError)) return ['untyped', String(e)];
    return [e.code, e.path, e.line ?? null, e.column ?? null, e.expected];
  }
}

const BAD = [
  '{\n  "release": "1",\n  "product": x\n}',
  '{ "s": [{ "a": {} }, { "b": {} }, { "c": {} }, { "mqtt_ws": { "protocol": "mqtt", "port": 70000 } }] }',
  '{ "s": [{ "a": { "protocol": "http" } }] }',
  '{ "s": [{ "a": { "retry": "default" } }], "retry": [{ "default": { "backoff": [1] } }] }',
  '{ "s": [{ "a": {} }, { "a": {} }] }',
  '{ "certs": [{ "c": "MIIB*kTCB" }] }',
  '{ "retry": [{ "r": { "backoff": [1, 2, 3, 4, 5, 6, 7, 8, 9] } }] }',
  '{ "s": [{ "a": { "endpoint": "${host}" } }] }',
  '{ "s": [{ "a": { "tls": "yes" } }] }',
  '{ "s": [',
];

export function policyVectors(texts: Readonly<Record<string, string>>): Record<string, unknown> {
  const policies: Record<string, unknown> = {};
  for (const name of Object.keys(texts).sort()) {
    const text = texts[name] as string;
    const p = parsePolicy(text);
    // streamed: text in 64-character chunks, UTF-8 bytes in 64-byte chunks, and serialize → parse
    const parser = new PolicyParser();
    for (const c of chunks(utf8Encode(text), 64)) parser.write(c);
    const same = [
      serializePolicy(parsePolicy(chunks(text, 64))) === serializePolicy(p),
      serializePolicy(parser.end()) === serializePolicy(p),
      serializePolicy(parsePolicy(serializePolicy(p))) === serializePolicy(p),
    ];
    policies[name] = { ...digest(p), same };
  }

  const st = parsePolicy('{ "s": [{ "ota": { "http_url": "fw/${variant}/${file}", "metadata": [{ "variant": "", "file": "" }] } }] }').streamtypes.ota!;
  const expansions = [
    ['fw/${variant}/${file}', { variant: 'esp32', file: 'a.bin' }],
    ['fw/${variant}/${file}', {}],
    ['$5 $${file} ${variant', { file: 'f' }],
    ['${nope}', {}],
  ].map(([tpl, values]) => {
    try {
      return expandMetadata(tpl as string, st, values as Record<string, string>);
    } catch (e) {
      return e instanceof MetadataError ? [e.code, e.detail.name, e.detail.offset] : String(e);
    }
  });

  const base = parsePolicy(texts['01-minimal-secure-streams.json'] ?? '{}');
  const overlay = applyOverlay(base, '{ "s": [{ "captive_portal_detect": { "endpoint": "google.com", "http_url": "/", "port": 8080, "tls": false } }] }');

  return { policies, refusals: BAD.map(refusal), expansions, overlay: digest(overlay), big: bigPolicy(texts) };
}

/**
 * lws policy 09 with its streamtypes repeated under new names until the pretty-printed text is
 * over 40 KB, fed to the parser as ONE Uint8Array: XS once kept a stack slot per `continue` in the
 * tokenizer's switch, so a chunk this size overflowed its stack.
 */
function bigPolicy(texts: Readonly<Record<string, string>>): Record<string, unknown> {
  const src = texts['09-minimal-secure-streams-testsfail.json'];
  if (src === undefined) return { missing: true };
  const doc = JSON.parse(src) as { s: Record<string, unknown>[] };
  const orig = doc.s;
  const s: Record<string, unknown>[] = [];
  for (let copy = 0; JSON.stringify({ ...doc, s }, null, 2).length < 40_000; copy++) {
    for (const entry of orig) {
      const name = Object.keys(entry)[0] as string;
      s.push({ [copy === 0 ? name : `${name}-${copy}`]: entry[name] });
    }
  }
  // XS indents the inside of an empty [] or {}; Node does not: make both texts the same
  const text = JSON.stringify({ ...doc, s }, null, 2).replace(/\[\s+\]/g, '[]').replace(/\{\s+\}/g, '{}');
  const parser = new PolicyParser();
  parser.write(utf8Encode(text));
  const p = parser.end();
  return { chars: text.length, ...digest(p), same: serializePolicy(p) === serializePolicy(parsePolicy(text)) };
}
