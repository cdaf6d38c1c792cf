/**
 * The streaming Secure Streams policy parser: lws' lws_ss_policy_parse() on the JsonStream
 * tokenizer. Chunks go in as they arrive (a fetched policy is read this way); what is held is the
 * tokenizer's bounded state, one string value (maxStringLength) and the policy built so far —
 * certificates are base64-decoded piece by piece as their text streams past.
 *
 * Follows lws (lib/secure-streams/policy-json.c):
 * - `s` is an array of objects, each holding one or more streamtypes; `certs` objects hold one
 *   or more certificates; a `metadata` object declares one or more names;
 * - definitions come before references: a streamtype naming a retry, trust store, cert or auth
 *   not yet defined is refused, as is a trust store naming a cert not yet defined;
 * - a flag key only ever sets its flag (see keys.ts);
 * - limits: 8 backoff delays, 6 certs per trust store, 16 http_resp_map entries, metadata names
 *   of 31 characters and values of 255.
 * Stricter than lws, so a mistake is reported instead of silently misread: types are checked
 * (lws atoi()s whatever it gets), integers are range-checked (lws truncates into its C type),
 * names may not be defined twice, a retry needs its backoff, `${name}` in endpoint, http_url
 * and mqtt topics must name declared metadata, and the JSON must be well formed to its end.
 *
 * With `base` set it parses an overlay (overlay.ts) instead.
 */
import { makeRetryPolicy } from '../../loop/retry.js';
import { UsageError } from '../../util/errors.js';
import { CertStream } from './cert-stream.js';
import { MetadataError, PolicyParseError } from './errors.js';
import { JsonStream, JsonSyntaxError } from './json-stream.js';
import type { JsonSink } from './json-stream.js';
import {
  AUTH_BLOB_SLOTS, BACKOFF_MAX, METADATA_NAME_MAX, METADATA_VALUE_MAX, RESPMAP_MAX, STREAMTYPE_KEY,
  STREAMTYPE_KEYS, TRUST_STORE_MAX,
} from './keys.js';
import type { StreamtypeKey } from './keys.js';
import { MetadataExpander } from './metadata.js';
import { PROTOCOLS, defaultStreamtype } from './policy.js';
import { PolicyReader, T_BOOL, T_NULL, T_NUMBER, T_STRING, describe, isIntegerText, scalarValue } from './reader.js';
import type { Scalar } from './reader.js';
import type {
  AuthPolicy, JsonValue, MetadataDecl, MetricPolicy, Policy, PolicyRetry, Protocol, RespMapEntry, Streamtype,
  TrustStore,
} from './policy.js';

export interface PolicyParserOptions {
  /** parse an overlay on top of this policy (lws_ss_policy_overlay) */
  base?: Policy;
  /** deepest JSON nesting; default 12, lejp's LEJP_MAX_DEPTH (a policy needs 6) */
  maxDepth?: number;
  /** longest string value (certificates excepted), characters; default 2048 */
  maxStringLength?: number;
  /** largest decoded certificate, bytes; default 8192 */
  maxCertBytes?: number;
}

export type PolicyInput = string | Uint8Array | Iterable<string | Uint8Array>;

// frames: what the container being read is
const F_ROOT = 0;
const F_SECTION = 1; // retry[] certs[] trust_stores[] metrics[] auth[] s[]
const F_RETRY_ITEM = 2; // { "<name>": {...} }
const F_RETRY = 3;
const F_BACKOFF = 4;
const F_CERTS_ITEM = 5; // { "<name>": "<base64>" }
const F_TRUST = 6;
const F_STACK = 7;
const F_METRIC = 8;
const F_AUTH = 9;
const F_S_ITEM = 10; // { "<streamtype>": {...} }
const F_ST = 11;
const F_METADATA = 12;
const F_MD_ITEM = 13;
const F_RESPMAP = 14;
const F_RM_ITEM = 15;
const F_PLUGINS = 16;
const F_CAPTURE = 17; // the value of a key lwsx does not know

