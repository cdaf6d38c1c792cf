/**
 * The Secure Streams policy as the rest of lwsx sees it: typed and frozen (certificate bytes
 * excepted — a typed array cannot be frozen; treat them as read-only). Named things live in
 * null-prototype records, so a streamtype called "__proto__" is just a name.
 *
 * Field names are lws' JSON keys in camelCase; the JSON key of every streamtype field is in
 * keys.ts. Absent strings and numbers are undefined (zero in lws' zeroed structs); absent
 * booleans are false; an absent protocol is h1, as LWSSSP_H1 is 0 in lws.
 */
import type { RetryPolicy } from '../../loop/retry.js';
import type { PolicyWarning } from './errors.js';

/** Any JSON value, as kept for keys lwsx does not know. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

export type Extra = Readonly<Record<string, JsonValue>>;
export type Named<T> = Readonly<Record<string, T>>;

/** lws' protonames[] (LWSSSP_*), plus h3 which lwsx reserves. */
export const PROTOCOLS = ['h1', 'h2', 'h3', 'ws', 'mqtt', 'raw'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A `retry[]` entry: the retry module's lws_retry_bo_t, plus keys lwsx does not know. */
export interface PolicyRetry extends RetryPolicy {
  readonly extra: Extra;
}

/** A `trust_stores[]` entry: up to 6 certificate names, each defined in `certs`. */
export interface TrustStore {
  readonly name: string;
  readonly certs: readonly string[];
  readonly extra: Extra;
}

/** A `metrics[]` entry (lws_metric_policy_t). */
export interface MetricPolicy {
  readonly name: string;
  /** us_schedule: reporting interval, µs */
  readonly usSchedule: number | undefined;
  /** us_halflife: lws' us_decay_unit */
  readonly usHalflife: number | undefined;
  /** min_outlier: lws' min_contributors */
  readonly minOutlier: number | undefined;
  readonly report: string | undefined;
  readonly extra: Extra;
}

/** An `auth[]` entry (lws_ss_auth_t). */
export interface AuthPolicy {
  readonly name: string;
  readonly type: string | undefined;
  /** the streamtype that refreshes the token */
  readonly streamtype: string | undefined;
  /** system blob slot 0..3 the token lives in */
  readonly blob: number | undefined;
  readonly extra: Extra;
}

/** A metadata declaration: `name` is usable as `${name}`; `value` is an http header ("content-type:") or "". */
export interface MetadataDecl {
  readonly name: string;
  readonly value: string;
}

/** An http_resp_map entry: an http status mapped to an application SS state. */
export interface RespMapEntry {
  readonly resp: number;
  readonly state: number;
}

/** One streamtype: every per-streamtype key lws' policy-json.c knows. */
export interface Streamtype {
  readonly name: string;

  readonly endpoint: string | undefined;
  readonly viaSocks5: string | undefined;
  readonly protocol: Protocol;
  readonly port: number | undefined;
  readonly plugins: readonly string[];
  readonly tls: boolean;
  /** client_cert: the index of the lws_system client cert blob to present */
  readonly clientCert: number | undefined;
  readonly opportunistic: boolean;
  readonly nailedUp: boolean;
  readonly allowRedirects: boolean;
  readonly urgentTx: boolean;
  readonly urgentRx: boolean;
  readonly attrPriority: number | undefined;
  readonly attrLowLatency: boolean;
  readonly attrHighThroughput: boolean;
  readonly attrHighReliability: boolean;
  readonly attrLowCost: boolean;
  readonly longPoll: boolean;
  readonly wsPrioritizeReads: boolean;
  /** name of a `retry` entry */
  readonly retry: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly perf: boolean;
  /** name of a `trust_stores` entry */
  readonly tlsTrustStore: string | undefined;
  readonly proxyBuflen: number | undefined;
  readonly proxyBuflenRxflowOnAbove: number | undefined;
  readonly proxyBuflenRxflowOffBelow: number | undefined;
  readonly clientBuflen: number | undefined;
  readonly clientBuflenRxflowOnAbove: number | undefined;
  readonly clientBuflenRxflowOffBelow: number | undefined;
  /** in declaration order: the index is the stream's metadata slot, as in lws */
  readonly metadata: readonly MetadataDecl[];
  readonly httpRespMap: readonly RespMapEntry[];

  readonly httpAuthHeader: string | undefined;
  readonly httpDsnHeader: string | undefined;
  readonly httpFwvHeader: string | undefined;
  readonly httpDevtypeHeader: string | undefined;
  readonly httpAuthPreamble: string | undefined;
  readonly httpNoContentLength: boolean;
  /** streamtype name this rides shotgun with */
  readonly rideshare: string | undefined;
  readonly payloadFmt: string | undefined;
  readonly httpMethod: string | undefined;
  readonly httpUrl: string | undefined;
  readonly nghttp2QuirkEndStream: boolean;
  readonly h2qOflowTxcr: boolean;
  /** set by any of the three multipart keys (LWSSSPOLF_HTTP_MULTIPART) */
  readonly httpMultipart: boolean;
  readonly httpMultipartName: string | undefined;
  readonly httpMultipartFilename: string | undefined;
  readonly httpMimeContentType: string | undefined;
  readonly httpWwwFormUrlencoded: boolean;
  readonly httpExpect: number | undefined;
  readonly httpCookies: boolean;
  readonly httpFailRedirect: boolean;
  readonly httpMultipartSsIn: boolean;
  readonly wsSubprotocol: string | undefined;
  readonly wsBinary: boolean;
  readonly localSink: boolean;
  readonly server: boolean;
  /** names of `certs` entries */
  readonly serverCert: string | undefined;
  readonly serverKey: string | undefined;
  readonly mqttTopic: string | undefined;
  readonly mqttSubscribe: string | undefined;
  readonly mqttQos: number | undefined;
  readonly mqttRetain: boolean;
  readonly mqttKeepAlive: number | undefined;
  readonly mqttCleanStart: boolean;
  readonly mqttWillTopic: string | undefined;
  readonly mqttWillMessage: string | undefined;
  readonly mqttWillQos: number | undefined;
  readonly mqttWillRetain: boolean;
  readonly mqttBirthTopic: string | undefined;
  readonly mqttBirthMessage: string | undefined;
  readonly mqttBirthQos: number | undefined;
  readonly mqttBirthRetain: boolean;
  readonly awsIot: boolean;
  readonly swakeValidity: boolean;
  /** name of an `auth` entry */
  readonly useAuth: string | undefined;
  readonly awsRegion: string | undefined;
  readonly awsService: string | undefined;
  readonly directProtoStr: boolean;

  /** keys lwsx does not know, kept as they were */
  readonly extra: Extra;
}

export interface Policy {
  readonly release: string | undefined;
  readonly product: string | undefined;
  readonly schemaVersion: number | undefined;
  /** the global socks5 proxy, "address:port" */
  readonly viaSocks5: string | undefined;
  readonly retry: Named<PolicyRetry>;
  /** DER bytes, decoded from the policy's base64 */
  readonly certs: Named<Uint8Array>;
  readonly trustStores: Named<TrustStore>;
  readonly metrics: Named<MetricPolicy>;
  readonly auth: Named<AuthPolicy>;
  readonly streamtypes: Named<Streamtype>;
  /** top-level keys lwsx does not know */
  readonly extra: Extra;
  /** what the document that produced this policy held that lwsx keeps but does not act on */
  readonly warnings: readonly PolicyWarning[];
}

/** A streamtype with every field at its lws default. */
export function defaultStreamtype(name: string): Streamtype {
  return {
    name,
    endpoint: undefined, viaSocks5: undefined, protocol: 'h1', port: undefined, plugins: [], tls: false,
    clientCert: undefined, opportunistic: false, nailedUp: false, allowRedirects: false, urgentTx: false,
    urgentRx: false, attrPriority: undefined, attrLowLatency: false, attrHighThroughput: false,
    attrHighReliability: false, attrLowCost: false, longPoll: false, wsPrioritizeReads: false,
    retry: undefined, timeoutMs: undefined, perf: false, tlsTrustStore: undefined, proxyBuflen: undefined,
    proxyBuflenRxflowOnAbove: undefined, proxyBuflenRxflowOffBelow: undefined, clientBuflen: undefined,
    clientBuflenRxflowOnAbove: undefined, clientBuflenRxflowOffBelow: undefined, metadata: [],
    httpRespMap: [], httpAuthHeader: undefined, httpDsnHeader: undefined, httpFwvHeader: undefined,
    httpDevtypeHeader: undefined, httpAuthPreamble: undefined, httpNoContentLength: false,
    rideshare: undefined, payloadFmt: undefined, httpMethod: undefined, httpUrl: undefined,
    nghttp2QuirkEndStream: false, h2qOflowTxcr: false, httpMultipart: false, httpMultipartName: undefined,
    httpMultipartFilename: undefined, httpMimeContentType: undefined, httpWwwFormUrlencoded: false,
    httpExpect: undefined, httpCookies: false, httpFailRedirect: false, httpMultipartSsIn: false,
    wsSubprotocol: undefined, wsBinary: false, localSink: false, server: false, serverCert: undefined,
    serverKey: undefined, mqttTopic: undefined, mqttSubscribe: undefined, mqttQos: undefined,
    mqttRetain: false, mqttKeepAlive: undefined, mqttCleanStart: false, mqttWillTopic: undefined,
    mqttWillMessage: undefined, mqttWillQos: undefined, mqttWillRetain: false, mqttBirthTopic: undefined,
    mqttBirthMessage: undefined, mqttBirthQos: undefined, mqttBirthRetain: false, awsIot: false,
    swakeValidity: false, useAuth: undefined, awsRegion: undefined, awsService: undefined,
    directProtoStr: false, extra: EMPTY,
  };
}

export const EMPTY: Extra = Object.freeze(Object.create(null) as Record<string, JsonValue>);

/** The DER certificates of a trust store, in stack order. */
export function trustStoreCerts(policy: Policy, store: string): Uint8Array[] {
  const ts = policy.trustStores[store];
  return ts ? ts.certs.map((c) => policy.certs[c] as Uint8Array) : [];
}
