/**
 * The Node host's TLS, both ways, with a throwaway PKI made by openssl for this run
 * (test/peers/pki.ts):
 *  - our client against a local node:tls server: trust from DER in memory, SNI, ALPN, a client
 *    certificate from DER, TLS 1.2 and 1.3, and each kind of bad server certificate refused
 *    with its own code; client certificates and keys in every form (DER or PEM; PKCS#8, SEC1,
 *    PKCS#1; EC and RSA) and bad ones refused as ERR_TLS_CLIENT_CERT;
 *  - our TLS listener against node:tls clients (and our own client): credentials from DER or
 *    PEM, ALPN, SNI, client certificates required, and clients that fail their handshake
 *    leaving the listener serving.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, createServer } from 'node:tls';
import type { ConnectionOptions, Server, TLSSocket, TlsOptions as NodeServerOptions } from 'node:tls';
import { SocketError, TlsVerifyError } from '../../hosts/node/errors.js';
import { NodeHost } from '../../hosts/node/host.js';
import type { NodeListener } from '../../hosts/node/listener.js';
import type { NodeStream } from '../../hosts/node/tcp.js';
import { certDerToPem, clientSecureContext, keyDerToPem } from '../../hosts/node/tls.js';
import type { NodeTlsStream } from '../../hosts/node/tls.js';
import type { ListenTlsOptions, TlsOptions } from '../../src/net/host.js';
import type { LwsxError } from '../../src/util/errors.js';
import { codeOf } from '../helpers/errors.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makePki } from '../peers/pki.js';
import type { Pki, PkiCert } from '../peers/pki.js';

let pki: Pki;

beforeAll(async () => {
  pki = await makePki();
});

afterAll(() => {
  pki?.cleanup();
});

let host: NodeHost;
const cleanups: Array<() => void | Promise<void>> = [];

beforeEach(async () => {
  host = await NodeHost.open();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  host.close();
});

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const sec1Der = (c: PkiCert): Uint8Array => new Uint8Array(createPrivateKey(c.keyPem).export({ format: 'der', type: 'sec1' }));

// ---------------------------------------------------------------------------------------------
// our client against node:tls

interface Seen { servername: string | false | null; alpn: string | false | null; clientCN: string | string[] | undefined; protocol: string | null }

interface NodeServer { port: number; seen: Seen[]; clientErrors: string[] }

/** A node:tls echo server on 127.0.0.1 (or `address`) serving `cert`'s chain or leaf. */
async function nodeServer(cert: PkiCert, opts: { chain?: boolean; requestClientCert?: boolean; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; address?: string } = {}): Promise<NodeServer> {
  const r: NodeServer = { port: 0, seen: [], clientErrors: [] };
  const peers: TLSSocket[] = [];
  const o: NodeServerOptions = {
    key: cert.keyPem,
    cert: opts.chain ? cert.chainPem : cert.certPem,
    ALPNProtocols: ['h2', 'http/1.1'],
    ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
    ...(opts.requestClientCert ? { requestCert: true, rejectUnauthorized: true, ca: [pki.ca.certPem] } : {}),
  };
  const srv: Server = createServer(o, (s) => {
    peers.push(s);
    const peer = s.getPeerCertificate();
    r.seen.push({ servername: s.servername, alpn: s.alpnProtocol, clientCN: peer?.subject?.CN, protocol: s.getProtocol() });
    s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('error', () => {});
  });
  srv.on('tlsClientError', (e: Error & { code?: string }) => { r.clientErrors.push(e.code ?? e.message); });
  await new Promise<void>((ok) => srv.listen(0, opts.address ?? '127.0.0.1', ok));
  r.port = (srv.address() as { port: number }).port;
  cleanups.push(() => {
    for (const p of peers) p.destroy();
    return new Promise<void>((ok) => srv.close(() => ok()));
  });
  return r;
}

interface Run { c: NodeTlsStream; writable: number[]; received: string; err: LwsxError | undefined }

