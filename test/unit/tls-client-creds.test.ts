/**
 * The client certificate a connection presents (src/net/tls-client-creds.ts): the system's
 * CLIENT_CERT_DER / CLIENT_KEY_DER blobs by default, explicit credentials over them, and the DER
 * normalisation the XS host needs (PEM decoding, key form and algorithm, PKCS#1 wrapped in
 * PKCS#8), checked against node:crypto's own encodings. End to end: our HTTP client on a Context
 * against a node:https server that requires a client certificate.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { clientCredsDer, privateKeyDer, systemClientCreds } from '../../src/net/tls-client-creds.js';
import { HttpClientConnection, httpFetch } from '../../src/protocols/h1/http-client.js';
import { BlobType, Blobs } from '../../src/system/blob.js';
import type { LwsxError } from '../../src/util/errors.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { makePki } from '../peers/pki.js';
import type { Pki, PkiCert } from '../peers/pki.js';

let pki: Pki;
beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => pki?.cleanup());

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const keyDer = (c: PkiCert, type: 'pkcs8' | 'pkcs1' | 'sec1'): Uint8Array => new Uint8Array(createPrivateKey(c.keyPem).export({ format: 'der', type }));
const keyPem = (c: PkiCert, type: 'pkcs8' | 'pkcs1' | 'sec1'): string => createPrivateKey(c.keyPem).export({ format: 'pem', type }) as string;

/** What a call throws: its code and detail.part; 'no error' when it returns. */
function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return { code: (e as LwsxError).code, part: (e as LwsxError).detail?.['part'] };
  }
  return 'no error';
}

describe('systemClientCreds', () => {
  const blobs = (cert?: Uint8Array, key?: Uint8Array): Blobs => {
    const b = new Blobs();
    if (cert) b.get(BlobType.CLIENT_CERT_DER).setDirect(cert);
    if (key) b.get(BlobType.CLIENT_KEY_DER).append(key);
    return b;
  };

  test('no blobs: the options are returned as they are', () => {
    const tls = { trust: [pki.ca.certDer] };
    expect(systemClientCreds(tls, blobs())).toBe(tls);
  });

  test('both blobs: the certificate and key are the blobs\' bytes, the rest kept', () => {
    const got = systemClientCreds({ alpn: ['http/1.1'] }, blobs(pki.client.certDer, pki.client.keyDer));
    expect(got.alpn).toEqual(['http/1.1']);
    expect(got.clientCert).toBe(pki.client.certDer);
    expect(Array.from(got.clientKey as Uint8Array)).toEqual(Array.from(pki.client.keyDer));
  });

  test('explicit credentials win over the blobs, even one alone (the host then refuses the half pair)', () => {
    const b = blobs(pki.client.certDer, pki.client.keyDer);
    const mine = { clientCert: pki.clientRsa.certPem, clientKey: pki.clientRsa.keyPem };
    expect(systemClientCreds(mine, b)).toBe(mine);
    const half = { clientCert: pki.clientRsa.certDer };
    expect(systemClientCreds(half, b)).toBe(half);
  });

  test('one blob without the other is ERR_TLS_CLIENT_CERT', () => {
    expect(failure(() => systemClientCreds({}, blobs(pki.client.certDer)))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'blob' });
    expect(failure(() => systemClientCreds({}, blobs(undefined, pki.client.keyDer)))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'blob' });
  });
});

