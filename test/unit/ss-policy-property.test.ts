/**
 * Property tests of the policy parser:
 * - random valid policies (every streamtype key, unknown keys, several entries per object) parse
 *   to what was generated, and serialize → parse gives the same policy, whole or chunked;
 * - random mutations of valid policies (character flips, truncation, deletions, a value swapped
 *   for a random JSON value, bad UTF-8) only ever produce a PolicyParseError — never another
 *   exception.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { PROTOCOLS, PolicyParseError, STREAMTYPE_KEYS, parsePolicy, serializePolicy } from '../../src/ss/policy/index.js';
import type { Policy } from '../../src/ss/policy/index.js';

type J = Record<string, unknown>;

const LWS_DIR = new URL('../../../shared/lws-policies/', import.meta.url).pathname;
const LWS_TEXTS = readdirSync(LWS_DIR).filter((f) => f.endsWith('.json')).map((f) => readFileSync(LWS_DIR + f, 'utf8'));
const KNOWN_ST_KEYS = new Set(STREAMTYPE_KEYS.map((k) => k.json));

// names that are not integer-like, so record key order is insertion order
const nameArb = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,12}$/);
const uniqueNames = (max: number): fc.Arbitrary<string[]> => fc.uniqueArray(nameArb, { maxLength: max });
const textArb = fc.string({ maxLength: 24, unit: 'binary' }).filter((s) => !s.includes('$'));
const extraArb = fc.option(fc.tuple(nameArb.map((n) => `x_${n}`), fc.jsonValue({ maxDepth: 3 })), { nil: undefined });

/** A streamtype's choices, resolved against the defined names when the policy is assembled. */
const streamtypeArb = fc.record({
  keys: fc.subarray(STREAMTYPE_KEYS.map((k) => k.json)),
  values: fc.array(fc.oneof(fc.nat(), fc.boolean(), textArb), { minLength: STREAMTYPE_KEYS.length, maxLength: STREAMTYPE_KEYS.length }),
  metadata: fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9_]{1,31}$/), { maxLength: 4 }),
  mdValues: fc.array(fc.string({ maxLength: 40 }), { minLength: 4, maxLength: 4 }),
  tplRefs: fc.array(fc.nat(), { maxLength: 3 }),
  respmap: fc.array(fc.tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 16 }),
  extra: extraArb,
});

const policyArb = fc.record({
  release: fc.option(textArb, { nil: undefined }),
  product: fc.option(textArb, { nil: undefined }),
  schema: fc.option(fc.nat(9), { nil: undefined }),
  retry: uniqueNames(3).chain((names) =>
    fc.tuple(
      ...names.map((n) =>
        fc.record({
          name: fc.constant(n),
          backoff: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 8 }),
          conceal: fc.integer({ min: 0, max: 0xffff }),
          jitterpc: fc.integer({ min: 0, max: 255 }),
          svalidping: fc.integer({ min: 0, max: 0xffff }),
          extra: extraArb,
        }),
      ),
    ),
  ),
  certs: uniqueNames(4).chain((names) => fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.boolean())))),
  stores: fc.array(fc.tuple(nameArb, fc.array(fc.nat(), { minLength: 1, maxLength: 6 })), { maxLength: 2 }),
  auth: uniqueNames(2),
  streamtypes: uniqueNames(5).chain((names) => fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), streamtypeArb)))),
  group: fc.boolean(),
  extra: extraArb,
});

type Gen = typeof policyArb extends fc.Arbitrary<infer T> ? T : never;

