/**
 * The MQTT interop matrix against mosquitto: every transport (plain TCP, TLS, mutual TLS with
 * the client certificate from the CLIENT_CERT_DER / CLIENT_KEY_DER blobs, WebSocket, secure
 * WebSocket) × protocol 3.1.1 and 5.0 × what a device needs of a broker: QoS 0/1/2 both ways,
 * retained messages (set, received on subscribe, cleared), the will on an abrupt disconnect
 * (and on a 5.0 DISCONNECT 0x04), and a persistent session that collects QoS 1/2 messages while
 * the device is away. Every client here is ours; the broker is the independent side. The
 * closing summary is the matrix the issue note reports.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { RETRY_CONCEAL_ALWAYS, makeRetryPolicy } from '../../src/loop/retry.js';
import { MqttClient } from '../../src/protocols/mqtt/mqtt-client.js';
import type { MqttClientOptions, MqttConnectInfo } from '../../src/protocols/mqtt/mqtt-client.js';
import type { MqttVersion, QoS } from '../../src/protocols/mqtt/packet.js';
import type { MqttInboundMessage } from '../../src/protocols/mqtt/session.js';
import { BlobType } from '../../src/system/blob.js';
import type { LwsxError } from '../../src/util/errors.js';
import { utf8Decode, utf8Encode } from '../../src/util/utf8.js';
import { waitFor } from '../helpers/wait.js';
import { startMosquitto } from '../peers/mosquitto.js';
import type { Mosquitto } from '../peers/mosquitto.js';
import { requirePeers } from '../peers/peers.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';

const { ok, peerTest } = requirePeers('mqtt interop matrix', ['mosquitto', 'openssl']);
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
const FAST_RETRY = makeRetryPolicy({ table: [100, 200, 400], conceal: RETRY_CONCEAL_ALWAYS });

type Transport = 'tcp' | 'tls' | 'mtls' | 'ws' | 'wss';
const TRANSPORTS: Transport[] = ['tcp', 'tls', 'mtls', 'ws', 'wss'];
const VERSIONS: MqttVersion[] = [4, 5];
const FEATURES = ['QoS 0/1/2', 'retained', 'will: abrupt', 'will: 0x04', 'resume'] as const;
type Feature = (typeof FEATURES)[number];
/** DISCONNECT with a reason code is 5.0 only */
const applies = (v: MqttVersion, f: Feature): boolean => f !== 'will: 0x04' || v === 5;
const CASES: Array<[Transport, MqttVersion, Feature]> = TRANSPORTS.flatMap((t) => VERSIONS.flatMap((v) => FEATURES.filter((f) => applies(v, f)).map((f) => [t, v, f] as [Transport, MqttVersion, Feature])));

let pki: Pki;
let broker: Mosquitto;
/** no client certificate in its blobs */
let ctx: Context;
/** the device certificate in CLIENT_CERT_DER / CLIENT_KEY_DER, as lws reads it for mutual TLS */
let certCtx: Context;
const contexts: Context[] = [];
const clients: MqttClient[] = [];
const results = new Map<string, string>();

async function newContext(withCert: boolean): Promise<Context> {
  const c = new Context({ host: await NodeHost.open(), board });
  if (withCert) {
    c.system.blobs.get(BlobType.CLIENT_CERT_DER).setDirect(pki.client.certDer);
    c.system.blobs.get(BlobType.CLIENT_KEY_DER).setDirect(pki.client.keyDer);
  }
  contexts.push(c);
  return c;
}

beforeAll(async () => {
  if (!ok) return;
  pki = await makePki();
  // notice logs each connection with its user name: the mutual-TLS one is the certificate's CN
  broker = await startMosquitto({ pki, tls: true, mtls: true, ws: true, wss: true, extra: 'log_type notice' });
  ctx = await newContext(false);
  certCtx = await newContext(true);
}, 30_000);