describe('clientCredsDer', () => {
  test('nothing named: undefined; DER passes through as it is', () => {
    expect(clientCredsDer({})).toBeUndefined();
    const d = clientCredsDer({ clientCert: pki.client.certDer, clientKey: pki.client.keyDer });
    expect(d?.certs).toEqual([pki.client.certDer]);
    expect(d?.key).toEqual(pki.client.keyDer);
  });

  test('PEM as text or bytes: a chain becomes its DER certificates in order; the key its DER', () => {
    for (const cert of [pki.client.chainPem, text(pki.client.chainPem), `\n  ${pki.client.chainPem}`]) {
      for (const [type, key] of [['pkcs8', keyPem(pki.client, 'pkcs8')], ['sec1', text(keyPem(pki.client, 'sec1'))]] as const) {
        const d = clientCredsDer({ clientCert: cert, clientKey: key });
        expect(d?.certs.map((c) => Buffer.from(c).toString('hex'))).toEqual([pki.client.certDer, pki.ca.certDer].map((c) => Buffer.from(c).toString('hex')));
        expect(Buffer.from(d?.key as Uint8Array).equals(Buffer.from(keyDer(pki.client, type)))).toBe(true);
      }
    }
  });

  test('bad input names the part at fault', () => {
    const c = pki.client;
    expect(failure(() => clientCredsDer({ clientCert: c.certDer }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'pair' });
    expect(failure(() => clientCredsDer({ clientKey: c.keyDer }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'pair' });
    expect(failure(() => clientCredsDer({ clientCert: new Uint8Array([0x30, 0x05, 1]), clientKey: c.keyDer }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
    expect(failure(() => clientCredsDer({ clientCert: c.keyPem, clientKey: c.keyDer }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
    expect(failure(() => clientCredsDer({ clientCert: '-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n', clientKey: c.keyDer }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
    expect(failure(() => clientCredsDer({ clientCert: '-----BEGIN CERTIFICATE-----\nno end', clientKey: c.keyDer }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
    expect(failure(() => clientCredsDer({ clientCert: c.certPem, clientKey: c.certPem }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'key' });
    const encrypted = createPrivateKey(c.keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-128-cbc', passphrase: 'x' }) as string;
    expect(failure(() => clientCredsDer({ clientCert: c.certPem, clientKey: encrypted }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'key' });
    const legacy = createPrivateKey(pki.clientRsa.keyPem).export({ format: 'pem', type: 'pkcs1', cipher: 'aes-128-cbc', passphrase: 'x' }) as string;
    expect(legacy).toMatch(/Proc-Type: 4,ENCRYPTED/);
    expect(failure(() => clientCredsDer({ clientCert: c.certPem, clientKey: legacy }))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'key' });
  });
});

describe('privateKeyDer', () => {
  test('form and algorithm of each key openssl writes; PKCS#8 bytes equal node:crypto\'s', () => {
    const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');
    const ec8 = privateKeyDer(keyDer(pki.client, 'pkcs8'));
    expect([ec8.form, ec8.alg, hex(ec8.pkcs8)]).toEqual(['pkcs8', 'ec', hex(keyDer(pki.client, 'pkcs8'))]);
    const sec1 = privateKeyDer(keyDer(pki.client, 'sec1'));
    expect([sec1.form, sec1.alg, sec1.pkcs8]).toEqual(['sec1', 'ec', undefined]);
    const rsa8 = privateKeyDer(keyDer(pki.clientRsa, 'pkcs8'));
    expect([rsa8.form, rsa8.alg]).toEqual(['pkcs8', 'rsa']);
    // PKCS#1 wrapped into PKCS#8 comes out byte for byte as OpenSSL encodes the same key
    const rsa1 = privateKeyDer(keyDer(pki.clientRsa, 'pkcs1'));
    expect([rsa1.form, rsa1.alg, hex(rsa1.pkcs8)]).toEqual(['pkcs1', 'rsa', hex(keyDer(pki.clientRsa, 'pkcs8'))]);
    // short DER lengths too: a 512-bit RSA key's PKCS#1 is under 256 bytes
    const small = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey;
    const small1 = new Uint8Array(small.export({ format: 'der', type: 'pkcs1' }));
    expect(hex(privateKeyDer(small1).pkcs8)).toBe(hex(new Uint8Array(small.export({ format: 'der', type: 'pkcs8' }))));
    const ed = new Uint8Array(generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }));
    expect(privateKeyDer(ed).alg).toBe('other');
  });

  test('anything else is ERR_TLS_CLIENT_CERT (key)', () => {
    for (const b of [new Uint8Array(0), new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), pki.client.certDer, keyDer(pki.client, 'pkcs8').subarray(0, 40), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]) {
      expect(failure(() => privateKeyDer(b))).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'key' });
    }
  });
});

describe('end to end: the Context\'s blobs on a wsi', () => {
  const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
  let server: Server;
  let port = 0;
  let ctx: Context;

  beforeAll(async () => {
    // answers with the CN of the certificate the client presented
    server = createServer({ cert: pki.server.chainPem, key: pki.server.keyPem, ca: [pki.ca.certPem], requestCert: true, rejectUnauthorized: true }, (req, res) => {
      res.end(`cn=${(req.socket as TLSSocket).getPeerCertificate().subject?.CN}`);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
  beforeEach(async () => {
    ctx = new Context({ host: await NodeHost.open(), board });
  });
  afterEach(() => ctx.destroy());

  const fetchCn = async (tls: NonNullable<ConstructorParameters<typeof HttpClientConnection>[1]['tls']> = { trust: [pki.ca.certDer] }): Promise<string> => {
    const c = new HttpClientConnection(ctx, { host: 'localhost', port, resolve: async () => ['127.0.0.1'], tls });
    try {
      const r = await httpFetch(c, { path: '/' });
      return utf8Decode(r.body);
    } finally {
      c.close();
    }
  };
  const setBlobs = (cert: Uint8Array, key: Uint8Array): void => {
    ctx.system.blobs.get(BlobType.CLIENT_CERT_DER).setDirect(cert);
    ctx.system.blobs.get(BlobType.CLIENT_KEY_DER).setDirect(key);
  };

  test('with both blobs set the connection presents them', async () => {
    setBlobs(pki.client.certDer, pki.client.keyDer);
    expect(await fetchCn()).toBe('cn=lwsx-device');
  });

  test('explicit credentials override the blobs', async () => {
    setBlobs(pki.client.certDer, pki.client.keyDer);
    expect(await fetchCn({ trust: [pki.ca.certDer], clientCert: pki.clientRsa.certPem, clientKey: keyDer(pki.clientRsa, 'pkcs1') })).toBe('cn=lwsx-device-rsa');
  });

  test('without blobs the server refuses us: in TLS 1.3 by an alert once our side is done, ERR_TLS_HANDSHAKE', async () => {
    await expect(fetchCn()).rejects.toMatchObject({ code: 'ERR_TLS_HANDSHAKE', detail: { errno: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' } });
  });

  test.each([
    ['a certificate blob that is not a certificate', () => setBlobs(new Uint8Array([1, 2, 3]), pki.client.keyDer), 'cert'],
    ['a key blob that is not a key', () => setBlobs(pki.client.certDer, new Uint8Array([0x30, 0])), 'key'],
    ['a key blob that is another certificate\'s key', () => setBlobs(pki.client.certDer, pki.server.keyDer), 'pair'],
    ['only the certificate blob', () => ctx.system.blobs.get(BlobType.CLIENT_CERT_DER).setDirect(pki.client.certDer), 'blob'],
  ])('%s: the connection fails with ERR_TLS_CLIENT_CERT, nothing crashes', async (_name, set, part) => {
    set();
    await expect(fetchCn()).rejects.toMatchObject({ code: 'ERR_TLS_CLIENT_CERT', detail: { part } });
    // the context goes on: a good pair works afterwards
    setBlobs(pki.client.certDer, pki.client.keyDer);
    expect(await fetchCn()).toBe('cn=lwsx-device');
  });
});