interface Frame {
  t: number;
  key: string | undefined;
  // the entity being built, or the captured container
  data: any;
  // capture root: where the finished value goes
  store?: (v: JsonValue) => void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Rec<T> = Record<string, T>;
interface RetryBuild {
  name: string;
  table: number[] | undefined;
  init: { conceal?: number; jitterPercent?: number; secsSinceValidPing?: number; secsSinceValidHangup?: number };
  extra: Rec<JsonValue>;
}
type StBuild = Mutable<Omit<Streamtype, 'metadata' | 'httpRespMap' | 'plugins' | 'extra'>> & {
  metadata: MetadataDecl[];
  httpRespMap: RespMapEntry[];
  plugins: string[];
  extra: Rec<JsonValue>;
};

const SECTIONS = new Set(['retry', 'certs', 'trust_stores', 'metrics', 'auth', 's']);
const TOP_STRINGS: Readonly<Rec<'release' | 'product' | 'viaSocks5'>> = { release: 'release', product: 'product', 'via-socks5': 'viaSocks5' };
const RETRY_KEYS = new Set(['backoff', 'conceal', 'jitterpc', 'svalidping', 'svalidhup']);
const TRUST_KEYS = new Set(['name', 'stack']);
const METRIC_KEYS = new Set(['name', 'us_schedule', 'us_halflife', 'min_outlier', 'report']);
const AUTH_KEYS = new Set(['name', 'type', 'streamtype', 'blob']);
const U16 = 0xffff;
const U32 = 0xffffffff;

function rec<T>(from?: Readonly<Rec<T>>): Rec<T> {
  const r = Object.create(null) as Rec<T>;
  if (from) for (const k of Object.keys(from)) r[k] = from[k] as T;
  return r;
}

function has(r: Readonly<Rec<unknown>>, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(r, k);
}

function deepFreeze(v: JsonValue): JsonValue {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Rec<JsonValue>)[k] as JsonValue);
    Object.freeze(v);
  }
  return v;
}

export class PolicyParser implements JsonSink {
  private readonly tok: JsonStream;
  private readonly r: PolicyReader;
  private readonly base: Policy | undefined;
  private readonly maxString: number;
  private readonly frames: Frame[] = [];
  private sbuf = '';
  private finished = false;

  // the policy being built
  private release: string | undefined;
  private product: string | undefined;
  private schemaVersion: number | undefined;
  private viaSocks5: string | undefined;
  private readonly retry: Rec<PolicyRetry>;
  private readonly certs: Rec<Uint8Array>;
  private readonly trustStores: Rec<TrustStore>;
  private readonly metrics: Rec<MetricPolicy>;
  private readonly auth: Rec<AuthPolicy>;
  private readonly streamtypes: Rec<Streamtype>;
  private readonly extra: Rec<JsonValue>;

  // the certificate being decoded
  private readonly cert: CertStream;
  private certName = '';

  constructor(opts: PolicyParserOptions = {}) {
    this.tok = new JsonStream(this, { maxDepth: opts.maxDepth ?? 12 });
    this.r = new PolicyReader(this.tok);
    this.cert = new CertStream(this.r, opts.maxCertBytes ?? 8192);
    this.base = opts.base;
    this.maxString = opts.maxStringLength ?? 2048;
    const b = opts.base;
    this.release = b?.release;
    this.product = b?.product;
    this.schemaVersion = b?.schemaVersion;
    this.viaSocks5 = b?.viaSocks5;
    this.retry = rec(b?.retry);
    this.certs = rec(b?.certs);
    this.trustStores = rec(b?.trustStores);
    this.metrics = rec(b?.metrics);
    this.auth = rec(b?.auth);
    this.streamtypes = rec(b?.streamtypes);
    this.extra = rec(b?.extra);
  }

  /** Feeds the next chunk of the document (text, or UTF-8 bytes split anywhere). */
  write(chunk: string | Uint8Array): void {
    if (this.finished) throw new UsageError('ERR_POLICY_PARSER_DONE', 'policy parser: write after end() or an error');
    this.guard(() => this.tok.write(chunk));
  }