afterAll(async () => {
  for (const c of clients) if (c.state !== 'closed') c.end();
  for (const c of contexts) c.destroy();
  await broker?.stop();
  pki?.cleanup();
  if (!ok || results.size === 0) return;
  const w = 14;
  const lines = ['MQTT interop matrix (lwsx client ↔ mosquitto): ✓ passed, ✗ failed, — not applicable'];
  lines.push(['transport'.padEnd(w), ...FEATURES.map((f) => f.padEnd(w))].join(''));
  for (const t of TRANSPORTS) {
    for (const v of VERSIONS) {
      const cells = FEATURES.map((f) => (applies(v, f) ? (results.get(key(t, v, f)) ?? '?') : '—').padEnd(w));
      lines.push([`${t} ${v === 5 ? '5.0' : '3.1.1'}`.padEnd(w), ...cells].join(''));
    }
  }
  lines.push(`mutual TLS without a client certificate: ${results.get('mtls refusal') ?? '?'}`);
  console.log(lines.join('\n'));
});

const key = (t: Transport, v: MqttVersion, f: Feature): string => `${t} ${v} ${f}`;

function endpoint(t: Transport): Partial<MqttClientOptions> {
  const trust = { trust: [pki.ca.certDer] };
  const p = broker.ports;
  switch (t) {
    case 'tcp':
      return { port: p.plain };
    case 'tls':
      return { transport: 'tls', port: p.tls!, tls: trust };
    case 'mtls':
      return { transport: 'tls', port: p.mtls!, tls: trust };
    case 'ws':
      return { transport: 'ws', port: p.ws! };
    case 'wss':
      return { transport: 'wss', port: p.wss!, tls: trust };
  }
}

interface Seen {
  client: MqttClient;
  connects: MqttConnectInfo[];
  messages: MqttInboundMessage[];
  published: Array<{ id: number; err: LwsxError | undefined }>;
  subacks: number[][];
  disconnects: Array<LwsxError | undefined>;
  closed?: { err: LwsxError | undefined };
}

/** One of our clients on transport `t`; mutual TLS takes the blobs of `on` (certCtx by default). */
function client(t: Transport, version: MqttVersion, opts: Partial<MqttClientOptions> = {}, on?: Context): Seen {
  const seen = { connects: [], messages: [], published: [], subacks: [], disconnects: [] } as unknown as Seen;
  const c = on ?? (t === 'mtls' ? certCtx : ctx);
  seen.client = new MqttClient(c, { host: '127.0.0.1', retry: FAST_RETRY, version, ...endpoint(t), ...opts }, {
    onConnect: (_c, info) => seen.connects.push(info),
    onMessage: (_c, m) => seen.messages.push(m),
    onPublished: (_c, id, err) => seen.published.push({ id, err }),
    onSuback: (_c, ev) => seen.subacks.push(ev.reasonCodes),
    onDisconnect: (_c, err) => seen.disconnects.push(err),
    onClose: (_c, err) => (seen.closed = { err }),
  });
  clients.push(seen.client);
  return seen;
}

async function connected(s: Seen): Promise<Seen> {
  await waitFor('connack', () => s.connects.length > 0 || s.closed !== undefined);
  expect(s.closed).toBeUndefined();
  return s;
}

async function subscribed(s: Seen, filter: string, qos: QoS): Promise<void> {
  const n = s.subacks.length;
  s.client.subscribe(filter, qos);
  await waitFor(`suback ${filter}`, () => s.subacks.length > n);
  expect(s.subacks[n]).toEqual([qos]);
}

async function ended(s: Seen, reasonCode = 0): Promise<void> {
  s.client.end(reasonCode);
  await waitFor('closed', () => s.closed !== undefined);
  expect(s.closed?.err).toBeUndefined();
}

const text = (m: MqttInboundMessage): string => utf8Decode(m.payload);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** 0..255 repeated: a binary payload that spans TLS records and WebSocket frames when long */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

