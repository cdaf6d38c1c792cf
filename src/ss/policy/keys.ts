/**
 * Every per-streamtype key of lws' policy parser (lejp_tokens_policy[] "s[].*.…" in
 * lib/secure-streams/policy-json.c), with the Streamtype field it fills and how it is read.
 * The parser, the overlay and the serializer are all driven by this one table.
 *
 * Kinds, after lws:
 * - flag: only `true` does anything, it sets the flag (lws: `if (reason == LEJPCB_VAL_TRUE)
 *   flags |= ...`), so `false` — in a policy or an overlay — never clears one;
 * - bool: assigned (lws: `x = reason == LEJPCB_VAL_TRUE`), so `false` clears it;
 * - uint: an integer in the C type's range (or the range that makes sense: ports 1..65535,
 *   QoS 0..2, http_expect a status);
 * - string / template: a string; a template may hold `${metadata}` references;
 * - ref: a name that must already be defined in the named section.
 */
import type { Streamtype } from './policy.js';

export type KeyKind =
  | { readonly k: 'string'; readonly template?: boolean; readonly multipart?: boolean }
  | { readonly k: 'flag' }
  | { readonly k: 'bool' }
  | { readonly k: 'uint'; readonly min: number; readonly max: number }
  | { readonly k: 'protocol' }
  | { readonly k: 'ref'; readonly to: 'retry' | 'trustStores' | 'certs' | 'auth' }
  | { readonly k: 'metadata' }
  | { readonly k: 'respmap' }
  | { readonly k: 'plugins' };

export interface StreamtypeKey {
  readonly json: string;
  readonly field: keyof Streamtype;
  readonly kind: KeyKind;
}

const U16 = 0xffff;
const U32 = 0xffffffff;

const str = { k: 'string' } as const;
const tpl = { k: 'string', template: true } as const;
const mp = { k: 'string', multipart: true } as const;
const flag = { k: 'flag' } as const;
const bool = { k: 'bool' } as const;
const u = (min: number, max: number): KeyKind => ({ k: 'uint', min, max });
const ref = (to: 'retry' | 'trustStores' | 'certs' | 'auth'): KeyKind => ({ k: 'ref', to });
const qos = u(0, 2);