/** Turns the choices into a valid policy document (plus the cert bytes it holds). */
function assemble(g: Gen): { doc: J; certs: Map<string, Uint8Array> } {
  const doc: J = {};
  if (g.release !== undefined) doc.release = g.release;
  if (g.product !== undefined) doc.product = g.product;
  if (g.schema !== undefined) doc['schema-version'] = g.schema;
  const retryNames = g.retry.map((r) => r.name);
  if (g.retry.length) {
    doc.retry = g.retry.map((r) => {
      const e: J = { backoff: r.backoff, conceal: r.conceal, jitterpc: r.jitterpc, svalidping: r.svalidping };
      if (r.extra) e[r.extra[0]] = r.extra[1];
      return { [r.name]: e };
    });
  }
  const certs = new Map<string, Uint8Array>();
  if (g.certs.length) {
    doc.certs = g.certs.map(([n, bytes, url]) => {
      certs.set(n, bytes);
      return { [n]: Buffer.from(bytes).toString(url ? 'base64url' : 'base64') };
    });
  }
  const certNames = [...certs.keys()];
  const stores = new Map<string, string[]>();
  if (certNames.length) for (const [n, picks] of g.stores) if (!stores.has(n)) stores.set(n, picks.map((i) => certNames[i % certNames.length] as string));
  if (stores.size) doc.trust_stores = [...stores].map(([name, stack]) => ({ name, stack }));
  if (g.auth.length) doc.auth = g.auth.map((name, i) => ({ name, type: 'sigv4', blob: i % 4 }));
  const refs: Record<string, string[]> = { retry: retryNames, trustStores: [...stores.keys()], certs: certNames, auth: g.auth };

  const sts = g.streamtypes.map(([name, c]) => {
    const st: J = {};
    const md = c.metadata;
    c.keys.forEach((key) => {
      const def = STREAMTYPE_KEYS.find((k) => k.json === key)!;
      const raw = c.values[STREAMTYPE_KEYS.indexOf(def)];
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? raw.length : raw ? 1 : 0;
      const kind = def.kind;
      switch (kind.k) {
        case 'string':
          st[key] = kind.template && md.length
            ? `${typeof raw === 'string' ? raw : ''}${c.tplRefs.map((r) => `\${${md[r % md.length]}}/`).join('')}`
            : typeof raw === 'string' ? raw : String(raw);
          break;
        case 'flag':
        case 'bool':
          st[key] = n % 2 === 1;
          break;
        case 'uint':
          st[key] = kind.min + (n % (kind.max - kind.min + 1));
          break;
        case 'protocol':
          st[key] = PROTOCOLS[n % PROTOCOLS.length];
          break;
        case 'ref': {
          const pool = refs[kind.to] as string[];
          if (pool.length) st[key] = pool[n % pool.length];
          break;
        }
        case 'metadata':
          if (md.length) st[key] = md.map((m, i) => ({ [m]: c.mdValues[i] }));
          break;
        case 'respmap':
          st[key] = c.respmap.map(([resp, state]) => ({ [String(resp)]: state }));
          break;
        case 'plugins':
          st[key] = [];
          break;
      }
    });
    // a template without declared metadata must not reference any
    if (!st.metadata) for (const def of STREAMTYPE_KEYS) if (def.kind.k === 'string' && def.kind.template && typeof st[def.json] === 'string') st[def.json] = (st[def.json] as string).replace(/\$/g, '');
    if (c.extra) st[c.extra[0]] = c.extra[1];
    return [name, st] as const;
  });
  if (sts.length) {
    // several streamtypes per s[] object, or one each
    doc.s = g.group ? [Object.fromEntries(sts.slice(0, 2)), ...sts.slice(2).map(([n, st]) => ({ [n]: st }))] : sts.map(([n, st]) => ({ [n]: st }));
  }
  if (g.extra) doc[g.extra[0]] = g.extra[1];
  return { doc, certs };
}

function withoutWarnings(p: Policy): Omit<Policy, 'warnings'> {
  const { warnings: _w, ...rest } = p;
  return rest;
}

function chunked(text: string, sizes: number[]): string[] {
  const out: string[] = [];
  for (let off = 0, i = 0; off < text.length; i++) {
    const n = 1 + ((sizes[i % sizes.length] ?? 0) % 97);
    out.push(text.slice(off, off + n));
    off += n;
  }
  return out;
}