const FEATURE_TESTS: Record<Feature, (t: Transport, v: MqttVersion, base: string) => Promise<void>> = {
  'QoS 0/1/2': async (t, v, base) => {
    const sub = await connected(client(t, v));
    await subscribed(sub, `${base}/#`, 2);
    const pub = await connected(client(t, v));
    // 40 kB spans several TLS records and socket reads (mosquitto's WebSocket side, serviced
    // from its main loop, moves a few kB per pass: larger costs seconds there, for mqtt.js too)
    const payloads = [utf8Encode('qos 0'), pattern(300, 1), pattern(40_000, 2)];
    const ids = ([0, 1, 2] as const).map((qos) => pub.client.publish(`${base}/${qos}`, payloads[qos]!, { qos }));
    await waitFor('three messages', () => sub.messages.length === 3);
    const got = [...sub.messages].sort((a, b) => a.qos - b.qos);
    expect(got.map((m) => [m.topic, m.qos, m.retain, m.dup])).toEqual([0, 1, 2].map((q) => [`${base}/${q}`, q, false, false]));
    // byte by byte: Jest's deep equality on a large typed array costs hundreds of ms
    got.forEach((m, q) => expect(sameBytes(m.payload, payloads[q]!)).toBe(true));
    // QoS 1 (PUBACK) and QoS 2 (PUBREC, PUBREL, PUBCOMP) complete at the publisher
    await waitFor('published', () => pub.published.length === 2);
    expect(pub.published.sort((a, b) => a.id - b.id)).toEqual([{ id: ids[1], err: undefined }, { id: ids[2], err: undefined }]);
    expect(pub.client.session.inflightCount).toBe(0);
    await waitFor('QoS 2 released at the subscriber', () => sub.client.session.awaitingReleaseCount === 0);
    await ended(pub);
    await ended(sub);
  },

  retained: async (t, v, base) => {
    const pub = await connected(client(t, v));
    const id = pub.client.publish(`${base}/a`, 'kept', { qos: 1, retain: true });
    await waitFor('retained set', () => pub.published.some((p) => p.id === id));
    // a subscriber that comes later hears it at once, flagged retained
    const late = await connected(client(t, v));
    await subscribed(late, `${base}/#`, 1);
    await waitFor('retained message', () => late.messages.length === 1);
    expect(late.messages[0]).toMatchObject({ topic: `${base}/a`, retain: true, qos: 1 });
    expect(text(late.messages[0]!)).toBe('kept');
    // an empty retained payload clears it
    const clear = pub.client.publish(`${base}/a`, new Uint8Array(0), { qos: 1, retain: true });
    await waitFor('cleared', () => pub.published.some((p) => p.id === clear));
    const after = await connected(client(t, v));
    await subscribed(after, `${base}/#`, 1);
    // mosquitto queues retained messages when it handles the SUBSCRIBE, before it reads our
    // next packet: once our own fence comes back, anything retained would have come first
    after.client.publish(`${base}/fence`, 'fence', { qos: 1 });
    await waitFor('fence', () => after.messages.some((m) => m.topic === `${base}/fence`));
    expect(after.messages.map((m) => m.topic)).toEqual([`${base}/fence`]);
    for (const s of [pub, late, after]) await ended(s);
  },

  'will: abrupt': async (t, v, base) => {
    const watcher = await connected(client(t, v));
    await subscribed(watcher, `${base}/#`, 1);
    // the device on a context of its own, destroyed under it: the socket closes, no DISCONNECT
    const devCtx = await newContext(t === 'mtls');
    const dev = await connected(client(t, v, { will: { topic: `${base}/dev`, payload: utf8Encode('gone'), qos: 1, retain: false } }, devCtx));
    devCtx.destroy();
    expect(dev.closed).toBeDefined();
    await waitFor('will', () => watcher.messages.length === 1);
    expect(watcher.messages[0]).toMatchObject({ topic: `${base}/dev`, qos: 1 });
    expect(text(watcher.messages[0]!)).toBe('gone');
    await ended(watcher);
  },

  'will: 0x04': async (t, v, base) => {
    const watcher = await connected(client(t, v));
    await subscribed(watcher, `${base}/#`, 1);
    const dev = await connected(client(t, v, { will: { topic: `${base}/dev`, payload: utf8Encode('asked for'), qos: 1, retain: false } }));
    // an orderly DISCONNECT that still asks for the will (Disconnect with Will Message)
    await ended(dev, 0x04);
    await waitFor('will', () => watcher.messages.length === 1);
    expect(watcher.messages[0]).toMatchObject({ topic: `${base}/dev`, qos: 1 });
    expect(text(watcher.messages[0]!)).toBe('asked for');
    await ended(watcher);
  },

  resume: async (t, v, base) => {
    const clientId = `resume-${t}-${v}`;
    const persistent: Partial<MqttClientOptions> = { clientId, cleanStart: false, ...(v === 5 ? { sessionExpiryInterval: 300 } : {}) };
    // 5.0 starts clean and keeps the session for its expiry; 3.1.1's Clean Session 0 is what keeps it
    const dev = await connected(client(t, v, { ...persistent, cleanStart: v === 5 }));
    await subscribed(dev, `${base}/#`, 2);
    await ended(dev);
    // while the device is away: one QoS 1 and one QoS 2 message for its session
    const pub = await connected(client(t, v));
    const ids = [pub.client.publish(`${base}/1`, 'one', { qos: 1 }), pub.client.publish(`${base}/2`, 'two', { qos: 2 })];
    await waitFor('published', () => pub.published.length === 2);
    expect(pub.published.map((p) => p.id).sort((a, b) => a - b)).toEqual(ids);
    await ended(pub);
    // back, asking to resume (3.1.1: Clean Session 0; 5.0: Clean Start 0 within the expiry)
    const back = await connected(client(t, v, persistent));
    expect(back.connects[0]?.sessionPresent).toBe(true);
    await waitFor('queued messages', () => back.messages.length === 2);
    expect(back.messages.map((m) => [m.topic, text(m), m.qos])).toEqual([
      [`${base}/1`, 'one', 1],
      [`${base}/2`, 'two', 2],
    ]);
    await waitFor('QoS 2 released', () => back.client.session.awaitingReleaseCount === 0);
    await ended(back);
  },
};