  /** The document is complete: returns the frozen policy. */
  end(): Policy {
    if (this.finished) throw new UsageError('ERR_POLICY_PARSER_DONE', 'policy parser: end() after end() or an error');
    this.guard(() => this.tok.end());
    this.finished = true;
    return Object.freeze({
      release: this.release,
      product: this.product,
      schemaVersion: this.schemaVersion,
      viaSocks5: this.viaSocks5,
      retry: Object.freeze(this.retry),
      certs: Object.freeze(this.certs),
      trustStores: Object.freeze(this.trustStores),
      metrics: Object.freeze(this.metrics),
      auth: Object.freeze(this.auth),
      streamtypes: Object.freeze(this.streamtypes),
      extra: Object.freeze(this.extra),
      warnings: Object.freeze(this.r.warnings),
    });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.finished = true;
      if (e instanceof JsonSyntaxError) {
        const d = e.detail;
        throw new PolicyParseError(
          'ERR_POLICY_JSON',
          `policy is not valid JSON: ${d.problem} at line ${d.line} column ${d.column} (${d.path})`,
          { path: d.path, expected: 'well-formed JSON', actual: d.problem, line: d.line, column: d.column, offset: d.offset },
          e,
        );
      }
      throw e;
    }
  }

  // ---- JsonSink ----

  openObject(): void {
    const f = this.top();
    if (!f) {
      this.push(F_ROOT, undefined);
      return;
    }
    const k = f.key as string;
    switch (f.t) {
      case F_CAPTURE:
        return this.captureChild(f, Object.create(null) as Rec<JsonValue>);
      case F_ROOT:
        if (SECTIONS.has(k)) return this.r.typeError('an array', 'an object');
        if (has(TOP_STRINGS, k)) return this.r.typeError('a string', 'an object');
        if (k === 'schema-version') return this.r.typeError('an integer', 'an object');
        return this.capture(Object.create(null) as Rec<JsonValue>, (v) => (this.extra[k] = v));
      case F_SECTION:
        return this.openSectionItem(f.data as string);
      case F_RETRY_ITEM:
        return this.openRetry(k);
      case F_RETRY:
        if (RETRY_KEYS.has(k)) return this.r.typeError(k === 'backoff' ? 'an array of delays in ms' : 'an integer', 'an object');
        return this.capture(Object.create(null) as Rec<JsonValue>, (v) => (f.data.extra[k] = v));
      case F_TRUST:
        if (TRUST_KEYS.has(k)) return this.r.typeError(k === 'name' ? 'a string' : 'an array of cert names', 'an object');
        return this.capture(Object.create(null) as Rec<JsonValue>, (v) => (f.data.extra[k] = v));
      case F_METRIC:
      case F_AUTH:
        if ((f.t === F_METRIC ? METRIC_KEYS : AUTH_KEYS).has(k)) return this.r.typeError('a string or an integer', 'an object');
        return this.capture(Object.create(null) as Rec<JsonValue>, (v) => (f.data.extra[k] = v));
      case F_S_ITEM:
        return this.openStreamtype(k);
      case F_ST: {
        const def = STREAMTYPE_KEY.get(k);
        if (!def) return this.capture(Object.create(null) as Rec<JsonValue>, (v) => ((f.data as StBuild).extra[k] = v));
        return this.r.typeError(expectedOf(def), 'an object');
      }
      case F_METADATA:
        this.push(F_MD_ITEM, f.data);
        return;
      case F_RESPMAP:
        this.push(F_RM_ITEM, f.data);
        return;
      case F_CERTS_ITEM:
        return this.r.typeError('a base64 DER certificate string', 'an object');
      case F_MD_ITEM:
        return this.r.typeError('a string (an http header name or "")', 'an object');
      case F_RM_ITEM:
        return this.r.typeError('an integer SS state', 'an object');
      case F_BACKOFF:
        return this.r.typeError('an integer delay in ms', 'an object');
      case F_STACK:
        return this.r.typeError('a cert name', 'an object');
      case F_PLUGINS:
        return this.r.typeError('a plugin name', 'an object');
    }
  }

  openArray(): void {
    const f = this.top();
    if (!f) return this.r.typeError('an object', 'an array');
    const k = f.key as string;
    switch (f.t) {
      case F_CAPTURE:
        return this.captureChild(f, []);
      case F_ROOT:
        if (SECTIONS.has(k)) {
          this.push(F_SECTION, k);
          return;
        }
        if (has(TOP_STRINGS, k)) return this.r.typeError('a string', 'an array');
        if (k === 'schema-version') return this.r.typeError('an integer', 'an array');
        return this.capture([], (v) => (this.extra[k] = v));
      case F_RETRY:
        if (k === 'backoff') {
          f.data.table = [];
          this.push(F_BACKOFF, f.data);
          return;
        }
        if (RETRY_KEYS.has(k)) return this.r.typeError('an integer', 'an array');
        return this.capture([], (v) => (f.data.extra[k] = v));
      case F_TRUST:
        if (k === 'stack') {
          f.data.certs = [];
          this.push(F_STACK, f.data);
          return;
        }
        if (k === 'name') return this.r.typeError('a string', 'an array');
        return this.capture([], (v) => (f.data.extra[k] = v));
      case F_METRIC:
      case F_AUTH:
        if ((f.t === F_METRIC ? METRIC_KEYS : AUTH_KEYS).has(k)) return this.r.typeError('a string or an integer', 'an array');
        return this.capture([], (v) => (f.data.extra[k] = v));
      case F_ST: {
        const st = f.data as StBuild;
        const def = STREAMTYPE_KEY.get(k);
        if (!def) return this.capture([], (v) => (st.extra[k] = v));
        // as lws: a new http_resp_map or plugins list replaces the old; metadata adds to it
        if (def.kind.k === 'metadata') this.push(F_METADATA, st);
        else if (def.kind.k === 'respmap') {
          st.httpRespMap = [];
          this.push(F_RESPMAP, st);
        } else if (def.kind.k === 'plugins') {
          st.plugins = [];
          this.push(F_PLUGINS, st);
        } else this.r.typeError(expectedOf(def), 'an array');
        return;
      }
      case F_SECTION:
        return this.r.typeError(f.data === 'trust_stores' || f.data === 'metrics' || f.data === 'auth' ? 'an object' : 'an object of named entries', 'an array');
      case F_RETRY_ITEM:
        return this.r.typeError('a retry object', 'an array');
      case F_S_ITEM:
        return this.r.typeError('a streamtype object', 'an array');
      case F_METADATA:
      case F_RESPMAP:
        return this.r.typeError('an object', 'an array');
      case F_CERTS_ITEM:
        return this.r.typeError('a base64 DER certificate string', 'an array');
      case F_MD_ITEM:
        return this.r.typeError('a string (an http header name or "")', 'an array');
      case F_RM_ITEM:
        return this.r.typeError('an integer SS state', 'an array');
      case F_BACKOFF:
        return this.r.typeError('an integer delay in ms', 'an array');
      case F_STACK:
        return this.r.typeError('a cert name', 'an array');
      case F_PLUGINS:
        return this.r.typeError('a plugin name', 'an array');
    }
  }

  close(): void {
    const f = this.frames.pop() as Frame;
    switch (f.t) {
      case F_CAPTURE:
        if (f.store) f.store(deepFreeze(f.data as JsonValue));
        return;
      case F_RETRY:
        return this.closeRetry(f.data);
      case F_TRUST:
        return this.closeTrustStore(f.data);
      case F_STACK:
        if ((f.data.certs as string[]).length === 0) this.r.fail('ERR_POLICY_TRUST_STORE_EMPTY', 'at least one cert name');
        return;
      case F_METRIC:
        return this.closeMetric(f.data);
      case F_AUTH:
        return this.closeAuth(f.data);
      case F_ST:
        return this.closeStreamtype(f.data as StBuild);
    }
  }

  key(name: string): void {
    const f = this.top() as Frame;
    f.key = name;
    switch (f.t) {
      case F_ROOT:
        if (!SECTIONS.has(name) && !has(TOP_STRINGS, name) && name !== 'schema-version') this.r.warnUnknown();
        return;
      case F_RETRY:
        if (!RETRY_KEYS.has(name)) this.r.warnUnknown();
        return;
      case F_TRUST:
        if (!TRUST_KEYS.has(name)) this.r.warnUnknown();
        return;
      case F_METRIC:
        if (!METRIC_KEYS.has(name)) this.r.warnUnknown();
        return;
      case F_AUTH:
        if (!AUTH_KEYS.has(name)) this.r.warnUnknown();
        return;
      case F_ST:
        if (!STREAMTYPE_KEY.has(name)) this.r.warnUnknown();
        return;
      case F_RETRY_ITEM:
        this.r.name(name);
        if (has(this.retry, name)) this.r.fail('ERR_POLICY_DUPLICATE', 'a retry name not defined before', name);
        return;
      case F_CERTS_ITEM:
        this.r.name(name);
        if (has(this.certs, name)) this.r.fail('ERR_POLICY_DUPLICATE', 'a cert name not defined before', name);
        this.certName = name;
        this.cert.begin();
        return;
      case F_S_ITEM:
        this.r.name(name);
        if (!this.base && has(this.streamtypes, name)) this.r.fail('ERR_POLICY_DUPLICATE', 'a streamtype name not defined before', name);
        return;
      case F_MD_ITEM: {
        if (name.length === 0 || name.length > METADATA_NAME_MAX) {
          this.r.fail('ERR_POLICY_NAME', `a metadata name of 1..${METADATA_NAME_MAX} characters`, name);
        }
        const st = f.data as StBuild;
        const i = st.metadata.findIndex((m) => m.name === name);
        // an overlay may give a declared name a new value; a policy may not declare it twice
        if (i >= 0 && !(this.base && has(this.base.streamtypes, st.name))) {
          this.r.fail('ERR_POLICY_DUPLICATE', 'a metadata name not declared before in this streamtype', name);
        }
        return;
      }
      case F_RM_ITEM: {
        const code = isIntegerText(name) ? Number(name) : NaN;
        if (!(code >= 100 && code <= 599)) this.r.fail('ERR_POLICY_RANGE', 'an http status 100..599 as the key', name);
        return;
      }
    }
  }

  string(piece: string, final: boolean): void {
    const f = this.top();
    if (f && f.t === F_CERTS_ITEM) {
      const der = this.cert.push(piece, final);
      if (der) this.certs[this.certName] = der;
      return;
    }
    if (this.sbuf.length + piece.length > this.maxString) {
      this.r.fail('ERR_POLICY_STRING_TOO_LONG', `a string of at most ${this.maxString} characters`);
    }
    if (!final) {
      this.sbuf += piece;
      return;
    }
    const s = this.sbuf === '' ? piece : this.sbuf + piece;
    this.sbuf = '';
    this.scalar(T_STRING, s);
  }

  number(text: string): void {
    this.scalar(T_NUMBER, text);
  }

  literal(value: boolean | null): void {
    this.scalar(value === null ? T_NULL : T_BOOL, value);
  }

  // ---- scalars ----

  private scalar(t: number, v: Scalar): void {
    const f = this.top();
    if (!f) return this.r.typeError('an object', describe(t, v));
    const k = f.key as string;
    switch (f.t) {
      case F_CAPTURE:
        return this.captureScalar(f, scalarValue(t, v));
      case F_ROOT:
        if (SECTIONS.has(k)) return this.r.typeError('an array', describe(t, v));
        if (has(TOP_STRINGS, k)) {
          const s = this.r.str(t, v);
          if (TOP_STRINGS[k] === 'release') this.release = s;
          else if (TOP_STRINGS[k] === 'product') this.product = s;
          else this.viaSocks5 = s;
          return;
        }
        if (k === 'schema-version') {
          this.schemaVersion = this.r.uint(t, v, 0, Number.MAX_SAFE_INTEGER);
          return;
        }
        this.extra[k] = scalarValue(t, v);
        return;
      case F_SECTION:
        return this.r.typeError('an object', describe(t, v));
      case F_RETRY_ITEM:
        return this.r.typeError('a retry object', describe(t, v));
      case F_RETRY:
        return this.retryScalar(f.data, k, t, v);
      case F_BACKOFF: {
        const table = f.data.table as number[];
        if (table.length >= BACKOFF_MAX) this.r.fail('ERR_POLICY_BACKOFF_TOO_LONG', `at most ${BACKOFF_MAX} backoff delays`);
        table.push(this.r.uint(t, v, 0, U32));
        return;
      }
      case F_CERTS_ITEM:
        return this.r.typeError('a base64 DER certificate string', describe(t, v));
      case F_TRUST:
        return this.trustScalar(f.data, k, t, v);
      case F_STACK: {
        const certs = f.data.certs as string[];
        if (certs.length >= TRUST_STORE_MAX) this.r.fail('ERR_POLICY_TRUST_STORE_FULL', `at most ${TRUST_STORE_MAX} certs in a trust store`);
        const name = this.r.str(t, v, 'a cert name');
        if (!has(this.certs, name)) this.r.fail('ERR_POLICY_UNDEFINED_REF', 'the name of a cert defined before', name);
        certs.push(name);
        return;
      }
      case F_METRIC:
        return this.metricScalar(f.data, k, t, v);
      case F_AUTH:
        return this.authScalar(f.data, k, t, v);
      case F_S_ITEM:
        return this.r.typeError('a streamtype object', describe(t, v));
      case F_ST:
        return this.streamtypeScalar(f.data as StBuild, k, t, v);
      case F_METADATA:
      case F_RESPMAP:
        return this.r.typeError('an object', describe(t, v));
      case F_MD_ITEM: {
        const st = f.data as StBuild;
        const value = this.r.str(t, v, 'a string (an http header name or "")');
        if (value.length > METADATA_VALUE_MAX) {
          this.r.fail('ERR_POLICY_STRING_TOO_LONG', `a metadata value of at most ${METADATA_VALUE_MAX} characters`);
        }
        const decl = Object.freeze({ name: k, value });
        const i = st.metadata.findIndex((m) => m.name === k);
        if (i >= 0) st.metadata[i] = decl;
        else st.metadata.push(decl);
        return;
      }
      case F_RM_ITEM: {
        const st = f.data as StBuild;
        if (st.httpRespMap.length >= RESPMAP_MAX) this.r.fail('ERR_POLICY_TOO_MANY', `at most ${RESPMAP_MAX} http_resp_map entries`);
        st.httpRespMap.push(Object.freeze({ resp: Number(k), state: this.r.uint(t, v, 0, U16) }));
        return;
      }
      case F_PLUGINS:
        (f.data as StBuild).plugins.push(this.r.str(t, v, 'a plugin name'));
        return;
    }
  }

  private retryScalar(r: RetryBuild, k: string, t: number, v: Scalar): void {
    switch (k) {
      case 'backoff':
        return this.r.typeError('an array of delays in ms', describe(t, v));
      case 'conceal':
        r.init.conceal = this.r.uint(t, v, 0, U16);
        return;
      case 'jitterpc':
        // a uint8_t in lws, used as it is (past 100 the jitter exceeds the delay)
        r.init.jitterPercent = this.r.uint(t, v, 0, 0xff);
        return;
      case 'svalidping':
        r.init.secsSinceValidPing = this.r.uint(t, v, 0, U16);
        return;
      case 'svalidhup':
        r.init.secsSinceValidHangup = this.r.uint(t, v, 0, U16);
        return;
    }
    r.extra[k] = scalarValue(t, v);
  }

  private trustScalar(ts: { name: string | undefined; certs: string[] | undefined; extra: Rec<JsonValue> }, k: string, t: number, v: Scalar): void {
    if (k === 'stack') return this.r.typeError('an array of cert names', describe(t, v));
    if (k !== 'name') {
      ts.extra[k] = scalarValue(t, v);
      return;
    }
    const name = this.r.str(t, v);
    this.r.name(name);
    if (has(this.trustStores, name)) this.r.fail('ERR_POLICY_DUPLICATE', 'a trust store name not defined before', name);
    ts.name = name;
  }

  private metricScalar(m: Rec<unknown> & { extra: Rec<JsonValue> }, k: string, t: number, v: Scalar): void {
    switch (k) {
      case 'name': {
        const name = this.r.str(t, v);
        this.r.name(name);
        if (has(this.metrics, name)) this.r.fail('ERR_POLICY_DUPLICATE', 'a metric name not defined before', name);
        m.name = name;
        return;
      }
      case 'us_schedule':
        m.usSchedule = this.r.uint(t, v, 0, Number.MAX_SAFE_INTEGER);
        return;
      case 'us_halflife':
        m.usHalflife = this.r.uint(t, v, 0, U32);
        return;
      case 'min_outlier':
        m.minOutlier = this.r.uint(t, v, 0, 0xff);
        return;
      case 'report':
        m.report = this.r.str(t, v);
        return;
    }
    m.extra[k] = scalarValue(t, v);
  }

  private authScalar(a: Rec<unknown> & { extra: Rec<JsonValue> }, k: string, t: number, v: Scalar): void {
    switch (k) {
      case 'name': {
        const name = this.r.str(t, v);
        this.r.name(name);
        if (has(this.auth, name)) this.r.fail('ERR_POLICY_DUPLICATE', 'an auth name not defined before', name);
        a.name = name;
        return;
      }
      case 'type':
      case 'streamtype':
        a[k] = this.r.str(t, v);
        return;
      case 'blob':
        a.blob = this.r.uint(t, v, 0, AUTH_BLOB_SLOTS - 1);
        return;
    }
    a.extra[k] = scalarValue(t, v);
  }

  private streamtypeScalar(st: StBuild, k: string, t: number, v: Scalar): void {
    const def = STREAMTYPE_KEY.get(k);
    if (!def) {
      st.extra[k] = scalarValue(t, v);
      return;
    }
    const w = st as unknown as Rec<unknown>;
    const kind = def.kind;
    switch (kind.k) {
      case 'string':
        w[def.field] = this.r.str(t, v);
        if (kind.multipart) st.httpMultipart = true;
        return;
      case 'flag':
        if (this.r.bool(t, v, true)) w[def.field] = true;
        return;
      case 'bool':
        w[def.field] = this.r.bool(t, v, false);
        return;
      case 'uint':
        w[def.field] = this.r.uint(t, v, kind.min, kind.max);
        return;
      case 'protocol': {
        const p = this.r.str(t, v, 'a protocol name');
        if (!(PROTOCOLS as readonly string[]).includes(p)) this.r.fail('ERR_POLICY_PROTOCOL', `one of ${PROTOCOLS.join(', ')}`, p);
        st.protocol = p as Protocol;
        return;
      }
      case 'ref': {
        const name = this.r.str(t, v, `the name of ${REF_WHAT[kind.to]}`);
        if (!has(this[kind.to], name)) this.r.fail('ERR_POLICY_UNDEFINED_REF', `the name of ${REF_WHAT[kind.to]} defined before`, name);
        w[def.field] = name;
        return;
      }
      default:
        return this.r.typeError(expectedOf(def), describe(t, v));
    }
  }

  // ---- entities ----

  private openSectionItem(section: string): void {
    switch (section) {
      case 'retry':
        return this.push(F_RETRY_ITEM, undefined);
      case 'certs':
        return this.push(F_CERTS_ITEM, undefined);
      case 'trust_stores':
        return this.push(F_TRUST, { name: undefined, certs: undefined, extra: rec() });
      case 'metrics':
        return this.push(F_METRIC, { name: undefined, extra: rec() });
      case 'auth':
        return this.push(F_AUTH, { name: undefined, extra: rec() });
      default:
        return this.push(F_S_ITEM, undefined);
    }
  }

  private openRetry(name: string): void {
    const r: RetryBuild = { name, table: undefined, init: {}, extra: rec() };
    this.push(F_RETRY, r);
  }

  private closeRetry(r: RetryBuild): void {
    if (!r.table || r.table.length === 0) this.r.fail('ERR_POLICY_REQUIRED', `a "backoff" array of 1..${BACKOFF_MAX} delays in ms`);
    const policy = makeRetryPolicy({ ...r.init, table: r.table });
    this.retry[r.name] = Object.freeze({ ...policy, extra: Object.freeze(r.extra) });
  }

  private closeTrustStore(ts: { name: string | undefined; certs: string[] | undefined; extra: Rec<JsonValue> }): void {
    if (ts.name === undefined) this.r.fail('ERR_POLICY_REQUIRED', 'a "name" for the trust store');
    if (ts.certs === undefined) this.r.fail('ERR_POLICY_REQUIRED', `a "stack" of 1..${TRUST_STORE_MAX} cert names`);
    this.trustStores[ts.name] = Object.freeze({ name: ts.name, certs: Object.freeze(ts.certs), extra: Object.freeze(ts.extra) });
  }

  private closeMetric(m: Rec<unknown> & { extra: Rec<JsonValue> }): void {
    if (m.name === undefined) this.r.fail('ERR_POLICY_REQUIRED', 'a "name" for the metric');
    const name = m.name as string;
    this.metrics[name] = Object.freeze({
      name,
      usSchedule: m.usSchedule as number | undefined,
      usHalflife: m.usHalflife as number | undefined,
      minOutlier: m.minOutlier as number | undefined,
      report: m.report as string | undefined,
      extra: Object.freeze(m.extra),
    });
  }

  private closeAuth(a: Rec<unknown> & { extra: Rec<JsonValue> }): void {
    if (a.name === undefined) this.r.fail('ERR_POLICY_REQUIRED', 'a "name" for the auth entry');
    const name = a.name as string;
    this.auth[name] = Object.freeze({
      name,
      type: a.type as string | undefined,
      streamtype: a.streamtype as string | undefined,
      blob: a.blob as number | undefined,
      extra: Object.freeze(a.extra),
    });
  }

  private openStreamtype(name: string): void {
    // an overlay starts from the streamtype as it stands (lws overrides its members in place)
    const from = has(this.streamtypes, name) ? (this.streamtypes[name] as Streamtype) : defaultStreamtype(name);
    const st: StBuild = {
      ...from,
      metadata: from.metadata.slice(),
      httpRespMap: from.httpRespMap.slice(),
      plugins: from.plugins.slice(),
      extra: rec(from.extra),
    };
    this.push(F_ST, st);
  }

  private closeStreamtype(st: StBuild): void {
    const w = st as unknown as Rec<unknown>;
    for (const def of TEMPLATE_KEYS) {
      const tpl = w[def.field];
      if (typeof tpl === 'string' && tpl.includes('$')) this.checkTemplate(st, def.json, tpl);
    }
    if (st.plugins.length > 0) {
      this.r.warn('WARN_POLICY_PLUGINS', this.tok.path() + '.plugins', 'lwsx has no SS plugins: the plugins list is kept but not used');
    }
    Object.freeze(st.metadata);
    Object.freeze(st.httpRespMap);
    Object.freeze(st.plugins);
    Object.freeze(st.extra);
    this.streamtypes[st.name] = Object.freeze(st);
  }

  /** `${name}` must name metadata this streamtype declares (lws finds out only when connecting). */
  private checkTemplate(st: StBuild, json: string, tpl: string): void {
    const x = new MetadataExpander((n) => st.metadata.some((m) => m.name === n), () => '');
    try {
      x.write(tpl);
      x.end();
    } catch (e) {
      if (!(e instanceof MetadataError)) throw e;
      const path = `${this.tok.path()}.${json}`;
      if (e.code === 'ERR_METADATA_NAME_TOO_LONG') {
        this.r.fail('ERR_POLICY_NAME', `metadata names of 1..${METADATA_NAME_MAX} characters in \${...}`, e.detail.name, path);
      }
      this.r.fail('ERR_POLICY_METADATA_UNDECLARED', 'only metadata names the streamtype declares in ${...}', e.detail.name, path);
    }
  }

  // ---- unknown keys ----

  private capture(container: Rec<JsonValue> | JsonValue[], store: (v: JsonValue) => void): void {
    this.frames.push({ t: F_CAPTURE, key: undefined, data: container, store });
  }

  private captureChild(parent: Frame, child: Rec<JsonValue> | JsonValue[]): void {
    this.captureScalar(parent, child as JsonValue);
    this.frames.push({ t: F_CAPTURE, key: undefined, data: child });
  }

  private captureScalar(f: Frame, v: JsonValue): void {
    if (Array.isArray(f.data)) (f.data as JsonValue[]).push(v);
    else (f.data as Rec<JsonValue>)[f.key as string] = v;
  }

  // ---- helpers ----

  private top(): Frame | undefined {
    return this.frames[this.frames.length - 1];
  }

  private push(t: number, data: unknown): void {
    this.frames.push({ t, key: undefined, data });
  }
}

