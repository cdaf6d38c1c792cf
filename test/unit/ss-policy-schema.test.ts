/**
 * policies/schema.json: it is a valid draft 2020-12 schema (compiled by ajv in strict mode), it
 * accepts every shipped policy and every lws policy in ../shared/lws-policies/, it knows exactly
 * the streamtype keys the parser knows, what the serializer writes conforms to it, and it
 * refuses hand-made invalid policies — each of which the parser refuses too, with a typed error.
 */
import { describe, expect, test } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { readFileSync, readdirSync } from 'node:fs';
import { PolicyParseError, STREAMTYPE_KEYS, parsePolicy, serializePolicy } from '../../src/ss/policy/index.js';

const LWS_DIR = new URL('../../../shared/lws-policies/', import.meta.url).pathname;
const OWN_DIR = new URL('../../policies/', import.meta.url).pathname;

const schema = JSON.parse(readFileSync(OWN_DIR + 'schema.json', 'utf8')) as Record<string, any>;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(schema);

function errorsOf(doc: unknown): ErrorObject[] {
  return validate(doc) ? [] : (validate.errors ?? []);
}

const lwsFiles = readdirSync(LWS_DIR).filter((f) => f.endsWith('.json')).sort();
const ownFiles = readdirSync(OWN_DIR).filter((f) => f.endsWith('.json') && f !== 'schema.json').sort();

describe('the schema', () => {
  test('is draft 2020-12 and compiles in strict mode', () => {
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof validate).toBe('function');
  });

  test('knows exactly the streamtype keys the parser knows, in its order', () => {
    expect(Object.keys(schema['$defs'].streamtype.properties)).toEqual(STREAMTYPE_KEYS.map((k) => k.json));
  });

  test('the shipped policies are lwsx board policies', () => {
    expect(ownFiles).toEqual(['esp32.json', 'host-sim.json']);
  });

  test.each(ownFiles)('accepts the shipped policy %s (which the parser also loads without warnings)', (f) => {
    const text = readFileSync(OWN_DIR + f, 'utf8');
    expect(errorsOf(JSON.parse(text))).toEqual([]);
    expect(parsePolicy(text).warnings).toEqual([]);
  });

  test('there are 18 lws policies', () => {
    expect(lwsFiles).toHaveLength(18);
  });

  test.each(lwsFiles)('accepts the lws policy %s', (f) => {
    expect(errorsOf(JSON.parse(readFileSync(LWS_DIR + f, 'utf8')))).toEqual([]);
  });

  test.each(lwsFiles)('what the serializer writes for %s conforms', (f) => {
    const p = parsePolicy(readFileSync(LWS_DIR + f, 'utf8'));
    expect(errorsOf(JSON.parse(serializePolicy(p)))).toEqual([]);
  });
});

const st = (body: string): string => `{ "s": [{ "a": { ${body} } }] }`;
const CERT = 'MIIBszCCAVmgAwIBAgIUQ2Vy';
const certs = (n: number): string => `"certs": [{ ${Array.from({ length: n }, (_, i) => `"c${i}": "${CERT}"`).join(', ')} }]`;

