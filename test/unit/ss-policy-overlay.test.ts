/**
 * Policy overlays (lws_ss_policy_overlay): a second document that changes keys of existing
 * streamtypes without restating the policy.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { PolicyParseError, PolicyParser, applyOverlay, parsePolicy, serializePolicy } from '../../src/ss/policy/index.js';

const base = parsePolicy(readFileSync(new URL('../../../shared/lws-policies/01-minimal-secure-streams.json', import.meta.url), 'utf8'));
const before = serializePolicy(base);

describe('applyOverlay', () => {
  test("lws' own example: point captive_portal_detect elsewhere", () => {
    const p = applyOverlay(base, '{ "s": [{ "captive_portal_detect": { "endpoint": "google.com", "http_url": "/", "port": 80 } }] }');
    expect(p.streamtypes.captive_portal_detect).toEqual({
      ...base.streamtypes.captive_portal_detect,
      endpoint: 'google.com',
      httpUrl: '/',
    });
    // everything else is the base's, the base itself is untouched
    expect(p.streamtypes.fetch_policy).toBe(base.streamtypes.fetch_policy);
    expect(p.retry).toEqual(base.retry);
    expect(p.certs.isrg_root_x1).toBe(base.certs.isrg_root_x1);
    expect(serializePolicy(base)).toBe(before);
    expect(Object.isFrozen(p.streamtypes.captive_portal_detect)).toBe(true);
  });

  test('flags only set; assigned booleans may be cleared; numbers and strings replace', () => {
    const p = applyOverlay(base, `{ "s": [{ "fetch_policy": { "tls": false, "opportunistic": false, "nailed_up": true,
      "http_fail_redirect": false, "port": 8443, "http_method": "POST" } },
      { "captive_portal_detect": { "http_fail_redirect": false } }] }`);
    expect(p.streamtypes.fetch_policy).toMatchObject({ tls: true, opportunistic: true, nailedUp: true, port: 8443, httpMethod: 'POST' });
    expect(p.streamtypes.captive_portal_detect?.httpFailRedirect).toBe(false);
  });

  test('references resolve against the base (lws resolves only within the overlay)', () => {
    const p = applyOverlay(base, '{ "s": [{ "captive_portal_detect": { "retry": "default", "tls": true, "tls_trust_store": "le_via_isrg" } }] }');
    expect(p.streamtypes.captive_portal_detect).toMatchObject({ retry: 'default', tlsTrustStore: 'le_via_isrg', tls: true });
    const e = (() => {
      try {
        applyOverlay(base, '{ "s": [{ "captive_portal_detect": { "retry": "fast" } }] }');
      } catch (err) {
        return err as PolicyParseError;
      }
      throw new Error('expected a refusal');
    })();
    expect([e.code, e.path]).toEqual(['ERR_POLICY_UNDEFINED_REF', 's[0].captive_portal_detect.retry']);
  });

  test('an overlay may define what it references, but not redefine the base', () => {
    const p = applyOverlay(base, `{ "retry": [{ "fast": { "backoff": [100], "conceal": 1 } }],
      "s": [{ "captive_portal_detect": { "retry": "fast" } }] }`);
    expect(p.retry.fast?.table).toEqual([100]);
    expect(p.retry.default).toBe(base.retry.default);
    expect(() => applyOverlay(base, '{ "retry": [{ "default": { "backoff": [1] } }] }')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_DUPLICATE', path: 'retry[0].default' }),
    );
  });

  test('metadata adds names or re-declares one; http_resp_map and plugins replace', () => {
    const withMd = parsePolicy(`{ "s": [{ "a": { "endpoint": "\${h}", "metadata": [{ "h": "" }],
      "http_resp_map": [{ "530": 1530 }], "plugins": ["p1"] } }] }`);
    const p = applyOverlay(withMd, `{ "s": [{ "a": { "http_url": "\${path}", "metadata": [{ "path": "", "h": "host:" }],
      "http_resp_map": [{ "531": 1531 }, { "532": 1532 }], "plugins": [] } }] }`);
    expect(p.streamtypes.a?.metadata).toEqual([{ name: 'h', value: 'host:' }, { name: 'path', value: '' }]);
    expect(p.streamtypes.a?.httpRespMap).toEqual([{ resp: 531, state: 1531 }, { resp: 532, state: 1532 }]);
    expect(p.streamtypes.a?.plugins).toEqual([]);
    // a template in the overlay is checked against the merged declarations
    expect(() => applyOverlay(withMd, '{ "s": [{ "a": { "http_url": "${nope}" } }] }')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_METADATA_UNDECLARED', path: 's[0].a.http_url' }),
    );
  });

  test('a new streamtype is added; top-level scalars and unknown keys replace or add', () => {
    const p = applyOverlay(base, '{ "release": "02", "vendor": 1, "s": [{ "extra_st": { "protocol": "raw", "port": 9 } }] }');
    expect(Object.keys(p.streamtypes)).toEqual([...Object.keys(base.streamtypes), 'extra_st']);
    expect(p.streamtypes.extra_st).toMatchObject({ protocol: 'raw', port: 9 });
    expect([p.release, p.product]).toEqual(['02', 'myproduct']);
    expect(p.extra).toEqual({ vendor: 1 });
    expect(p.warnings.map((w) => w.path)).toEqual(['vendor']);
  });

  test('bad overlays get the same typed errors as policies', () => {
    expect(() => applyOverlay(base, '{ "s": [{ "captive_portal_detect": { "port": 0 } }] }')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_RANGE', path: 's[0].captive_portal_detect.port' }),
    );
    expect(() => applyOverlay(base, '{ "s": [')).toThrow(expect.objectContaining({ code: 'ERR_POLICY_JSON' }));
    expect(serializePolicy(base)).toBe(before);
  });

  test('an overlay can stream in like a policy', () => {
    const text = '{ "s": [{ "captive_portal_detect": { "endpoint": "google.com", "port": 8080 } }] }';
    const parser = new PolicyParser({ base });
    for (const c of text) parser.write(c);
    expect(parser.end()).toEqual(applyOverlay(base, text));
  });
});