/** In lws' order, which is also the order the serializer writes them in. */
export const STREAMTYPE_KEYS: readonly StreamtypeKey[] = [
  { json: 'endpoint', field: 'endpoint', kind: tpl },
  { json: 'via-socks5', field: 'viaSocks5', kind: str },
  { json: 'protocol', field: 'protocol', kind: { k: 'protocol' } },
  { json: 'port', field: 'port', kind: u(1, U16) },
  { json: 'plugins', field: 'plugins', kind: { k: 'plugins' } },
  { json: 'tls', field: 'tls', kind: flag },
  // lws stores the index + 1 in a uint8_t, 0 meaning none
  { json: 'client_cert', field: 'clientCert', kind: u(0, 254) },
  { json: 'opportunistic', field: 'opportunistic', kind: flag },
  { json: 'nailed_up', field: 'nailedUp', kind: flag },
  { json: 'allow_redirects', field: 'allowRedirects', kind: flag },
  { json: 'urgent_tx', field: 'urgentTx', kind: flag },
  { json: 'urgent_rx', field: 'urgentRx', kind: flag },
  // IP ToS priority: 0 normal .. 6 very high; 7 needs CAP_NET_ADMIN on Linux
  { json: 'attr_priority', field: 'attrPriority', kind: u(0, 7) },
  { json: 'attr_low_latency', field: 'attrLowLatency', kind: flag },
  { json: 'attr_high_throughput', field: 'attrHighThroughput', kind: flag },
  { json: 'attr_high_reliability', field: 'attrHighReliability', kind: flag },
  { json: 'attr_low_cost', field: 'attrLowCost', kind: flag },
  { json: 'long_poll', field: 'longPoll', kind: flag },
  { json: 'ws_prioritize_reads', field: 'wsPrioritizeReads', kind: flag },
  { json: 'retry', field: 'retry', kind: ref('retry') },
  { json: 'timeout_ms', field: 'timeoutMs', kind: u(0, U32) },
  { json: 'perf', field: 'perf', kind: flag },
  { json: 'tls_trust_store', field: 'tlsTrustStore', kind: ref('trustStores') },
  { json: 'proxy_buflen', field: 'proxyBuflen', kind: u(0, U32) },
  { json: 'proxy_buflen_rxflow_on_above', field: 'proxyBuflenRxflowOnAbove', kind: u(0, U32) },
  { json: 'proxy_buflen_rxflow_off_below', field: 'proxyBuflenRxflowOffBelow', kind: u(0, U32) },
  { json: 'client_buflen', field: 'clientBuflen', kind: u(0, U32) },
  { json: 'client_buflen_rxflow_on_above', field: 'clientBuflenRxflowOnAbove', kind: u(0, U32) },
  { json: 'client_buflen_rxflow_off_below', field: 'clientBuflenRxflowOffBelow', kind: u(0, U32) },
  { json: 'metadata', field: 'metadata', kind: { k: 'metadata' } },
  { json: 'http_resp_map', field: 'httpRespMap', kind: { k: 'respmap' } },
  { json: 'http_auth_header', field: 'httpAuthHeader', kind: str },
  { json: 'http_dsn_header', field: 'httpDsnHeader', kind: str },
  { json: 'http_fwv_header', field: 'httpFwvHeader', kind: str },
  { json: 'http_devtype_header', field: 'httpDevtypeHeader', kind: str },
  { json: 'http_auth_preamble', field: 'httpAuthPreamble', kind: str },
  { json: 'http_no_content_length', field: 'httpNoContentLength', kind: flag },
  { json: 'rideshare', field: 'rideshare', kind: str },
  { json: 'payload_fmt', field: 'payloadFmt', kind: str },
  { json: 'http_method', field: 'httpMethod', kind: str },
  { json: 'http_url', field: 'httpUrl', kind: tpl },
  { json: 'nghttp2_quirk_end_stream', field: 'nghttp2QuirkEndStream', kind: flag },
  { json: 'h2q_oflow_txcr', field: 'h2qOflowTxcr', kind: flag },
  { json: 'http_multipart_name', field: 'httpMultipartName', kind: mp },
  { json: 'http_multipart_filename', field: 'httpMultipartFilename', kind: mp },
  { json: 'http_mime_content_type', field: 'httpMimeContentType', kind: mp },
  { json: 'http_www_form_urlencoded', field: 'httpWwwFormUrlencoded', kind: flag },
  { json: 'http_expect', field: 'httpExpect', kind: u(100, 599) },
  { json: 'http_cookies', field: 'httpCookies', kind: flag },
  { json: 'http_fail_redirect', field: 'httpFailRedirect', kind: bool },
  { json: 'http_multipart_ss_in', field: 'httpMultipartSsIn', kind: flag },
  { json: 'ws_subprotocol', field: 'wsSubprotocol', kind: str },
  { json: 'ws_binary', field: 'wsBinary', kind: bool },
  { json: 'local_sink', field: 'localSink', kind: flag },
  { json: 'server', field: 'server', kind: flag },
  { json: 'server_cert', field: 'serverCert', kind: ref('certs') },
  { json: 'server_key', field: 'serverKey', kind: ref('certs') },
  { json: 'mqtt_topic', field: 'mqttTopic', kind: tpl },
  { json: 'mqtt_subscribe', field: 'mqttSubscribe', kind: tpl },
  { json: 'mqtt_qos', field: 'mqttQos', kind: qos },
  { json: 'mqtt_retain', field: 'mqttRetain', kind: bool },
  { json: 'mqtt_keep_alive', field: 'mqttKeepAlive', kind: u(0, U16) },
  { json: 'mqtt_clean_start', field: 'mqttCleanStart', kind: bool },
  { json: 'mqtt_will_topic', field: 'mqttWillTopic', kind: tpl },
  { json: 'mqtt_will_message', field: 'mqttWillMessage', kind: str },
  { json: 'mqtt_will_qos', field: 'mqttWillQos', kind: qos },
  { json: 'mqtt_will_retain', field: 'mqttWillRetain', kind: bool },
  { json: 'mqtt_birth_topic', field: 'mqttBirthTopic', kind: tpl },
  { json: 'mqtt_birth_message', field: 'mqttBirthMessage', kind: str },
  { json: 'mqtt_birth_qos', field: 'mqttBirthQos', kind: qos },
  { json: 'mqtt_birth_retain', field: 'mqttBirthRetain', kind: bool },
  // lws only ever sets it
  { json: 'aws_iot', field: 'awsIot', kind: flag },
  { json: 'swake_validity', field: 'swakeValidity', kind: flag },
  { json: 'use_auth', field: 'useAuth', kind: ref('auth') },
  { json: 'aws_region', field: 'awsRegion', kind: str },
  { json: 'aws_service', field: 'awsService', kind: str },
  { json: 'direct_proto_str', field: 'directProtoStr', kind: flag },
];

/** JSON key → table entry. */
export const STREAMTYPE_KEY: ReadonlyMap<string, StreamtypeKey> = new Map(STREAMTYPE_KEYS.map((k) => [k.json, k]));

/** lws_ss_http_respmap_t respmap[16] in policy_cb_args. */
export const RESPMAP_MAX = 16;
/** lws_strexp_t name[32]: a metadata name is at most 31 characters. */
export const METADATA_NAME_MAX = 31;
/** policy_cb_args md_value[255]: lws_ss_metadata_t.value_length is a uint8_t. */
export const METADATA_VALUE_MAX = 255;
/** lws_ss_trust_store_t ssx509[6]. */
export const TRUST_STORE_MAX = 6;
/** the retry_ms_table lws allocates per retry entry holds 8 delays. */
export const BACKOFF_MAX = 8;
/** LWS_SS_POLICY_AUTH_BLOB_SLOTS. */
export const AUTH_BLOB_SLOTS = 4;