/** The keys whose values may hold `${metadata}` references. */
const TEMPLATE_KEYS = STREAMTYPE_KEYS.filter((k) => k.kind.k === 'string' && k.kind.template === true);

const REF_WHAT = { retry: 'a retry entry', trustStores: 'a trust store', certs: 'a cert', auth: 'an auth entry' } as const;

function expectedOf(def: StreamtypeKey): string {
  const k = def.kind;
  switch (k.k) {
    case 'string':
      return 'a string';
    case 'flag':
    case 'bool':
      return 'true or false';
    case 'uint':
      return `an integer ${k.min}..${k.max}`;
    case 'protocol':
      return 'a protocol name';
    case 'ref':
      return `the name of ${REF_WHAT[k.to]}`;
    case 'metadata':
      return 'an array of metadata objects';
    case 'respmap':
      return 'an array of { "<status>": <state> } objects';
    case 'plugins':
      return 'an array of plugin names';
  }
}

/** Parses a whole policy given as text, bytes or a sequence of chunks. */
export function parsePolicy(input: PolicyInput, opts?: PolicyParserOptions): Policy {
  const p = new PolicyParser(opts);
  if (typeof input === 'string' || input instanceof Uint8Array) p.write(input);
  else for (const chunk of input) p.write(chunk);
  return p.end();
}
