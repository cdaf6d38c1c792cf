/**
 * A Policy back to lws' JSON form: one streamtype per `s[]` object, one cert per `certs[]`
 * object, keys in lws' order, unknown keys where they were found, certificates re-encoded as
 * standard padded base64. parsePolicy(serializePolicy(p)) gives p again (warnings aside, whose
 * paths follow the document's layout).
 */
import { base64Encode } from '../../util/base64.js';
import { STREAMTYPE_KEYS } from './keys.js';
import type { JsonValue, Named, Policy, Streamtype } from './policy.js';

type Obj = Record<string, unknown>;

export interface SerializeOptions {
  /** JSON.stringify indentation; default none */
  indent?: number | string;
}

function entries<T>(r: Named<T>): [string, T][] {
  return Object.keys(r).map((k) => [k, r[k] as T]);
}

/** Assigns key → value without letting "__proto__" reach the prototype setter. */
function put(o: Obj, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function withExtra(o: Obj, extra: Readonly<Record<string, JsonValue>>): Obj {
  for (const k of Object.keys(extra)) put(o, k, extra[k]);
  return o;
}

function streamtypeJson(st: Streamtype): Obj {
  const o: Obj = {};
  const r = st as unknown as Readonly<Record<string, unknown>>;
  for (const def of STREAMTYPE_KEYS) {
    const v = r[def.field];
    switch (def.kind.k) {
      case 'flag':
      case 'bool':
        if (v === true) o[def.json] = true;
        break;
      case 'protocol':
        o[def.json] = v;
        break;
      case 'metadata': {
        const md = v as Streamtype['metadata'];
        // one object per name: an object would put integer-like names first, and the order
        // is the stream's metadata slot order
        if (md.length) {
          o[def.json] = md.map((m) => {
            const decl: Obj = {};
            put(decl, m.name, m.value);
            return decl;
          });
        }
        break;
      }
      case 'respmap': {
        const rm = v as Streamtype['httpRespMap'];
        if (rm.length) o[def.json] = rm.map((e) => ({ [String(e.resp)]: e.state }));
        break;
      }
      case 'plugins':
        if ((v as readonly string[]).length) o[def.json] = v;
        break;
      default:
        if (v !== undefined) o[def.json] = v;
    }
  }
  return withExtra(o, st.extra);
}

export function policyToJson(p: Policy): Obj {
  const o: Obj = {};
  if (p.release !== undefined) o.release = p.release;
  if (p.product !== undefined) o.product = p.product;
  if (p.schemaVersion !== undefined) o['schema-version'] = p.schemaVersion;
  if (p.viaSocks5 !== undefined) o['via-socks5'] = p.viaSocks5;
  const retry = entries(p.retry);
  if (retry.length) {
    o.retry = retry.map(([name, r]) => {
      const e = withExtra(
        { backoff: r.table, conceal: r.conceal, jitterpc: r.jitterPercent, svalidping: r.secsSinceValidPing, svalidhup: r.secsSinceValidHangup },
        r.extra,
      );
      const item: Obj = {};
      put(item, name, e);
      return item;
    });
  }
  const certs = entries(p.certs);
  if (certs.length) {
    o.certs = certs.map(([name, der]) => {
      const item: Obj = {};
      put(item, name, base64Encode(der));
      return item;
    });
  }
  const ts = entries(p.trustStores);
  if (ts.length) o.trust_stores = ts.map(([, t]) => withExtra({ name: t.name, stack: t.certs }, t.extra));
  const metrics = entries(p.metrics);
  if (metrics.length) {
    o.metrics = metrics.map(([, m]) => {
      const e: Obj = { name: m.name };
      if (m.usSchedule !== undefined) e.us_schedule = m.usSchedule;
      if (m.usHalflife !== undefined) e.us_halflife = m.usHalflife;
      if (m.minOutlier !== undefined) e.min_outlier = m.minOutlier;
      if (m.report !== undefined) e.report = m.report;
      return withExtra(e, m.extra);
    });
  }
  const auth = entries(p.auth);
  if (auth.length) {
    o.auth = auth.map(([, a]) => {
      const e: Obj = { name: a.name };
      if (a.type !== undefined) e.type = a.type;
      if (a.streamtype !== undefined) e.streamtype = a.streamtype;
      if (a.blob !== undefined) e.blob = a.blob;
      return withExtra(e, a.extra);
    });
  }
  const s = entries(p.streamtypes);
  if (s.length) {
    o.s = s.map(([name, st]) => {
      const item: Obj = {};
      put(item, name, streamtypeJson(st));
      return item;
    });
  }
  return withExtra(o, p.extra);
}

export function serializePolicy(p: Policy, opts: SerializeOptions = {}): string {
  return JSON.stringify(policyToJson(p), null, opts.indent);
}
