/**
 * One hand-made bad policy per rule: each must fail with its stable code, the JSON path of the
 * offending value and what was expected — and fail the same way when it arrives in pieces.
 */
import { describe, expect, test } from '@jest/globals';
import { PolicyParseError, PolicyParser, parsePolicy } from '../../src/ss/policy/index.js';
import type { PolicyErrorCode, PolicyParserOptions } from '../../src/ss/policy/index.js';
import { DecodeError, UsageError } from '../../src/util/errors.js';

const RETRY = '"retry": [{ "default": { "backoff": [1000, 2000], "conceal": 3, "jitterpc": 20 } }]';
const CERT = 'MIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBBQUAMA0xCzAJBgNVBAYTAlVTMB4XDTA5MDEwMTAwMDAwMFoXDTEwMDEwMTAwMDAwMFow';
const st = (body: string, name = 'a'): string => `{ "s": [{ "${name}": { ${body} } }] }`;

function refused(text: string, opts?: PolicyParserOptions): PolicyParseError {
  let whole: unknown;
  try {
    parsePolicy(text, opts);
  } catch (e) {
    whole = e;
  }
  expect(whole).toBeInstanceOf(PolicyParseError);
  expect(whole).toBeInstanceOf(DecodeError);
  const e = whole as PolicyParseError;
  expect(e.expected.length).toBeGreaterThan(0);
  expect(e.message).toContain(e.code === 'ERR_POLICY_JSON' ? 'JSON' : e.path);
  // byte by byte, the same refusal at the same place
  const p = new PolicyParser(opts);
  let split: unknown;
  try {
    for (const b of new TextEncoder().encode(text)) p.write(Uint8Array.of(b));
    p.end();
  } catch (err) {
    split = err;
  }
  expect(split).toBeInstanceOf(PolicyParseError);
  expect([(split as PolicyParseError).code, (split as PolicyParseError).path]).toEqual([e.code, e.path]);
  return e;
}

function expectRefusal(text: string, code: PolicyErrorCode, path: string, opts?: PolicyParserOptions): PolicyParseError {
  const e = refused(text, opts);
  expect({ code: e.code, path: e.path }).toEqual({ code, path });
  return e;
}

