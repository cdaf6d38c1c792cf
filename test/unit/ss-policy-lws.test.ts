/**
 * The 18 libwebsockets policies in ../shared/lws-policies/ parse, and hold what the files
 * declare: the table below was written by reading each file, not by running the parser.
 * Also: the project's own policies, certificate bytes against Node's base64, every chunking of
 * the text giving the same policy, and serialize → parse giving it back.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { PolicyParser, STREAMTYPE_KEYS, parsePolicy, serializePolicy } from '../../src/ss/policy/index.js';
import type { Policy, Protocol, Streamtype } from '../../src/ss/policy/index.js';

const LWS_DIR = new URL('../../../shared/lws-policies/', import.meta.url).pathname;
const OWN_DIR = new URL('../../policies/', import.meta.url).pathname;

const read = (f: string): string => readFileSync(LWS_DIR + f, 'utf8');

interface RetryWant {
  table: number[];
  conceal: number;
  jitterPercent: number;
  secsSinceValidPing: number;
  secsSinceValidHangup: number;
}
type StWant = [name: string, protocol: Protocol, port: number | undefined, fields?: Partial<Record<keyof Streamtype, unknown>>];
interface Want {
  release?: string;
  product?: string;
  schemaVersion: number;
  retry: Record<string, RetryWant>;
  certs: string[];
  trust: Record<string, string[]>;
  s: StWant[];
  warnings?: string[];
}

const STD: RetryWant = { table: [1000, 2000, 3000, 5000, 10000], conceal: 5, jitterPercent: 20, secsSinceValidPing: 30, secsSinceValidHangup: 35 };
const SLOW_VALID: RetryWant = { ...STD, secsSinceValidPing: 300, secsSinceValidHangup: 310 };
const ISRG = ['isrg_root_x1', 'isrg_root_x2'];
const LE = { le_via_isrg: ISRG };
const CPD: StWant = [
  'captive_portal_detect', 'h1', 80,
  { endpoint: 'connectivitycheck.android.com', httpUrl: 'generate_204', httpMethod: 'GET', opportunistic: true, httpExpect: 204, httpFailRedirect: true },
];
const FETCH: StWant = ['fetch_policy', 'h1', 443, { endpoint: 'warmcat.com', tls: true, opportunistic: true, tlsTrustStore: 'le_via_isrg', retry: 'default' }];
const tlsLe = (extra: Partial<Record<keyof Streamtype, unknown>> = {}): Partial<Record<keyof Streamtype, unknown>> => ({
  tls: true,
  tlsTrustStore: 'le_via_isrg',
  retry: 'default',
  ...extra,
});
const md = (...pairs: [string, string][]): { name: string; value: string }[] => pairs.map(([name, value]) => ({ name, value }));

const WANT: Record<string, Want> = {
  '00-lib-core-context-default-policy.json': {
    release: '1', product: 'lws_default', schemaVersion: 1, retry: { default: STD }, certs: [], trust: {},
    s: [
      ['__default', 'h2', 443, {
        endpoint: '${endpoint}', httpMethod: 'GET', httpUrl: '', tls: true, allowRedirects: true, nghttp2QuirkEndStream: true,
        h2qOflowTxcr: true, directProtoStr: true, opportunistic: true, retry: 'default', timeoutMs: 2000,
        metadata: md(['endpoint', ''], ['acc', 'accept'], ['ua', 'user-agent']),
      }],
      CPD,
    ],
  },
  '01-minimal-secure-streams.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [FETCH, CPD],
  },
  '02-minimal-secure-streams-mqtt.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: SLOW_VALID }, certs: ['test_mosq_org'],
    trust: { mosq_org: ['test_mosq_org'] },
    s: [
      ['mosq_nontls', 'mqtt', 1883, {
        endpoint: 'test.mosquitto.org', tls: false, mqttTopic: 'test/topic1', mqttSubscribe: 'test/topic1', mqttQos: 0, mqttKeepAlive: 60,
        mqttCleanStart: true, mqttWillTopic: 'good/bye', mqttWillMessage: 'sign-off', mqttWillQos: 0, mqttWillRetain: false, awsIot: false,
      }],
      ['mosq_tls', 'mqtt', 8884, { tls: true, clientCert: 0, tlsTrustStore: 'mosq_org', mqttTopic: 'test/topic1', mqttCleanStart: true }],
    ],
    // "mqtt_will_retain": 0 is a number where lws wants a boolean
    warnings: ['WARN_POLICY_NUMERIC_BOOLEAN@s[0].mosq_nontls.mqtt_will_retain', 'WARN_POLICY_NUMERIC_BOOLEAN@s[1].mosq_tls.mqtt_will_retain'],
  },
  '03-minimal-secure-streams-smd.json': {
    schemaVersion: 1, retry: {}, certs: [], trust: {},
    s: [['captive_portal_detect', 'h1', 80, { opportunistic: false, httpExpect: 204, httpFailRedirect: true }]],
  },
  '04-minimal-secure-streams-metadata.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [['mintest', 'h1', 443, tlsLe({ endpoint: '${servername}', httpUrl: '', opportunistic: true, metadata: md(['servername', '']) })]],
  },
  '05-minimal-secure-streams-server.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: SLOW_VALID },
    certs: [...ISRG, 'self_localhost', 'self_localhost_key'], trust: LE,
    s: [
      ['mintest', 'h2', 443, tlsLe({ endpoint: 'warmcat.com', httpUrl: 'index.html' })],
      ['myserver', 'h1', 7681, {
        server: true, tls: true, wsSubprotocol: 'mywsprotocol', serverCert: 'self_localhost', serverKey: 'self_localhost_key',
        metadata: md(['mime', 'Content-Type:'], ['method', ''], ['path', '']), endpoint: undefined,
      }],
    ],
  },
  '06-minimal-secure-streams-server-raw.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: {}, certs: [], trust: {},
    s: [['myrawserver', 'raw', 7681, { server: true }]],
  },
  '07-minimal-secure-streams-post.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [FETCH, CPD],
  },
  '08-api-test-secure-streams.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: STD }, certs: ['amz_root_ca1', ...ISRG],
    trust: { amz: ['amz_root_ca1'], ...LE },
    s: [
      ['httpbin_get', 'h1', 443, tlsLe({ httpMethod: 'GET', httpUrl: '/httpbin/get' })],
      ['httpbin_get404', 'h1', 443, tlsLe({ httpUrl: '/httpbin/status/403' })],
      ['httpbin_post', 'h1', 443, tlsLe({ httpMethod: 'POST', httpUrl: '/httpbin/post' })],
    ],
  },
  '09-minimal-secure-streams-testsfail.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1,
    retry: { default: { ...STD, table: [1000, 1000], conceal: 2 } },
    certs: [...ISRG, 'digicert_global_root_g2', 'digicert_global_ca_g2', 'amazon_root_ca_1'],
    trust: { api_amazon_com: ['digicert_global_ca_g2', 'digicert_global_root_g2'], arca1: ['amazon_root_ca_1'], ...LE },
    s: [
      ['api_amazon_com_auth', 'h1', 443, {
        httpMethod: 'POST', plugins: [], tls: true, h2qOflowTxcr: true, httpWwwFormUrlencoded: true, httpNoContentLength: true,
        tlsTrustStore: 'api_amazon_com',
      }],
      ['t_h1', 'h1', 7681, { endpoint: '127.0.0.1', timeoutMs: 10000, tls: false }],
      ['t_h1_tls', 'h1', 443, tlsLe({ timeoutMs: 10000 })],
      ['t_h2_tls', 'h2', 443, tlsLe({ nghttp2QuirkEndStream: true, h2qOflowTxcr: true, timeoutMs: 10000 })],
      ['d_h1', 'h1', 7681, { timeoutMs: 3000, httpUrl: '/delay/10' }],
      ['d_h1_tls', 'h1', 443, tlsLe({ timeoutMs: 3000 })],
      ['d_h2_tls', 'h2', 443, tlsLe({ timeoutMs: 3000, httpUrl: '/httpbin/delay/15' })],
      ['nxd_h1', 'h1', 80, { endpoint: 'bogus.nope', timeoutMs: 5000 }],
      ['nxd_h1_tls', 'h1', 443, { tls: true, tlsTrustStore: 'arca1' }],
      ['nxd_h2_tls', 'h2', 443, { tls: true, tlsTrustStore: 'arca1' }],
      ['bulk_h1', 'h1', 7681, { httpUrl: '/bytes/${amount}', metadata: md(['amount', '']) }],
      ['bulk_h1_tls', 'h1', 443, tlsLe({ httpUrl: 'httpbin/bytes/${amount}', metadata: md(['amount', '']) })],
      ['bulk_h2_tls', 'h2', 443, tlsLe({ httpUrl: 'httpbin/bytes/${amount}' })],
      ['badcert_hostname', 'h1', 443, tlsLe({ endpoint: 'hostname.badcert.warmcat.com' })],
      ['badcert_expired', 'h1', 446, tlsLe({ endpoint: 'warmcat.com' })],
      ['badcert_selfsigned', 'h1', 443, tlsLe({ endpoint: 'invalidca.badcert.warmcat.com', timeoutMs: 5000 })],
    ],
  },
  '10-minimal-secure-streams-proxy.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [CPD, FETCH],
  },
  '11-embedded-esp32-c3dev.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: { ...STD, conceal: 25 } },
    certs: [...ISRG, 'LEX3_isrg_root_x2'], trust: { le_via_isrg: [...ISRG, 'LEX3_isrg_root_x2'] },
    s: [['test_stream', 'h2', 443, tlsLe({ endpoint: 'warmcat.com', opportunistic: true })], CPD],
  },
  '12-server-hello_world.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: SLOW_VALID },
    certs: [...ISRG, 'self_localhost', 'self_localhost_key'], trust: LE,
    s: [
      ['myserver', 'h2', 7681, {
        server: true, tls: true, serverCert: 'self_localhost', serverKey: 'self_localhost_key',
        metadata: md(['mime', 'Content-Type:'], ['method', ''], ['path', ''], ['my_arg', '']),
      }],
      ['ota', 'h2', 443, {
        endpoint: 'libwebsockets.org', httpUrl: 'firmware/examples/${ota_variant}/${file}', metadata: md(['ota_variant', ''], ['file', '']),
        tls: true, allowRedirects: true, nghttp2QuirkEndStream: true, h2qOflowTxcr: true, opportunistic: true, retry: 'default', tlsTrustStore: undefined,
      }],
    ],
  },
  '13-sink-hello_world.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: SLOW_VALID }, certs: ISRG, trust: LE,
    // no protocol key: lws' zeroed struct means LWSSSP_H1
    s: [['sink_hello_world', 'h1', undefined, { localSink: true, endpoint: undefined }]],
  },
  '14-client-ws-echo.json': {
    release: '1', product: 'sx-http-post', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [['sx_ws_echo', 'ws', 443, tlsLe({
      endpoint: 'libwebsockets.org', wsSubprotocol: 'lws-mirror-protocol', httpUrl: '', nailedUp: true, wsBinary: true, allowRedirects: true,
    })]],
  },
  '15-client-http-post.json': {
    release: '1', product: 'sx-http-post', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [['minpost', 'h1', 443, tlsLe({ httpMethod: 'POST', httpUrl: 'testserver/formtest', metadata: md(['ctype', 'Content-Type:']), allowRedirects: true })]],
  },
  '16-client-hello_world-policy.json': {
    release: '1', product: 'sx-hello_world', schemaVersion: 1, retry: { default: STD }, certs: ISRG, trust: LE,
    s: [['sx-hello_world', 'h1', 443, tlsLe({ httpUrl: 'index.html', timeoutMs: 2000, metadata: md(['ctype', 'content-type:']) })]],
  },
  '17-api-test-secure-streams-local.json': {
    release: '01234567', product: 'myproduct', schemaVersion: 1, retry: { default: STD }, certs: ['localhost_100y'],
    trust: { local_test: ['localhost_100y'] },
    s: [
      ['httpbin_get', 'h1', 7681, { endpoint: '127.0.0.1', tls: true, tlsTrustStore: 'local_test', httpUrl: '/httpbin/bytes/2000' }],
      ['httpbin_get404', 'h1', 7681, { tlsTrustStore: 'local_test' }],
      ['httpbin_post', 'h1', 7681, { httpMethod: 'POST', tlsTrustStore: 'local_test' }],
    ],
  },
};

/** The certificates of a file as Node decodes them, by name. */
function nodeCerts(text: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const certs = (JSON.parse(text) as { certs?: Record<string, string>[] }).certs ?? [];
  for (const o of certs) for (const [k, v] of Object.entries(o)) out[k] = Buffer.from(v, 'base64');
  return out;
}