function dial(port: number, extra: Partial<TlsOptions>): Run {
  const run: Run = { c: undefined as unknown as NodeTlsStream, writable: [], received: '', err: undefined };
  run.c = host.tls({
    address: '127.0.0.1',
    port,
    onWritable: (n) => { run.writable.push(n); },
    onReadable: () => { run.received += Buffer.from(run.c.read() as ArrayBuffer).toString('latin1'); },
    onError: (e) => { run.err = e as LwsxError; },
    ...extra,
  });
  cleanups.push(() => run.c.close());
  return run;
}

async function handshake(r: Run): Promise<void> {
  await waitFor('the handshake', () => r.writable.length > 0 || r.err !== undefined);
  expect(r.err).toBeUndefined();
}

describe('client', () => {
  test('a server chaining to a CA trusted from DER in memory: handshake, SNI, ALPN, data both ways', async () => {
    const s = await nodeServer(pki.server);
    const r = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer], alpn: ['http/1.1'] });
    await handshake(r);
    expect(r.c.alpn).toBe('http/1.1');
    expect(r.c.protocol).toBe('TLSv1.3');
    expect(r.c.remoteAddress).toBe('127.0.0.1');
    expect(r.c.write(text('hello'))).toBeGreaterThan(0);
    await waitFor('the echo', () => r.received === 'echo:hello');
    expect(s.seen).toEqual([{ servername: 'localhost', alpn: 'http/1.1', clientCN: undefined, protocol: 'TLSv1.3' }]);
  });

  test('ALPN: the server picks from our offer; no offer, no protocol', async () => {
    const s = await nodeServer(pki.server);
    const a = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer], alpn: ['h2', 'http/1.1'] });
    const b = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer] });
    await handshake(a);
    await handshake(b);
    expect(a.c.alpn).toBe('h2');
    expect(b.c.alpn).toBeUndefined();
    await waitFor('the server side', () => s.seen.length === 2);
    expect(s.seen.map((x) => x.alpn).sort()).toEqual([false, 'h2']);
  });

  test('the server sending its whole chain is accepted the same', async () => {
    const s = await nodeServer(pki.server, { chain: true });
    await handshake(dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer] }));
  });

  test('trusting the server certificate itself (pinning a leaf) works too', async () => {
    const s = await nodeServer(pki.selfSigned);
    await handshake(dial(s.port, { servername: 'localhost', trust: [pki.selfSigned.certDer] }));
  });

  test.each([
    ['TLSv1.2' as const],
    ['TLSv1.3' as const],
  ])('%s', async (version) => {
    const s = await nodeServer(pki.server, { maxVersion: version });
    const r = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer], alpn: ['http/1.1'] });
    await handshake(r);
    expect(r.c.protocol).toBe(version);
    expect(r.c.alpn).toBe('http/1.1');
    r.c.write(text('v'));
    await waitFor('the echo', () => r.received === 'echo:v');
  });

  describe('bad server certificates are refused, each with its own code', () => {
    test.each([
      ['expired', 'expired', false, 'ERR_TLS_EXPIRED', 'CERT_HAS_EXPIRED'],
      ['for another host', 'wrongHost', false, 'ERR_TLS_HOSTNAME', 'ERR_TLS_CERT_ALTNAME_INVALID'],
      ['self-signed', 'selfSigned', false, 'ERR_TLS_SELF_SIGNED', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
      ['from an unknown CA, leaf alone', 'untrusted', false, 'ERR_TLS_UNTRUSTED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ['from an unknown CA, with its root', 'untrusted', true, 'ERR_TLS_UNTRUSTED', 'SELF_SIGNED_CERT_IN_CHAIN'],
    ] as const)('%s', async (_what, which, chain, code, errno) => {
      const s = await nodeServer(pki[which], { chain });
      const r = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer] });
      await waitFor('the refusal', () => r.err !== undefined);
      expect(r.writable).toEqual([]);
      expect(r.err).toBeInstanceOf(TlsVerifyError);
      expect(r.err).toBeInstanceOf(SocketError);
      expect(r.err?.code).toBe(code);
      expect(r.err?.detail?.['errno']).toBe(errno);
      expect(s.seen).toEqual([]);
    });

    test('a good server without the CA in trust: only the built-in store, which does not know it', async () => {
      const s = await nodeServer(pki.server);
      const r = dial(s.port, { servername: 'localhost' });
      await waitFor('the refusal', () => r.err !== undefined);
      expect(r.writable).toEqual([]);
      expect(r.err?.code).toBe('ERR_TLS_UNTRUSTED');
      expect(r.err?.detail?.['errno']).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });

    test('trusting another CA does not help', async () => {
      const s = await nodeServer(pki.server);
      const r = dial(s.port, { servername: 'localhost', trust: [pki.otherCa.certDer] });
      await waitFor('the refusal', () => r.err !== undefined);
      expect(r.err?.code).toBe('ERR_TLS_UNTRUSTED');
    });

    test('a trusted chain for other names is refused when we dial by address with no name', async () => {
      const s = await nodeServer(pki.wrongHost);
      const r = dial(s.port, { trust: [pki.ca.certDer] });
      await waitFor('the refusal', () => r.err !== undefined);
      expect(r.err?.code).toBe('ERR_TLS_HOSTNAME');
    });

    test('a good certificate asked for under another name is refused', async () => {
      const s = await nodeServer(pki.server);
      const r = dial(s.port, { servername: 'not-localhost.example', trust: [pki.ca.certDer] });
      await waitFor('the refusal', () => r.err !== undefined);
      expect(r.err?.code).toBe('ERR_TLS_HOSTNAME');
    });

    test('verify: false accepts a self-signed server', async () => {
      const s = await nodeServer(pki.selfSigned);
      await handshake(dial(s.port, { servername: 'localhost', verify: false }));
    });
  });

  describe('SNI', () => {
    test('a name is sent, and checked against the certificate', async () => {
      const s = await nodeServer(pki.server);
      await handshake(dial(s.port, { host: 'localhost', address: '127.0.0.1', trust: [pki.ca.certDer] }));
      await waitFor('the server side', () => s.seen.length === 1);
      expect(s.seen[0]?.servername).toBe('localhost');
    });

    test.each([
      ['127.0.0.1', '127.0.0.1'],
      ['::1', '::1'],
    ])('an address (%s) is never sent, and is checked against the IP SANs', async (address, listen) => {
      const s = await nodeServer(pki.server, { address: listen });
      const r = dial(s.port, { address, trust: [pki.ca.certDer] });
      await handshake(r);
      await waitFor('the server side', () => s.seen.length === 1);
      expect(s.seen[0]?.servername).toBe(false);
      // nor when the address is given as the host name
      const r2 = dial(s.port, { address, host: address, trust: [pki.ca.certDer] });
      await handshake(r2);
      await waitFor('the server side', () => s.seen.length === 2);
      expect(s.seen[1]?.servername).toBe(false);
    });
  });

  describe('client certificates', () => {
    const pkcs1Der = (c: PkiCert): Uint8Array => new Uint8Array(createPrivateKey(c.keyPem).export({ format: 'der', type: 'pkcs1' }));
    const pem = (c: PkiCert, type: 'pkcs1' | 'sec1'): string => createPrivateKey(c.keyPem).export({ format: 'pem', type }) as string;
    test.each([
      ['EC, DER certificate, PKCS#8 DER key', () => pki.client, (c: PkiCert) => ({ clientCert: c.certDer, clientKey: c.keyDer })],
      ['EC, DER certificate, SEC1 DER key', () => pki.client, (c: PkiCert) => ({ clientCert: c.certDer, clientKey: sec1Der(c) })],
      ['EC, PEM text chain, SEC1 PEM key', () => pki.client, (c: PkiCert) => ({ clientCert: c.chainPem, clientKey: pem(c, 'sec1') })],
      ['RSA, DER certificate, PKCS#8 DER key', () => pki.clientRsa, (c: PkiCert) => ({ clientCert: c.certDer, clientKey: c.keyDer })],
      ['RSA, DER certificate, PKCS#1 DER key', () => pki.clientRsa, (c: PkiCert) => ({ clientCert: c.certDer, clientKey: pkcs1Der(c) })],
      ['RSA, PEM bytes, PKCS#1 PEM bytes', () => pki.clientRsa, (c: PkiCert) => ({ clientCert: text(c.certPem), clientKey: text(pem(c, 'pkcs1')) })],
    ])('%s: satisfies a server that requires one', async (_form, who, creds) => {
      const s = await nodeServer(pki.server, { requestClientCert: true });
      const c = who();
      const r = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer], ...creds(c) });
      await handshake(r);
      r.c.write(text('id'));
      await waitFor('the echo', () => r.received === 'echo:id');
      expect(s.seen[0]?.clientCN).toBe(c === pki.clientRsa ? 'lwsx-device-rsa' : 'lwsx-device');
    });

    test('bad client credentials are ERR_TLS_CLIENT_CERT naming the part, before anything is sent', () => {
      const bad = (o: Partial<TlsOptions>): unknown => {
        try {
          host.tls({ address: '127.0.0.1', port: 9, ...o });
        } catch (e) {
          return { code: (e as LwsxError).code, part: (e as LwsxError).detail?.['part'] };
        }
        return 'no error';
      };
      expect(bad({ clientKey: pki.client.keyDer })).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'pair' });
      expect(bad({ clientCert: pki.client.keyDer, clientKey: pki.client.keyDer })).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
      expect(bad({ clientCert: pki.client.certDer, clientKey: pki.client.certDer })).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'key' });
      expect(bad({ clientCert: '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n', clientKey: pki.client.keyPem })).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'cert' });
      // a certificate with another's key
      expect(bad({ clientCert: pki.client.certDer, clientKey: pki.clientRsa.keyDer })).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'pair' });
      expect(bad({ clientCert: pki.client.certPem, clientKey: pki.server.keyPem })).toEqual({ code: 'ERR_TLS_CLIENT_CERT', part: 'pair' });
    });

    test.each([['TLSv1.2' as const], ['TLSv1.3' as const]])('without one, %s: the server refuses us', async (version) => {
      const s = await nodeServer(pki.server, { requestClientCert: true, maxVersion: version });
      const r = dial(s.port, { servername: 'localhost', trust: [pki.ca.certDer] });
      // in TLS 1.3 the client finishes its side before the server has judged its certificate,
      // so the refusal may come after onWritable
      await waitFor('the refusal', () => r.err !== undefined);
      await waitFor('the server\'s side of it', () => s.clientErrors.length === 1);
      expect(s.seen).toEqual([]);
      // either way it is the handshake that failed, not the connection
      expect(r.err?.code).toBe('ERR_TLS_HANDSHAKE');
      if (version === 'TLSv1.2') expect(r.writable).toEqual([]);
    });
  });

  test('contexts are cached by content: same trust and certificate, same context', () => {
    const a = clientSecureContext({ trust: [pki.ca.certDer] });
    const b = clientSecureContext({ trust: [new Uint8Array(pki.ca.certDer)] });
    const c = clientSecureContext({ trust: [pki.ca.certDer], clientCert: pki.client.certDer, clientKey: pki.client.keyDer });
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(clientSecureContext({})).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// our listener

interface Served { l: NodeListener; port: number; streams: NodeTlsStream[]; got: string[]; writable: boolean[]; handshakeErrors: SocketError[] }

/** Our TLS listener on 127.0.0.1, adopting every connection into an echo. */
async function ourServer(tls: ListenTlsOptions, extra: { handshakeTimeoutMs?: number } = {}): Promise<Served> {
  const r: Served = { l: undefined as unknown as NodeListener, port: 0, streams: [], got: [], writable: [], handshakeErrors: [] };
  r.l = host.listener({
    address: '127.0.0.1',
    port: 0,
    tls,
    ...extra,
    onHandshakeError: (e) => { r.handshakeErrors.push(e); },
    onReadable: () => {
      for (let a = r.l.read(); a; a = r.l.read()) {
        const i = r.streams.length;
        r.writable.push(false);
        r.got.push('');
        const s = a.adopt({
          onWritable: () => { r.writable[i] = true; },
          onReadable: () => {
            const b = Buffer.from(s.read() as ArrayBuffer).toString('latin1');
            r.got[i] += b;
            s.write(text(`echo:${b}`));
          },
          onError: () => {},
        }) as NodeTlsStream;
        r.streams.push(s);
      }
    },
  });
  r.port = await r.l.bound();
  cleanups.push(() => {
    for (const s of r.streams) s.close();
    r.l.close();
  });
  return r;
}

const serverTls = (): ListenTlsOptions => ({ cert: pki.server.certDer, key: pki.server.keyDer, alpn: ['http/1.1'] });

/** A node:tls client; resolves with it once connected (or with its error). */
function nodeClient(port: number, o: ConnectionOptions): Promise<{ s: TLSSocket; err?: Error & { code?: string }; data: () => string }> {
  return new Promise((ok) => {
    let data = '';
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: [pki.ca.certPem], ...o }, () => ok({ s, data: () => data }));
    s.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    s.on('error', (err) => ok({ s, err, data: () => data }));
    cleanups.push(() => { s.destroy(); });
  });
}