describe('ERR_POLICY_JSON: malformed JSON, with line and column', () => {
  test('a bad token on line 3', () => {
    const e = expectRefusal('{\n  "release": "1",\n  "product": x\n}', 'ERR_POLICY_JSON', 'product');
    expect([e.line, e.column]).toEqual([3, 14]);
    expect(e.detail).toMatchObject({ actual: 'unexpected character', offset: 33 });
  });
  test.each([
    ['{ "s": [', 'unexpected end of input', 's'],
    ['', 'unexpected end of input', '$'],
    ['{ "tls": tru }', 'unexpected character', 'tls'],
    ['{ "port": 01 }', 'invalid number', 'port'],
    ['{ "a": "\\q" }', 'invalid escape', 'a'],
    ['{ "a": "\\u12G4" }', 'invalid escape', 'a'],
    ['{ "a": "x\ny" }', 'control character in string', 'a'],
    ['{ "a": 1, }', 'unexpected character', 'a'],
    ['{ "a": 1 } }', 'data after the root value', '$'],
    ['{ "x": [[[[[[[[[[[[[[1]]]]]]]]]]]]]] }', 'nesting too deep', `x${'[0]'.repeat(11)}`], // the 13th container
    [`{ "${'k'.repeat(129)}": 1 }`, 'key too long', '$'],
  ])('%j: %s at %s', (text, problem, path) => {
    const e = expectRefusal(text, 'ERR_POLICY_JSON', path);
    expect(e.detail).toMatchObject({ actual: problem });
    expect(e.line).toBe(1); // a raw line break in a string is the error itself
  });
  test('invalid UTF-8 bytes', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{ "a": "'), 0xc3, 0x28, 0x22, 0x7d]);
    let e: unknown;
    try {
      parsePolicy(bytes);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(PolicyParseError);
    expect((e as PolicyParseError).detail).toMatchObject({ actual: 'invalid UTF-8', path: 'a', column: 9 });
    expect(() => parsePolicy(new Uint8Array([0x7b, 0x7d, 0xe2, 0x82]))).toThrow(expect.objectContaining({ code: 'ERR_POLICY_JSON' }));
  });
});

describe('ERR_POLICY_TYPE: a value of the wrong JSON type', () => {
  test.each([
    ['[]', '$', 'an object'],
    ['"policy"', '$', 'an object'],
    ['{ "release": 1 }', 'release', 'a string'],
    ['{ "schema-version": "1" }', 'schema-version', 'an integer 0..9007199254740991'],
    ['{ "s": {} }', 's', 'an array'],
    ['{ "retry": [{ "r": [] }] }', 'retry[0].r', 'a retry object'],
    ['{ "retry": [{ "r": { "backoff": 1000 } }] }', 'retry[0].r.backoff', 'an array of delays in ms'],
    ['{ "retry": [{ "r": { "backoff": ["1000"] } }] }', 'retry[0].r.backoff[0]', 'an integer 0..4294967295'],
    ['{ "certs": [{ "c": 12 }] }', 'certs[0].c', 'a base64 DER certificate string'],
    ['{ "trust_stores": [{ "name": "t", "stack": "c" }] }', 'trust_stores[0].stack', 'an array of cert names'],
    [st('"port": "443"'), 's[0].a.port', 'an integer 1..65535'],
    [st('"port": 443.5'), 's[0].a.port', 'an integer 1..65535'],
    [st('"port": 4.43e2'), 's[0].a.port', 'an integer 1..65535'],
    [st('"tls": "yes"'), 's[0].a.tls', 'true or false'],
    [st('"tls": null'), 's[0].a.tls', 'true or false'],
    [st('"ws_binary": 2'), 's[0].a.ws_binary', 'true or false'],
    [st('"endpoint": ["x"]'), 's[0].a.endpoint', 'a string'],
    [st('"metadata": { "x": "" }'), 's[0].a.metadata', 'an array of metadata objects'],
    [st('"metadata": [{ "x": 1 }]'), 's[0].a.metadata[0].x', 'a string (an http header name or "")'],
    ['{ "s": [{ "a": true }] }', 's[0].a', 'a streamtype object'],
  ])('%s at %s', (text, path, expected) => {
    expect(expectRefusal(text, 'ERR_POLICY_TYPE', path).expected).toBe(expected);
  });
});

describe('ERR_POLICY_RANGE: numbers outside what lws can store', () => {
  test('a port past 65535 in the fourth streamtype', () => {
    const text = `{ "s": [{ "a": {} }, { "b": {} }, { "c": {} }, { "mqtt_ws": { "protocol": "mqtt", "port": 70000 } }] }`;
    const e = expectRefusal(text, 'ERR_POLICY_RANGE', 's[3].mqtt_ws.port');
    expect(e.expected).toBe('an integer 1..65535');
    expect(e.detail).toMatchObject({ actual: 70000 });
    expect(e.message).toBe('policy s[3].mqtt_ws.port: expected an integer 1..65535, got 70000');
  });
  test.each([
    [st('"port": 0'), 's[0].a.port'],
    [st('"port": -1'), 's[0].a.port'],
    [st('"mqtt_qos": 3'), 's[0].a.mqtt_qos'],
    [st('"mqtt_will_qos": 3'), 's[0].a.mqtt_will_qos'],
    [st('"mqtt_keep_alive": 65536'), 's[0].a.mqtt_keep_alive'],
    [st('"http_expect": 99'), 's[0].a.http_expect'],
    [st('"timeout_ms": 4294967296'), 's[0].a.timeout_ms'],
    [st('"attr_priority": 8'), 's[0].a.attr_priority'],
    [st('"client_cert": 255'), 's[0].a.client_cert'],
    ['{ "retry": [{ "r": { "backoff": [1], "conceal": 65536 } }] }', 'retry[0].r.conceal'],
    // lws keeps jitterpc in a uint8_t
    ['{ "retry": [{ "r": { "backoff": [1], "jitterpc": 256 } }] }', 'retry[0].r.jitterpc'],
    ['{ "retry": [{ "r": { "backoff": [-5] } }] }', 'retry[0].r.backoff[0]'],
    ['{ "auth": [{ "name": "x", "blob": 4 }] }', 'auth[0].blob'],
    [st('"http_resp_map": [{ "99": 1 }]'), 's[0].a.http_resp_map[0].99'],
  ])('%s at %s', (text, path) => {
    expectRefusal(text, 'ERR_POLICY_RANGE', path);
  });
});

test('ERR_POLICY_PROTOCOL: only h1 h2 h3 ws mqtt raw', () => {
  for (const p of ['h1', 'h2', 'h3', 'ws', 'mqtt', 'raw']) expect(parsePolicy(st(`"protocol": "${p}"`)).streamtypes.a?.protocol).toBe(p);
  for (const bad of ['http', 'H1', 'h1get', '']) {
    const e = expectRefusal(st(`"protocol": "${bad}"`), 'ERR_POLICY_PROTOCOL', 's[0].a.protocol');
    expect(e.expected).toBe('one of h1, h2, h3, ws, mqtt, raw');
    expect(e.detail).toMatchObject({ actual: bad });
  }
});

describe('ERR_POLICY_UNDEFINED_REF: definitions must come before references', () => {
  test.each([
    [`{ "s": [{ "a": { "retry": "default" } }], ${RETRY} }`, 's[0].a.retry'],
    [st('"tls_trust_store": "le"'), 's[0].a.tls_trust_store'],
    [st('"server_cert": "self"'), 's[0].a.server_cert'],
    [st('"use_auth": "sigv4"'), 's[0].a.use_auth'],
    [`{ "trust_stores": [{ "name": "t", "stack": ["c"] }], "certs": [{ "c": "${CERT}" }] }`, 'trust_stores[0].stack[0]'],
  ])('%s at %s', (text, path) => {
    expectRefusal(text, 'ERR_POLICY_UNDEFINED_REF', path);
  });
  test('the same references after their definitions load', () => {
    const p = parsePolicy(`{ ${RETRY}, "certs": [{ "c": "${CERT}" }], "trust_stores": [{ "stack": ["c"], "name": "t" }],
      "auth": [{ "name": "sigv4", "type": "sigv4", "blob": 0 }],
      "s": [{ "a": { "retry": "default", "tls_trust_store": "t", "server_cert": "c", "use_auth": "sigv4" } }] }`);
    expect(p.streamtypes.a).toMatchObject({ retry: 'default', tlsTrustStore: 't', serverCert: 'c', useAuth: 'sigv4' });
  });
});

describe('ERR_POLICY_DUPLICATE', () => {
  test.each([
    ['{ "s": [{ "a": {} }, { "a": {} }] }', 's[1].a'],
    ['{ "s": [{ "a": {}, "b": {}, "a": {} }] }', 's[0].a'],
    [`{ ${RETRY}, "retry": [{ "default": { "backoff": [1] } }] }`, 'retry[0].default'],
    [`{ "certs": [{ "c": "${CERT}" }, { "c": "${CERT}" }] }`, 'certs[1].c'],
    [`{ "certs": [{ "c": "${CERT}" }], "trust_stores": [{ "name": "t", "stack": ["c"] }, { "name": "t", "stack": ["c"] }] }`, 'trust_stores[1].name'],
    [st('"metadata": [{ "x": "" }, { "x": "accept" }]'), 's[0].a.metadata[1].x'],
    ['{ "auth": [{ "name": "x" }, { "name": "x" }] }', 'auth[1].name'],
    ['{ "metrics": [{ "name": "m" }, { "name": "m" }] }', 'metrics[1].name'],
  ])('%s at %s', (text, path) => {
    expectRefusal(text, 'ERR_POLICY_DUPLICATE', path);
  });
});

describe('certificates', () => {
  test('ERR_POLICY_BASE64: invalid characters, bad padding, empty', () => {
    const e = expectRefusal('{ "certs": [{ "c": "MIIB*kTCB" }] }', 'ERR_POLICY_BASE64', 'certs[0].c');
    expect(e.detail).toMatchObject({ offset: 4, actual: 'invalid character' });
    expect(e.cause).toBeInstanceOf(DecodeError);
    expectRefusal('{ "certs": [{ "c": "MIIB=kTC" }] }', 'ERR_POLICY_BASE64', 'certs[0].c');
    expectRefusal('{ "certs": [{ "c": "MIIBk" }] }', 'ERR_POLICY_BASE64', 'certs[0].c');
    expectRefusal('{ "certs": [{ "c": "" }] }', 'ERR_POLICY_BASE64', 'certs[0].c');
  });
  test('either alphabet, whitespace and escaped line breaks are accepted, as lws_b64_decode_stateful', () => {
    const bytes = Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff);
    const b64 = Buffer.from(bytes).toString('base64');
    const url = Buffer.from(bytes).toString('base64url');
    const wrapped = b64.replace(/(.{64})/g, '$1\\n');
    const p = parsePolicy(`{ "certs": [{ "std": "${b64}", "url": "${url}" }, { "wrapped": "${wrapped}" }] }`);
    for (const k of ['std', 'url', 'wrapped']) expect(Array.from(p.certs[k] as Uint8Array)).toEqual(Array.from(bytes));
  });
  test('ERR_POLICY_CERT_TOO_BIG: bounded by maxCertBytes', () => {
    const b64 = Buffer.alloc(3000, 7).toString('base64');
    expect(parsePolicy(`{ "certs": [{ "c": "${b64}" }] }`).certs.c?.length).toBe(3000);
    expectRefusal(`{ "certs": [{ "c": "${b64}" }] }`, 'ERR_POLICY_CERT_TOO_BIG', 'certs[0].c', { maxCertBytes: 2999 });
  });
});

