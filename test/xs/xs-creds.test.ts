/**
 * The client credentials' PEM → DER inside Moddable's XS: a real chain of several KB from
 * test/peers/pki.ts, as text and as bytes, must give inside XS exactly what it gives under Node.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';
import { credsVectors } from './creds-vectors.js';

const runner = new URL('./run-in-xs.mjs', import.meta.url).pathname;
const vectors = new URL('./creds-vectors.ts', import.meta.url).pathname;
const report = new URL('./report.ts', import.meta.url).pathname;

let pki: Pki;
beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => pki?.cleanup());

test('clientCredsDer on a multi-KB PEM chain: XS results equal Node results', () => {
  // every certificate the PKI made, RSA ones included: well over 4096 bytes
  const chain = [pki.clientRsa, pki.client, pki.server, pki.expired, pki.wrongHost, pki.selfSigned, pki.untrusted, pki.ca, pki.otherCa]
    .map((c) => c.certPem)
    .join('');
  const key = pki.clientRsa.keyPem;
  const node = credsVectors(chain, key);
  expect(node.pemBytes).toBeGreaterThan(6000);
  const asBytes = node.asBytes as { certs: string[]; key: string; form: string };
  expect(asBytes.certs).toHaveLength(9);
  expect(asBytes.certs[0]).toBe(Buffer.from(pki.clientRsa.certDer).toString('hex'));
  expect(asBytes.key).toBe(Buffer.from(pki.clientRsa.keyDer).toString('hex'));
  expect(asBytes.form).toBe('pkcs8');
  expect(node.asText).toEqual(node.asBytes);
  expect(node.keyInChain).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
  expect(node.chainAsKey).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'key' });

  const dir = mkdtempSync(join(tmpdir(), 'lwsx-xs-creds-'));
  try {
    const entry = join(dir, 'creds.entry.ts');
    writeFileSync(
      entry,
      `import { credsVectors } from ${JSON.stringify(vectors)};\n` +
        `import { reportToHost } from ${JSON.stringify(report)};\n` +
        `reportToHost(() => credsVectors(${JSON.stringify(chain)}, ${JSON.stringify(key)}));\n`,
    );
    const out = execFileSync(process.execPath, [runner, entry], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 << 20 });
    const { result } = JSON.parse(out.trim().split('\n').pop() as string);
    expect(result.error).toBeUndefined();
    expect(result).toEqual(node);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