describe('listener', () => {
  test.each([
    ['DER certificate, PKCS#8 DER key', () => ({ cert: pki.server.certDer, key: pki.server.keyDer })],
    ['DER certificate, SEC1 DER key', () => ({ cert: pki.server.certDer, key: sec1Der(pki.server) })],
    ['PEM text', () => ({ cert: pki.server.certPem, key: pki.server.keyPem })],
    ['PEM bytes', () => ({ cert: text(pki.server.certPem), key: text(pki.server.keyPem) })],
    ['a DER chain as a list', () => ({ cert: [pki.server.certDer, pki.ca.certDer], key: pki.server.keyDer })],
    ['a PEM chain in one text', () => ({ cert: pki.server.chainPem, key: pki.server.keyPem })],
  ])('credentials as %s: a node:tls client verifies us, data both ways', async (_form, creds) => {
    const srv = await ourServer({ ...creds(), alpn: ['http/1.1'] });
    const c = await nodeClient(srv.port, { ALPNProtocols: ['http/1.1'] });
    expect(c.err).toBeUndefined();
    expect(c.s.authorized).toBe(true);
    await waitFor('adoption', () => srv.writable[0] === true);
    c.s.write('ping');
    await waitFor('the echo', () => c.data() === 'echo:ping');
    expect(srv.got).toEqual(['ping']);
  });

  test('ALPN and SNI: the server picks by its own preference among the client\'s offer, both sides see it', async () => {
    const srv = await ourServer({ ...serverTls(), alpn: ['http/1.1', 'h2'] });
    const c = await nodeClient(srv.port, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect(c.err).toBeUndefined();
    await waitFor('adoption', () => srv.writable[0] === true);
    // the server's preference wins (OpenSSL's SSL_select_next_proto, as lws uses it)
    expect(c.s.alpnProtocol).toBe(srv.streams[0]?.alpn);
    expect(c.s.alpnProtocol).toBe('http/1.1');
    expect(srv.streams[0]?.servername).toBe('localhost');
    expect(srv.streams[0]?.remoteAddress).toBe('127.0.0.1');
  });

  test('a client offering nothing we speak is refused; one offering no ALPN is served without', async () => {
    const srv = await ourServer(serverTls());
    const bad = await nodeClient(srv.port, { ALPNProtocols: ['h2'] });
    expect(bad.err).toBeDefined();
    await waitFor('the failure reported', () => srv.handshakeErrors.length === 1);
    expect(srv.handshakeErrors[0]?.code).toBe('ERR_TLS_HANDSHAKE');
    const none = await nodeClient(srv.port, {});
    expect(none.err).toBeUndefined();
    await waitFor('adoption', () => srv.writable[0] === true);
    expect(srv.streams[0]?.alpn).toBeUndefined();
  });

  test.each([['TLSv1.2' as const], ['TLSv1.3' as const]])('%s', async (version) => {
    const srv = await ourServer(serverTls());
    const c = await nodeClient(srv.port, { maxVersion: version, minVersion: version, ALPNProtocols: ['http/1.1'] });
    expect(c.err).toBeUndefined();
    expect(c.s.getProtocol()).toBe(version);
    await waitFor('adoption', () => srv.writable[0] === true);
    expect(srv.streams[0]?.protocol).toBe(version);
    expect(srv.streams[0]?.alpn).toBe('http/1.1');
    c.s.write('x');
    await waitFor('the echo', () => c.data() === 'echo:x');
  });

  test('our client and our listener: verification, ALPN, SNI, client certificate, both ends lwsx', async () => {
    const srv = await ourServer({ ...serverTls(), alpn: ['h2', 'http/1.1'], requestClientCert: true, trust: [pki.ca.certDer] });
    const r = dial(srv.port, { host: 'localhost', address: '127.0.0.1', trust: [pki.ca.certDer], alpn: ['http/1.1'], clientCert: pki.client.certDer, clientKey: pki.client.keyDer });
    await handshake(r);
    expect(r.c.alpn).toBe('http/1.1');
    r.c.write(text('hi'));
    await waitFor('the echo', () => r.received === 'echo:hi');
    expect(srv.streams[0]?.alpn).toBe('http/1.1');
    expect(srv.streams[0]?.servername).toBe('localhost');
  });

  test('a required client certificate: none, or one from an unknown CA, is refused; the listener serves on', async () => {
    const srv = await ourServer({ ...serverTls(), requestClientCert: true, trust: [pki.ca.certDer] });
    const none = await nodeClient(srv.port, { maxVersion: 'TLSv1.2' });
    expect(none.err).toBeDefined();
    const foreign = await nodeClient(srv.port, { maxVersion: 'TLSv1.2', cert: pki.untrusted.certPem, key: pki.untrusted.keyPem });
    expect(foreign.err).toBeDefined();
    // TLS 1.3: the client believes it is done before the server has looked at its certificate
    const none13 = await nodeClient(srv.port, {});
    await waitFor('the 1.3 refusal', () => none13.err !== undefined || none13.s.destroyed, 5000);
    await waitFor('three failures', () => srv.l.handshakeFailures === 3);
    expect(srv.streams).toEqual([]);
    // no certificate: OpenSSL refuses it in the handshake; a certificate from an unknown CA:
    // Node completes the handshake, notes why, drops the client, and we report that reason
    expect(srv.handshakeErrors.map((e) => `${e.code} ${String(e.detail?.['errno'])}`).sort()).toEqual([
      'ERR_TLS_HANDSHAKE ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
      'ERR_TLS_HANDSHAKE ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
      'ERR_TLS_UNTRUSTED UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ]);
    expect(srv.handshakeErrors.filter((e) => e instanceof TlsVerifyError).length).toBe(1);
    const good = await nodeClient(srv.port, { cert: pki.client.certPem, key: pki.client.keyPem });
    expect(good.err).toBeUndefined();
    await waitFor('adoption', () => srv.writable[0] === true);
    good.s.write('me');
    await waitFor('the echo', () => good.data() === 'echo:me');
  });

  test('clients that fail the handshake never reach read() and never harm the listener', async () => {
    const srv = await ourServer(serverTls(), { handshakeTimeoutMs: 300 });
    // 1. a client that does not trust us: it aborts with an alert
    const distrust = await nodeClient(srv.port, { ca: [pki.otherCa.certPem] });
    expect(distrust.err).toBeDefined();
    // 2. plain text instead of a ClientHello
    const junk = netConnect({ host: '127.0.0.1', port: srv.port }, () => junk.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    junk.on('error', () => {});
    cleanups.push(() => { junk.destroy(); });
    // 3. connects and hangs up at once; 4. connects and says nothing (the handshake times out)
    const gone = netConnect({ host: '127.0.0.1', port: srv.port }, () => gone.destroy());
    gone.on('error', () => {});
    const mute = netConnect({ host: '127.0.0.1', port: srv.port });
    mute.on('error', () => {});
    cleanups.push(() => { mute.destroy(); });
    await waitFor('four failures', () => srv.l.handshakeFailures >= 4);
    await sleep(20);
    expect(srv.streams).toEqual([]);
    expect(srv.handshakeErrors.every((e) => e instanceof SocketError && e.code === 'ERR_TLS_HANDSHAKE')).toBe(true);
    expect(srv.handshakeErrors.map((e) => e.detail?.['errno'])).toContain('ERR_TLS_HANDSHAKE_TIMEOUT');
    // and the listener still serves
    const ok = await nodeClient(srv.port, {});
    expect(ok.err).toBeUndefined();
    await waitFor('adoption', () => srv.writable[0] === true);
    ok.s.write('still here');
    await waitFor('the echo', () => ok.data() === 'echo:still here');
  });

  test('bytes sent before adoption wait for the adopter', async () => {
    let pending = 0;
    const l = host.listener({ address: '127.0.0.1', port: 0, tls: serverTls(), onReadable: (n) => { pending = n; } });
    cleanups.push(() => l.close());
    const port = await l.bound();
    const c = await nodeClient(port, {});
    c.s.write('early');
    await waitFor('the connection', () => pending === 1);
    await sleep(30);
    let got = '';
    let writable = false;
    const a = l.read();
    expect(l.read()).toBeUndefined();
    const s: NodeStream = a!.adopt({
      onWritable: () => { writable = true; },
      onReadable: () => { got += Buffer.from(s.read() as ArrayBuffer).toString('latin1'); },
    });
    cleanups.push(() => s.close());
    await waitFor('the early bytes', () => got === 'early' && writable);
  });

  test('bad credentials are usage errors when the listener is made', () => {
    const listen = (tls: ListenTlsOptions) => () => host.listener({ port: 0, tls, onReadable: () => {} });
    expect(codeOf(listen({ cert: new Uint8Array([1, 2, 3]), key: pki.server.keyDer }))).toBe('ERR_TLS_CERT');
    expect(codeOf(listen({ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: pki.server.keyDer }))).toBe('ERR_TLS_CERT');
    expect(codeOf(listen({ cert: pki.server.certDer, key: new Uint8Array([1, 2, 3]) }))).toBe('ERR_TLS_KEY');
    // a key that is not the certificate's
    expect(codeOf(listen({ cert: pki.server.certDer, key: pki.client.keyDer }))).toBe('ERR_TLS_KEY');
    expect(codeOf(listen({ cert: pki.server.certDer, key: pki.server.keyDer, requestClientCert: true }))).toBe('ERR_TLS_TRUST');
    expect(codeOf(listen({ cert: pki.server.certDer, key: pki.server.keyDer, trust: [pki.ca.certDer] }))).toBe('ERR_TLS_TRUST');
    expect(codeOf(() => host.listener({ port: 0, tls: serverTls(), handshakeTimeoutMs: 0, onReadable: () => {} }))).toBe('ERR_LISTEN_OPTION');
  });
});

describe('DER conversion', () => {
  test('certificates and keys round-trip to PEM', () => {
    expect(new X509Certificate(certDerToPem(pki.server.certDer)).subject).toBe('CN=localhost');
    for (const der of [pki.server.keyDer, sec1Der(pki.server)]) {
      expect(createPrivateKey(keyDerToPem(der)).asymmetricKeyType).toBe('ec');
    }
  });

  test('bytes that are not DER are usage errors', () => {
    expect(() => certDerToPem(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'ERR_TLS_CERT' }));
    expect(() => keyDerToPem(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'ERR_TLS_KEY' }));
  });
});