describe('trust stores and backoff tables', () => {
  const certs = `"certs": [{ ${[1, 2, 3, 4, 5, 6, 7].map((i) => `"c${i}": "${CERT}"`).join(', ')} }]`;
  const stack = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => `c${i + 1}`));
  test('ERR_POLICY_TRUST_STORE_FULL: 6 certs load, a 7th is refused', () => {
    expect(parsePolicy(`{ ${certs}, "trust_stores": [{ "name": "t", "stack": ${stack(6)} }] }`).trustStores.t?.certs).toHaveLength(6);
    expectRefusal(`{ ${certs}, "trust_stores": [{ "name": "t", "stack": ${stack(7)} }] }`, 'ERR_POLICY_TRUST_STORE_FULL', 'trust_stores[0].stack[6]');
  });
  test('ERR_POLICY_TRUST_STORE_EMPTY: a stack needs a cert', () => {
    expectRefusal(`{ ${certs}, "trust_stores": [{ "name": "t", "stack": [] }] }`, 'ERR_POLICY_TRUST_STORE_EMPTY', 'trust_stores[0].stack');
  });
  test('ERR_POLICY_BACKOFF_TOO_LONG: 8 delays load, a 9th is refused', () => {
    const table = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => (i + 1) * 100));
    expect(parsePolicy(`{ "retry": [{ "r": { "backoff": ${table(8)} } }] }`).retry.r?.table).toHaveLength(8);
    expectRefusal(`{ "retry": [{ "r": { "backoff": ${table(9)} } }] }`, 'ERR_POLICY_BACKOFF_TOO_LONG', 'retry[0].r.backoff[8]');
  });
  test('ERR_POLICY_TOO_MANY: 16 http_resp_map entries load, a 17th is refused', () => {
    const map = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => ({ [String(500 + i)]: 1500 + i })));
    expect(parsePolicy(st(`"http_resp_map": ${map(16)}`)).streamtypes.a?.httpRespMap[15]).toEqual({ resp: 515, state: 1515 });
    expectRefusal(st(`"http_resp_map": ${map(17)}`), 'ERR_POLICY_TOO_MANY', 's[0].a.http_resp_map[16].516');
  });
});