/** [what, policy text, schema keyword that must fire, where (instancePath), parser error code] */
const INVALID: Array<[string, string, string, string, string]> = [
  ['a port past 65535', st('"port": 70000'), 'maximum', '/s/0/a/port', 'ERR_POLICY_RANGE'],
  ['port 0', st('"port": 0'), 'minimum', '/s/0/a/port', 'ERR_POLICY_RANGE'],
  ['a port as a string', st('"port": "443"'), 'type', '/s/0/a/port', 'ERR_POLICY_TYPE'],
  ['an unknown protocol', st('"protocol": "h4"'), 'enum', '/s/0/a/protocol', 'ERR_POLICY_PROTOCOL'],
  ['mqtt_qos 3', st('"mqtt_qos": 3'), 'maximum', '/s/0/a/mqtt_qos', 'ERR_POLICY_RANGE'],
  ['a flag as a string', st('"tls": "true"'), 'anyOf', '/s/0/a/tls', 'ERR_POLICY_TYPE'],
  ['a flag as the number 2', st('"nailed_up": 2'), 'anyOf', '/s/0/a/nailed_up', 'ERR_POLICY_TYPE'],
  ['an http_expect that is no status', st('"http_expect": 99'), 'minimum', '/s/0/a/http_expect', 'ERR_POLICY_RANGE'],
  ['an http_resp_map key that is no status', st('"http_resp_map": [{ "99": 1 }]'), 'pattern', '/s/0/a/http_resp_map/0', 'ERR_POLICY_RANGE'],
  ['a metadata name of 32 characters', st(`"metadata": [{ "${'n'.repeat(32)}": "" }]`), 'maxLength', '/s/0/a/metadata/0', 'ERR_POLICY_NAME'],
  ['a ${name} of 32 characters', st(`"metadata": [{ "x": "" }], "http_url": "a/\${${'n'.repeat(32)}}"`), 'pattern', '/s/0/a/http_url', 'ERR_POLICY_NAME'],
  ['an empty ${}', st('"endpoint": "${}"'), 'pattern', '/s/0/a/endpoint', 'ERR_POLICY_METADATA_UNDECLARED'],
  ['a backoff of 9 delays', '{ "retry": [{ "r": { "backoff": [1,2,3,4,5,6,7,8,9] } }] }', 'maxItems', '/retry/0/r/backoff', 'ERR_POLICY_BACKOFF_TOO_LONG'],
  ['a retry without backoff', '{ "retry": [{ "r": { "conceal": 1 } }] }', 'required', '/retry/0/r', 'ERR_POLICY_REQUIRED'],
  ['a conceal past uint16', '{ "retry": [{ "r": { "backoff": [1], "conceal": 65536 } }] }', 'maximum', '/retry/0/r/conceal', 'ERR_POLICY_RANGE'],
  ['a jitterpc past uint8', '{ "retry": [{ "r": { "backoff": [1], "jitterpc": 256 } }] }', 'maximum', '/retry/0/r/jitterpc', 'ERR_POLICY_RANGE'],
  ['a retry that is not an object', '{ "retry": [{ "r": [1000] }] }', 'type', '/retry/0/r', 'ERR_POLICY_TYPE'],
  ['a cert that is not base64', '{ "certs": [{ "c": "not base64!" }] }', 'pattern', '/certs/0/c', 'ERR_POLICY_BASE64'],
  ['an empty cert', '{ "certs": [{ "c": "" }] }', 'minLength', '/certs/0/c', 'ERR_POLICY_BASE64'],
  ['a trust store of 7 certs', `{ ${certs(7)}, "trust_stores": [{ "name": "t", "stack": ["c0","c1","c2","c3","c4","c5","c6"] }] }`, 'maxItems', '/trust_stores/0/stack', 'ERR_POLICY_TRUST_STORE_FULL'],
  ['a trust store with no certs', `{ ${certs(1)}, "trust_stores": [{ "name": "t", "stack": [] }] }`, 'minItems', '/trust_stores/0/stack', 'ERR_POLICY_TRUST_STORE_EMPTY'],
  ['a trust store with no name', `{ ${certs(1)}, "trust_stores": [{ "stack": ["c0"] }] }`, 'required', '/trust_stores/0', 'ERR_POLICY_REQUIRED'],
  ['an auth blob slot past 3', '{ "auth": [{ "name": "x", "blob": 4 }] }', 'maximum', '/auth/0/blob', 'ERR_POLICY_RANGE'],
  ['a metric with no name', '{ "metrics": [{ "us_schedule": 1 }] }', 'required', '/metrics/0', 'ERR_POLICY_REQUIRED'],
  ['"s" that is an object', '{ "s": { "a": {} } }', 'type', '/s', 'ERR_POLICY_TYPE'],
  ['a streamtype that is a string', '{ "s": [{ "a": "h1" }] }', 'type', '/s/0/a', 'ERR_POLICY_TYPE'],
  ['an empty streamtype name', '{ "s": [{ "": {} }] }', 'propertyNames', '/s/0', 'ERR_POLICY_NAME'],
  ['schema-version as a string', '{ "schema-version": "1" }', 'type', '/schema-version', 'ERR_POLICY_TYPE'],
  ['a document that is an array', '[]', 'type', '', 'ERR_POLICY_TYPE'],
];

describe('invalid policies', () => {
  test.each(INVALID)('%s: the schema refuses it, and so does the parser', (_what, text, keyword, at, code) => {
    const errs = errorsOf(JSON.parse(text));
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.some((e) => e.keyword === keyword && e.instancePath === at)).toBe(true);
    let thrown: unknown;
    try {
      parsePolicy(text);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PolicyParseError);
    expect((thrown as PolicyParseError).code).toBe(code);
  });

  test('a misspelt key: the schema refuses it, the parser keeps it with a warning', () => {
    const text = st('"endpiont": "example.com"');
    expect(errorsOf(JSON.parse(text)).map((e) => [e.keyword, e.instancePath, e.params])).toEqual([
      ['additionalProperties', '/s/0/a', { additionalProperty: 'endpiont' }],
    ]);
    expect(parsePolicy(text).warnings.map((w) => [w.code, w.path])).toEqual([['WARN_POLICY_UNKNOWN_KEY', 's[0].a.endpiont']]);
  });

  test('the numbers 0 and 1 for a boolean are accepted (lws policy 02 writes one) but marked deprecated', () => {
    expect(errorsOf(JSON.parse(st('"mqtt_will_retain": 0, "tls": 1')))).toEqual([]);
    expect(schema['$defs'].numericBoolean.deprecated).toBe(true);
  });

  test('templates: $ alone, $$ and an unterminated ${ are fine, as the expander reads them', () => {
    for (const url of ['a$b', 'cost$', '$${x}', 'x/${x}/${x}', 'tail${x']) {
      expect([url, errorsOf(JSON.parse(st(`"metadata": [{ "x": "" }], "http_url": ${JSON.stringify(url)}`)))]).toEqual([url, []]);
    }
  });
});
