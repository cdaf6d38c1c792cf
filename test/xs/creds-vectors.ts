/**
 * clientCredsDer on real PEM (test/peers/pki.ts makes it; the XS test embeds it as strings),
 * computed the same way in Node and inside XS and compared (xs-creds.test.ts). The chain is
 * several KB: as bytes it once went through String.fromCharCode(...4096 bytes), more arguments
 * than XS's stack holds. Pure ECMAScript importing only src/; returns plain JSON.
 */
import { clientCredsDer, privateKeyDer } from '../../src/net/tls-client-creds.js';
import type { LwsxError } from '../../src/util/errors.js';
import { utf8Encode } from '../../src/util/utf8.js';

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, '0');
  return s;
}

function attempt(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    return { code: (e as LwsxError).code, part: (e as LwsxError).detail?.['part'] ?? null };
  }
}

export function credsVectors(chainPem: string, keyPem: string): Record<string, unknown> {
  const run = (cert: string | Uint8Array, key: string | Uint8Array): unknown =>
    attempt(() => {
      const d = clientCredsDer({ clientCert: cert, clientKey: key });
      if (d === undefined) return 'undefined';
      return { certs: d.certs.map(hex), key: hex(d.key), form: privateKeyDer(d.key).form };
    });
  return {
    pemBytes: chainPem.length,
    asBytes: run(utf8Encode(chainPem), utf8Encode(keyPem)),
    asText: run(chainPem, keyPem),
    // refusals past the conversion: a key block in the certificate chain, a chain as the key
    keyInChain: run(utf8Encode(chainPem + keyPem), keyPem),
    chainAsKey: run(chainPem, utf8Encode(chainPem)),
  };
}