describe('ERR_POLICY_REQUIRED', () => {
  test.each([
    ['{ "retry": [{ "r": { "conceal": 5 } }] }', 'retry[0].r'],
    ['{ "retry": [{ "r": { "backoff": [] } }] }', 'retry[0].r'],
    [`{ "certs": [{ "c": "${CERT}" }], "trust_stores": [{ "stack": ["c"] }] }`, 'trust_stores[0]'],
    ['{ "trust_stores": [{ "name": "t" }] }', 'trust_stores[0]'],
    ['{ "auth": [{ "type": "sigv4" }] }', 'auth[0]'],
    ['{ "metrics": [{ "report": "x" }] }', 'metrics[0]'],
  ])('%s at %s', (text, path) => {
    expectRefusal(text, 'ERR_POLICY_REQUIRED', path);
  });
});

describe('names and strings', () => {
  test('ERR_POLICY_NAME: metadata names are 1..31 characters, other names non-empty', () => {
    const n31 = 'm'.repeat(31);
    expect(parsePolicy(st(`"metadata": [{ "${n31}": "" }]`)).streamtypes.a?.metadata[0]?.name).toBe(n31);
    expectRefusal(st(`"metadata": [{ "${n31}x": "" }]`), 'ERR_POLICY_NAME', `s[0].a.metadata[0].${n31}x`);
    expectRefusal(st('"metadata": [{ "": "" }]'), 'ERR_POLICY_NAME', 's[0].a.metadata[0].');
    expectRefusal(st('', ''), 'ERR_POLICY_NAME', 's[0].');
  });
  test('ERR_POLICY_STRING_TOO_LONG: strings are bounded; metadata values at 255', () => {
    expectRefusal(st(`"endpoint": "${'e'.repeat(2049)}"`), 'ERR_POLICY_STRING_TOO_LONG', 's[0].a.endpoint');
    expect(parsePolicy(st(`"endpoint": "${'e'.repeat(100)}"`), { maxStringLength: 100 }).streamtypes.a?.endpoint).toHaveLength(100);
    expectRefusal(st(`"endpoint": "${'e'.repeat(101)}"`), 'ERR_POLICY_STRING_TOO_LONG', 's[0].a.endpoint', { maxStringLength: 100 });
    expectRefusal(st(`"metadata": [{ "x": "${'h'.repeat(256)}" }]`), 'ERR_POLICY_STRING_TOO_LONG', 's[0].a.metadata[0].x');
  });
  test('ERR_POLICY_METADATA_UNDECLARED: ${name} in endpoint, http_url and mqtt topics must be declared', () => {
    for (const key of ['endpoint', 'http_url', 'mqtt_topic', 'mqtt_subscribe', 'mqtt_will_topic', 'mqtt_birth_topic']) {
      const e = expectRefusal(st(`"${key}": "x/\${host}/y", "metadata": [{ "other": "" }]`), 'ERR_POLICY_METADATA_UNDECLARED', `s[0].a.${key}`);
      expect(e.detail).toMatchObject({ actual: 'host' });
      // declared later in the same streamtype is fine: the scope is the streamtype
      expect(parsePolicy(st(`"${key}": "x/\${host}/y", "metadata": [{ "host": "" }]`)).streamtypes.a).toBeDefined();
    }
    expectRefusal(st(`"endpoint": "\${${'n'.repeat(32)}}", "metadata": [{ "n": "" }]`), 'ERR_POLICY_NAME', 's[0].a.endpoint');
    // other strings are not templates
    expect(parsePolicy(st('"mqtt_will_message": "${bye}"')).streamtypes.a?.mqttWillMessage).toBe('${bye}');
  });
});