describe('mosquitto interop matrix', () => {
  // the cases are independent (own topics, client ids and clients): they run five at a time,
  // which hides most of mosquitto's WebSocket latency (its WebSocket side is serviced from its
  // main loop, at least every 100 ms)
  (ok ? test.concurrent : test.concurrent.skip).each(CASES)('%s MQTT %s: %s', async (t, v, f) => {
    const k = key(t, v, f);
    results.set(k, '✗');
    await FEATURE_TESTS[f](t, v, `mx/${t}/${v}/${f.replace(/[^a-z0-9]+/gi, '-')}`);
    results.set(k, '✓');
  }, 20_000);

  peerTest('mutual TLS: the certificate from the blobs is the user name mosquitto sees', async () => {
    const s = await connected(client('mtls', 5, { clientId: 'mtls-identity' }));
    // use_identity_as_username: the broker took the certificate's CN
    expect(broker.output()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as mtls-identity \(p5, c1, k60, u'lwsx-device'\)/);
    await ended(s);
  });

  peerTest('mutual TLS without a client certificate is refused, and the refusal reaches the user', async () => {
    results.set('mtls refusal', '✗');
    const s = client('mtls', 5, { retry: makeRetryPolicy({ table: [50], conceal: 2 }) }, ctx);
    await waitFor('given up', () => s.closed !== undefined);
    expect(s.connects).toHaveLength(0);
    expect(s.closed?.err?.code).toBe('ERR_MQTT_ALL_RETRIES_FAILED');
    expect(s.disconnects.length).toBeGreaterThanOrEqual(2);
    for (const e of s.disconnects) expect(e).toBeDefined();
    results.set('mtls refusal', `✓ (${s.disconnects[0]?.code})`);
  });

  peerTest('a certificate blob without its key blob is a typed error, not a connection without a certificate', async () => {
    const half = await newContext(false);
    half.system.blobs.get(BlobType.CLIENT_CERT_DER).setDirect(pki.client.certDer);
    const s = client('mtls', 5, { retry: makeRetryPolicy({ table: [50], conceal: 1 }) }, half);
    await waitFor('given up', () => s.closed !== undefined);
    expect(s.connects).toHaveLength(0);
    expect(s.disconnects[0]?.code).toBe('ERR_TLS_CLIENT_CERT');
  });
});