function withoutWarnings(p: Policy): Omit<Policy, 'warnings'> {
  const { warnings: _w, ...rest } = p;
  return rest;
}

function chunks<T extends string | Uint8Array>(x: T, size: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < x.length; i += size) out.push(x.slice(i, i + size) as T);
  return out;
}

describe('the 18 lws policies', () => {
  const files = readdirSync(LWS_DIR).filter((f) => f.endsWith('.json')).sort();

  test('the table covers every file', () => {
    expect(files).toHaveLength(18);
    expect(Object.keys(WANT).sort()).toEqual(files);
  });

  test.each(Object.keys(WANT))('%s holds what the file declares', (file) => {
    const want = WANT[file] as Want;
    const text = read(file);
    const p = parsePolicy(text);

    expect(p.release).toBe(want.release);
    expect(p.product).toBe(want.product);
    expect(p.schemaVersion).toBe(want.schemaVersion);

    expect(Object.keys(p.retry)).toEqual(Object.keys(want.retry));
    for (const [name, r] of Object.entries(want.retry)) expect(p.retry[name]).toEqual({ ...r, extra: {} });

    expect(Object.keys(p.certs)).toEqual(want.certs);
    const node = nodeCerts(text);
    for (const name of want.certs) {
      const der = p.certs[name] as Uint8Array;
      expect(der[0]).toBe(0x30); // every one is a DER SEQUENCE
      expect(Buffer.from(der).equals(node[name] as Buffer)).toBe(true);
    }

    expect(Object.keys(p.trustStores)).toEqual(Object.keys(want.trust));
    for (const [name, certs] of Object.entries(want.trust)) {
      expect(p.trustStores[name]?.certs).toEqual(certs);
      expect(certs.length).toBeLessThanOrEqual(6);
    }

    expect(Object.keys(p.streamtypes)).toEqual(want.s.map((s) => s[0]));
    for (const [name, protocol, port, fields] of want.s) {
      const st = p.streamtypes[name] as Streamtype;
      expect(st.name).toBe(name);
      expect(st.protocol).toBe(protocol);
      expect(st.port).toBe(port);
      for (const [k, v] of Object.entries(fields ?? {})) expect([k, st[k as keyof Streamtype]]).toEqual([k, v]);
      if (st.retry !== undefined) expect(p.retry[st.retry]).toBeDefined();
      if (st.tlsTrustStore !== undefined) expect(p.trustStores[st.tlsTrustStore]).toBeDefined();
    }

    expect(p.warnings.map((w) => `${w.code}@${w.path}`)).toEqual(want.warnings ?? []);
    expect(Object.isFrozen(p) && Object.isFrozen(p.streamtypes) && Object.isFrozen(p.retry)).toBe(true);
  });

  test.each(files)('%s: serialize → parse gives the same policy', (file) => {
    const p = parsePolicy(read(file));
    const again = parsePolicy(serializePolicy(p, { indent: 2 }));
    expect(withoutWarnings(again)).toEqual(withoutWarnings(p));
    expect(serializePolicy(again)).toBe(serializePolicy(p));
  });

  test.each(files)('%s: random chunkings, as text and as UTF-8 bytes, give the same policy', (file) => {
    const text = read(file);
    const whole = parsePolicy(text);
    const bytes = new TextEncoder().encode(text);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }), fc.boolean(), (sizes, asBytes) => {
        const src: string | Uint8Array = asBytes ? bytes : text;
        const parser = new PolicyParser();
        let off = 0;
        for (let i = 0; off < src.length; i++) {
          const n = sizes[i % sizes.length] as number;
          parser.write(src.slice(off, off + n));
          off += n;
        }
        expect(parser.end()).toEqual(whole);
      }),
      { numRuns: 25 },
    );
  });

  test('the largest (certificates and 16 streamtypes) in 64-byte chunks', () => {
    const largest = files.map((f) => [f, read(f)] as const).sort((a, b) => b[1].length - a[1].length)[0] as readonly [string, string];
    expect(largest[0]).toBe('09-minimal-secure-streams-testsfail.json');
    const bytes = new TextEncoder().encode(largest[1]);
    expect(parsePolicy(chunks(bytes, 64))).toEqual(parsePolicy(largest[1]));
  });

  test('small policies split at every point, as text and as bytes', () => {
    for (const f of ['03-minimal-secure-streams-smd.json', '06-minimal-secure-streams-server-raw.json']) {
      const text = read(f);
      const whole = parsePolicy(text);
      const bytes = new TextEncoder().encode(text.replace('"s": [', '"é€𝄞": 1, "s": [')); // 2-, 3- and 4-byte sequences to split
      const wholeBytes = parsePolicy(bytes);
      expect(wholeBytes.extra['é€𝄞']).toBe(1);
      for (let i = 0; i <= bytes.length; i++) expect(parsePolicy([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(wholeBytes);
      for (let i = 0; i <= text.length; i++) {
        expect(parsePolicy([text.slice(0, i), text.slice(i)])).toEqual(whole);
        for (let j = i; j <= text.length; j += 17) expect(parsePolicy([text.slice(0, i), text.slice(i, j), text.slice(j)])).toEqual(whole);
      }
    }
  });
});

test("every per-streamtype key of lws' parser is known (lejp_tokens_policy[] \"s[].*.…\" in policy-json.c)", () => {
  // transcribed from libwebsockets lib/secure-streams/policy-json.c
  const lws = `endpoint via-socks5 protocol port plugins tls client_cert opportunistic nailed_up allow_redirects urgent_tx
    urgent_rx attr_priority attr_low_latency attr_high_throughput attr_high_reliability attr_low_cost long_poll
    ws_prioritize_reads retry timeout_ms perf tls_trust_store proxy_buflen proxy_buflen_rxflow_on_above
    proxy_buflen_rxflow_off_below client_buflen client_buflen_rxflow_on_above client_buflen_rxflow_off_below metadata
    http_resp_map http_auth_header http_dsn_header http_fwv_header http_devtype_header http_auth_preamble
    http_no_content_length rideshare payload_fmt http_method http_url nghttp2_quirk_end_stream h2q_oflow_txcr
    http_multipart_name http_multipart_filename http_mime_content_type http_www_form_urlencoded http_expect http_cookies
    http_fail_redirect http_multipart_ss_in ws_subprotocol ws_binary local_sink server server_cert server_key mqtt_topic
    mqtt_subscribe mqtt_qos mqtt_retain mqtt_keep_alive mqtt_clean_start mqtt_will_topic mqtt_will_message mqtt_will_qos
    mqtt_will_retain mqtt_birth_topic mqtt_birth_message mqtt_birth_qos mqtt_birth_retain aws_iot swake_validity use_auth
    aws_region aws_service direct_proto_str`.split(/\s+/);
  expect(STREAMTYPE_KEYS.map((k) => k.json)).toEqual(lws);
  // each loads with a valid value, and none is reported as unknown (references need definitions: left out)
  const sample = (k: string): unknown => {
    const kind = STREAMTYPE_KEYS.find((d) => d.json === k)!.kind;
    if (kind.k === 'string') return 'x';
    if (kind.k === 'flag' || kind.k === 'bool') return true;
    if (kind.k === 'uint') return Math.max(kind.min, 1);
    return kind.k === 'protocol' ? 'mqtt' : [];
  };
  const keys = lws.filter((k) => STREAMTYPE_KEYS.find((d) => d.json === k)!.kind.k !== 'ref');
  const p = parsePolicy(JSON.stringify({ s: [{ a: Object.fromEntries(keys.map((k) => [k, sample(k)])) }] }));
  expect(p.warnings).toEqual([]);
  expect(p.streamtypes.a).toMatchObject({ protocol: 'mqtt', port: 1, httpExpect: 100, directProtoStr: true, httpMultipart: true, mqttBirthTopic: 'x' });
});

describe("lwsx's own policies", () => {
  test.each(['host-sim.json', 'esp32.json'])('%s parses without warnings and references what it defines', (f) => {
    const p = parsePolicy(readFileSync(OWN_DIR + f, 'utf8'));
    expect(p.warnings).toEqual([]);
    expect(Object.keys(p.streamtypes).length).toBeGreaterThan(0);
    for (const st of Object.values(p.streamtypes)) {
      expect(st.retry === undefined || p.retry[st.retry] !== undefined).toBe(true);
      expect(st.port).toBeGreaterThan(0);
    }
  });

  test('every file in policies/ that is a policy parses', () => {
    const own = readdirSync(OWN_DIR).filter((f) => f.endsWith('.json') && f !== 'schema.json');
    expect(own).toEqual(expect.arrayContaining(['host-sim.json', 'esp32.json']));
    for (const f of own) expect(() => parsePolicy(readFileSync(OWN_DIR + f, 'utf8'))).not.toThrow();
  });
});