describe('positions of errors in well-formed JSON', () => {
  test('a bad value points at its first character, a bad key at its quote, a missing member at the closing brace', () => {
    const value = refused('{\n  "s": [{ "a": {\n    "port":   70000 } }] }');
    expect([value.code, value.line, value.column]).toEqual(['ERR_POLICY_RANGE', 3, 15]);
    const str = refused('{ "s": [{ "a": { "protocol": "h4" } }] }');
    expect([str.code, str.line, str.column]).toEqual(['ERR_POLICY_PROTOCOL', 1, 30]);
    const key = refused('{ "s": [{ "a": {} },\n { "a": {} }] }');
    expect([key.code, key.line, key.column]).toEqual(['ERR_POLICY_DUPLICATE', 2, 4]);
    const close = refused('{ "retry": [{ "r": {\n  "conceal": 1\n  } }] }');
    expect([close.code, close.line, close.column]).toEqual(['ERR_POLICY_REQUIRED', 3, 3]);
  });
});

describe('lws semantics kept', () => {
  test('a flag key only ever sets its flag; assigned booleans follow the last value', () => {
    const a = parsePolicy(st('"tls": true, "tls": false, "opportunistic": false, "ws_binary": true, "ws_binary": false')).streamtypes.a;
    expect(a).toMatchObject({ tls: true, opportunistic: false, wsBinary: false });
  });
  test('0 and 1 as booleans load with a warning and read as lws reads them: only true counts', () => {
    // a flag given a number is left as it was (lws sets flags on the true token only)
    const p = parsePolicy(st('"mqtt_will_retain": 1, "nailed_up": 1, "tls": 0'));
    expect(p.streamtypes.a).toMatchObject({ mqttWillRetain: false, nailedUp: false, tls: false });
    expect(p.warnings.map((w) => [w.code, w.path])).toEqual([
      ['WARN_POLICY_NUMERIC_BOOLEAN', 's[0].a.mqtt_will_retain'],
      ['WARN_POLICY_NUMERIC_BOOLEAN', 's[0].a.nailed_up'],
      ['WARN_POLICY_NUMERIC_BOOLEAN', 's[0].a.tls'],
    ]);
    expect(p.warnings[1]!.message).toMatch(/flag is left as it was/);
    // a set flag stays set after a number; an assigned boolean (lws: x = reason == TRUE) clears
    const q = parsePolicy(st('"tls": true, "tls": 0, "mqtt_retain": true, "mqtt_retain": 1')).streamtypes.a;
    expect(q).toMatchObject({ tls: true, mqttRetain: false });
    // any other number is still a mistake worth refusing
    expectRefusal(st('"tls": 2'), 'ERR_POLICY_TYPE', 's[0].a.tls');
  });
  test('jitterpc is a uint8_t as in lws: 0..255 load and reach the retry policy', () => {
    const p = parsePolicy('{ "retry": [{ "r": { "backoff": [1000], "jitterpc": 255 } }, { "z": { "backoff": [1], "jitterpc": 0 } }] }');
    expect(p.retry.r!.jitterPercent).toBe(255);
    expect(p.retry.z!.jitterPercent).toBe(0);
  });
  test('unknown keys anywhere are kept and reported as warnings, not errors', () => {
    const p = parsePolicy(`{ "vendor": { "x": [1, { "y": null }] }, "retry": [{ "r": { "backoff": [1], "curve": "exp" } }],
      "auth": [{ "name": "n", "note": 1 }], "metrics": [{ "name": "m", "us_schedule": 1000, "tags": ["a"] }],
      "s": [{ "a": { "perf2": true, "__proto__": { "k": 1 }, "port": 1 } }] }`);
    expect(p.extra).toEqual({ vendor: { x: [1, { y: null }] } });
    expect(p.retry.r?.extra).toEqual({ curve: 'exp' });
    expect(p.auth.n?.extra).toEqual({ note: 1 });
    expect(p.metrics.m).toMatchObject({ usSchedule: 1000, extra: { tags: ['a'] } });
    expect(Object.keys(p.streamtypes.a?.extra ?? {})).toEqual(['perf2', '__proto__']);
    expect(Object.getPrototypeOf(p.streamtypes.a?.extra)).toBe(null);
    expect(p.warnings.map((w) => w.path)).toEqual(['vendor', 'retry[0].r.curve', 'auth[0].note', 'metrics[0].tags', 's[0].a.perf2', 's[0].a.__proto__']);
    expect(p.warnings.every((w) => w.code === 'WARN_POLICY_UNKNOWN_KEY')).toBe(true);
    expect(Object.isFrozen((p.extra.vendor as { x: unknown[] }).x)).toBe(true);
  });
  test('several streamtypes in one s[] object, several certs and metadata names per object', () => {
    const p = parsePolicy(`{ "certs": [{ "c1": "${CERT}", "c2": "${CERT}" }], "s": [{ "a": { "metadata": [{ "x": "", "y": "accept" }, { "z": "" }] }, "b": {} }] }`);
    expect(Object.keys(p.certs)).toEqual(['c1', 'c2']);
    expect(Object.keys(p.streamtypes)).toEqual(['a', 'b']);
    expect(p.streamtypes.a?.metadata.map((m) => m.name)).toEqual(['x', 'y', 'z']);
  });
});

test('the parser refuses use after end or after an error', () => {
  const p = new PolicyParser();
  p.write('{}');
  p.end();
  expect(() => p.write('{}')).toThrow(UsageError);
  const q = new PolicyParser();
  expect(() => q.write('{ "s": 1 }')).toThrow(PolicyParseError);
  expect(() => q.write('{}')).toThrow(UsageError);
  expect(() => q.end()).toThrow(UsageError);
});