describe('random valid policies', () => {
  test('parse to what was generated; serialize → parse and chunked parses give the same policy', () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (g, sizes) => {
        const { doc, certs } = assemble(g);
        const text = JSON.stringify(doc);
        const p = parsePolicy(text);

        expect(Object.keys(p.streamtypes)).toEqual(g.streamtypes.map(([n]) => n));
        expect(Object.keys(p.retry)).toEqual(g.retry.map((r) => r.name));
        for (const r of g.retry) expect(p.retry[r.name]?.table).toEqual(r.backoff);
        for (const [n, bytes] of certs) expect(Array.from(p.certs[n] as Uint8Array)).toEqual(Array.from(bytes));
        for (const [name, st] of Object.entries(p.streamtypes)) {
          const src = (g.streamtypes.find(([n]) => n === name) as [string, { metadata: string[] }])[1];
          expect(st.metadata.map((m) => m.name)).toEqual((doc.s as J[]).some((o) => (o[name] as J | undefined)?.metadata) ? src.metadata : []);
        }
        const unknown = (g.extra ? 1 : 0) + g.retry.filter((r) => r.extra).length + g.streamtypes.filter(([, c]) => c.extra).length;
        expect(p.warnings.filter((w) => w.code === 'WARN_POLICY_UNKNOWN_KEY')).toHaveLength(unknown);

        const again = parsePolicy(serializePolicy(p));
        expect(withoutWarnings(again)).toEqual(withoutWarnings(p));
        expect(again.warnings.length).toBe(p.warnings.length);
        expect(parsePolicy(chunked(text, sizes))).toEqual(p);
      }),
      { numRuns: 300 },
    );
  });

  test('unknown keys keep exactly the JSON value that was written', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), (a, b) => {
        const p = parsePolicy(JSON.stringify({ x_top: a, s: [{ st: { x_st: b } }] }));
        expect(p.extra.x_top).toEqual(JSON.parse(JSON.stringify(a)));
        expect(p.streamtypes.st?.extra.x_st).toEqual(JSON.parse(JSON.stringify(b)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('random mutations only produce typed errors', () => {
  const corpus = fc.oneof(
    fc.constantFrom(...LWS_TEXTS),
    policyArb.map((g) => JSON.stringify(assemble(g).doc, null, 1)),
  );

  function outcome(input: string | Uint8Array): string {
    try {
      parsePolicy(input);
      return 'ok';
    } catch (e) {
      if (!(e instanceof PolicyParseError)) throw e; // anything else fails the property
      expect(e.code).toMatch(/^ERR_POLICY_[A-Z0-9_]+$/);
      expect(typeof e.path).toBe('string');
      expect(e.expected.length).toBeGreaterThan(0);
      return `${e.code} ${e.path}`;
    }
  }

  const swapAt = (v: unknown, pick: number, by: unknown): unknown => {
    // replace the pick-th value in a depth-first walk
    let n = pick;
    const walk = (x: unknown): unknown => {
      if (n-- === 0) return by;
      if (Array.isArray(x)) return x.map(walk);
      if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
      return x;
    };
    return walk(v);
  };

  test('character flips, truncations and deletions', () => {
    fc.assert(
      fc.property(
        corpus,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '0', '9', '-', 'e', 't', '\\', 'x', '$', 'é', '\u0000', ' ')), { maxLength: 4 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('flip', 'truncate', 'delete'),
        (text, flips, a, b, how) => {
          let m = text;
          if (how === 'flip') for (const [i, c] of flips) m = m.slice(0, i % m.length) + c + m.slice((i % m.length) + 1);
          else if (how === 'truncate') m = m.slice(0, a % m.length);
          else m = m.slice(0, a % m.length) + m.slice((a % m.length) + (b % 50));
          // the same outcome from the UTF-8 bytes (where a lone surrogate is U+FFFD)
          const wellFormed = m.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
          expect(outcome(new TextEncoder().encode(m))).toBe(outcome(wellFormed));
          outcome(m);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('a value swapped for a random JSON value (type swaps)', () => {
    fc.assert(
      fc.property(corpus, fc.nat(), fc.jsonValue({ maxDepth: 3 }), (text, pick, by) => {
        const doc = JSON.parse(text) as unknown;
        outcome(JSON.stringify(swapAt(doc, pick % 400, by)));
      }),
      { numRuns: 1500 },
    );
  });

  test('byte flips in the UTF-8 text', () => {
    fc.assert(
      fc.property(corpus, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (text, flips) => {
        const bytes = new TextEncoder().encode(text);
        for (const [i, v] of flips) bytes[i % bytes.length] = v;
        outcome(bytes);
      }),
      { numRuns: 1000 },
    );
  });
});
