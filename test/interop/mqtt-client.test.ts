/**
 * Our MQTT client against a real mosquitto: 3.1.1 and 5.0 over TCP with QoS 0/1/2 both ways
 * (mqtt.js on the other side, an independent client), TLS and WebSocket transports, stream
 * binding (two streams, one broker connection, as mosquitto's own log shows) and a session that
 * survives a broker SIGKILL + restart with persistence.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import mqtt from 'mqtt';
import type { MqttClient as MqttJs } from 'mqtt';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { RETRY_CONCEAL_ALWAYS, makeRetryPolicy } from '../../src/loop/retry.js';
import { mqttBind, mqttConnectionCount } from '../../src/protocols/mqtt/binding.js';
import type { MqttStream } from '../../src/protocols/mqtt/binding.js';
import { MqttClient } from '../../src/protocols/mqtt/mqtt-client.js';
import type { MqttClientOptions, MqttConnectInfo } from '../../src/protocols/mqtt/mqtt-client.js';
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

const PEERS = ['mosquitto', 'openssl'];
const { ok, peerTest } = requirePeers('mqtt client ↔ mosquitto', PEERS);
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
const FAST_RETRY = makeRetryPolicy({ table: [100, 200, 400], conceal: RETRY_CONCEAL_ALWAYS });

let ctx: Context;
let pki: Pki;
let broker: Mosquitto;
const clients: MqttClient[] = [];
const observers: MqttJs[] = [];

beforeAll(async () => {
  if (!ok) return;
  pki = await makePki();
  // notice level logs every client connecting and leaving: the binding test counts them
  broker = await startMosquitto({ pki, tls: true, ws: true, persistence: true, extra: 'log_type notice' });
  ctx = new Context({ host: await NodeHost.open(), board });
}, 30_000);

afterAll(async () => {
  for (const o of observers) o.end(true);
  ctx?.destroy();
  await broker?.stop();
  pki?.cleanup();
});

interface Seen {
  client: MqttClient;
  connects: MqttConnectInfo[];
  messages: MqttInboundMessage[];
  published: Array<{ id: number; err: LwsxError | undefined }>;
  subacks: number[][];
  disconnects: Array<LwsxError | undefined>;
  closed?: { err: LwsxError | undefined };
}

function client(opts: Partial<MqttClientOptions> = {}): Seen {
  const seen = { connects: [], messages: [], published: [], subacks: [], disconnects: [] } as unknown as Seen;
  seen.client = new MqttClient(ctx, { host: '127.0.0.1', port: broker.ports.plain, retry: FAST_RETRY, ...opts }, {
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

function observer(version: 4 | 5 = 5): Promise<{ c: MqttJs; got: Array<{ topic: string; text: string; qos: number }> }> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: '127.0.0.1', port: broker.ports.plain, protocolVersion: version, reconnectPeriod: 0 });
    observers.push(c);
    const got: Array<{ topic: string; text: string; qos: number }> = [];
    c.on('message', (topic, payload, packet) => got.push({ topic, text: payload.toString(), qos: packet.qos }));
    c.once('connect', () => resolve({ c, got }));
    c.once('error', reject);
  });
}

const text = (m: MqttInboundMessage): string => utf8Decode(m.payload);

describe.each([4, 5] as const)('MQTT %s over TCP', (version) => {
  peerTest('QoS 0, 1 and 2 both ways with mqtt.js on the other side', async () => {
    const us = client({ version });
    await waitFor('connack', () => us.connects.length === 1);
    expect(us.connects[0]).toMatchObject({ sessionPresent: false });
    us.client.subscribe([{ filter: `v${version}/in/#`, qos: 2 }]);
    await waitFor('suback', () => us.subacks.length === 1);
    expect(us.subacks[0]).toEqual([2]);

    const o = await observer(version);
    await new Promise<void>((r) => o.c.subscribe(`v${version}/out/#`, { qos: 2 }, () => r()));
    for (const qos of [0, 1, 2] as const) {
      await new Promise<void>((r) => o.c.publish(`v${version}/in/${qos}`, `to us at ${qos}`, { qos }, () => r()));
      us.client.publish(`v${version}/out/${qos}`, `from us at ${qos}`, { qos });
    }
    await waitFor('our messages', () => us.messages.length === 3);
    await waitFor('theirs', () => o.got.length === 3);
    expect(us.messages.map((m) => [m.topic, text(m), m.qos, m.matches])).toEqual(
      [0, 1, 2].map((q) => [`v${version}/in/${q}`, `to us at ${q}`, q, [`v${version}/in/#`]]),
    );
    expect(o.got.sort((a, b) => a.qos - b.qos)).toEqual([0, 1, 2].map((q) => ({ topic: `v${version}/out/${q}`, text: `from us at ${q}`, qos: q })));
    // QoS 1 and 2 completed (PUBACK; PUBREC/PUBREL/PUBCOMP)
    await waitFor('published', () => us.published.length === 2);
    expect(us.published.map((p) => p.err)).toEqual([undefined, undefined]);
    expect(us.client.session.inflightCount).toBe(0);
    us.client.end();
    await waitFor('closed', () => us.closed !== undefined);
    expect(us.closed?.err).toBeUndefined();
  });
});

peerTest('client id and user name come from the MQTT_* blobs; DISCONNECT 0x04 has the broker publish the will', async () => {
  ctx.system.blobs.get(BlobType.MQTT_CLIENT_ID).setDirect(utf8Encode('blob-device-7'));
  ctx.system.blobs.get(BlobType.MQTT_USERNAME).setDirect(utf8Encode('blob-user'));
  try {
    const o = await observer();
    await new Promise<void>((r) => o.c.subscribe('will/#', { qos: 1 }, () => r()));
    const us = client({ will: { topic: 'will/blob-device-7', payload: utf8Encode('lost'), qos: 1, retain: false } });
    await waitFor('connack', () => us.connects.length === 1);
    expect(us.connects[0]?.clientId).toBe('blob-device-7');
    expect(broker.output()).toMatch(/New client connected from .* as blob-device-7 \(p5, c1, k60, u'blob-user'\)/);
    // DISCONNECT 0x04: leave in order, but have the broker publish the will anyway
    us.client.end(0x04);
    await waitFor('will', () => o.got.length === 1);
    expect(o.got[0]).toEqual({ topic: 'will/blob-device-7', text: 'lost', qos: 1 });
  } finally {
    ctx.system.blobs.get(BlobType.MQTT_CLIENT_ID).reset();
    ctx.system.blobs.get(BlobType.MQTT_USERNAME).reset();
  }
});

peerTest('TLS and WebSocket transports carry the same session', async () => {
  for (const opts of [
    { transport: 'tls', host: 'localhost', port: broker.ports.tls, resolve: async () => ['127.0.0.1'], tls: { trust: [pki.ca.certDer] } },
    { transport: 'ws', port: broker.ports.ws },
  ] as Partial<MqttClientOptions>[]) {
    const us = client(opts);
    await waitFor(`${opts.transport} connack`, () => us.connects.length === 1);
    us.client.subscribe('echo/+', 1);
    us.client.publish(`echo/${opts.transport}`, 'over ' + opts.transport, { qos: 1 });
    await waitFor('echo', () => us.messages.length === 1);
    expect(text(us.messages[0]!)).toBe(`over ${opts.transport}`);
    us.client.end();
    await waitFor('closed', () => us.closed !== undefined);
    expect(us.closed?.err).toBeUndefined();
  }
});

peerTest('stream binding: two streams share one broker connection, with their own subscriptions and lifecycles', async () => {
  const clientId = 'bound-device-1';
  const opts: MqttClientOptions = { host: '127.0.0.1', port: broker.ports.plain, clientId, retry: FAST_RETRY };
  const got: Record<string, string[]> = { a: [], b: [] };
  const closed: string[] = [];
  const subacked: string[] = [];
  const mk = (name: 'a' | 'b'): MqttStream =>
    mqttBind(ctx, opts, {
      onMessage: (_s, m) => got[name]!.push(m.topic),
      onSuback: (_s, f) => subacked.push(`${name}:${f}`),
      onClose: () => closed.push(name),
    });
  const a = mk('a');
  const b = mk('b');
  expect(a.client).toBe(b.client);
  expect(mqttConnectionCount(ctx)).toBe(1);
  a.subscribe('shared/#', 1);
  b.subscribe('shared/#', 0);
  b.subscribe('only-b/#', 0);
  await waitFor('subacks', () => subacked.length === 3);
  expect(subacked.sort()).toEqual(['a:shared/#', 'b:only-b/#', 'b:shared/#']);
  const o = await observer();
  const send = (topic: string): Promise<void> => new Promise((r) => o.c.publish(topic, 'x', { qos: 1 }, () => r()));
  await send('shared/1');
  await send('only-b/1');
  await waitFor('deliveries', () => got['a']!.length === 1 && got['b']!.length === 2);
  expect(got['a']).toEqual(['shared/1']);
  expect(got['b']!.sort()).toEqual(['only-b/1', 'shared/1']);
  // mosquitto saw one client
  const connectsOf = (): number => broker.output().split('\n').filter((l) => l.includes(`New client connected`) && l.includes(` as ${clientId} `)).length;
  expect(connectsOf()).toBe(1);

  // a leaves: shared/# stays subscribed for b
  a.close();
  expect(closed).toEqual(['a']);
  expect(a.client.session.subscriptions.map((s) => s.filter).sort()).toEqual(['only-b/#', 'shared/#']);
  await send('shared/2');
  await waitFor('b still hears shared/#', () => got['b']!.includes('shared/2'));
  expect(got['a']).toEqual(['shared/1']);
  // b lets go of shared/#: now the broker is told
  b.unsubscribe('shared/#');
  expect(b.client.session.subscriptions.map((s) => s.filter)).toEqual(['only-b/#']);
  // the last stream closes the connection
  b.close();
  await waitFor('disconnect', () => broker.output().includes(`Client ${clientId} disconnected`));
  expect(b.client.state).toBe('closed');
  expect(mqttConnectionCount(ctx)).toBe(0);
  expect(connectsOf()).toBe(1);
});

peerTest('a broker that goes silent without a FIN (SIGSTOP): the validity timer hangs up and the client reconnects', async () => {
  const us = client({ keepAlive: 1, timeouts: { 'first-response': 1500 } });
  await waitFor('connack', () => us.connects.length === 1);
  broker.pause();
  try {
    await waitFor('validity hang-up', () => us.disconnects.length >= 1, 10_000);
  } finally {
    broker.resume();
  }
  expect(us.disconnects[0]?.code).toBe('ERR_VALIDITY_TIMEOUT');
  await waitFor('reconnected', () => us.connects.length === 2, 15_000);
  us.client.end();
  await waitFor('closed', () => us.closed !== undefined);
}, 30_000);

peerTest('a broker SIGKILL and restart: the client reconnects, the session resumes, queued messages are delivered', async () => {
  const us = client({ clientId: 'resume-device', cleanStart: false, sessionExpiryInterval: 600 });
  await waitFor('connack', () => us.connects.length === 1);
  us.client.subscribe('resume/#', 1);
  await waitFor('suback', () => us.subacks.length === 1);
  // persistence saves on every change (autosave_on_changes); give it a moment to write
  await new Promise((r) => setTimeout(r, 300));
  await broker.kill();
  await waitFor('loss noticed', () => us.disconnects.length >= 1);
  expect(us.client.state).not.toBe('connected');
  // published while the broker is down: waits in the offline queue
  const id = us.client.publish('resume/offline', 'kept', { qos: 1 });
  expect(us.client.session.queuedCount).toBe(1);
  await broker.restart();
  await waitFor('reconnected', () => us.connects.length === 2, 15_000);
  expect(us.connects[1]?.sessionPresent).toBe(true);
  // our own subscription, kept by the broker's session across its restart, brings it back
  await waitFor('delivered', () => us.messages.length === 1);
  expect(us.messages[0]).toMatchObject({ topic: 'resume/offline', qos: 1 });
  expect(text(us.messages[0]!)).toBe('kept');
  await waitFor('acknowledged', () => us.published.some((p) => p.id === id));
  expect(us.disconnects.every((e) => e !== undefined)).toBe(true);

  // and what another client sent while we were away waits in our session for us
  us.client.end(0);
  await waitFor('closed', () => us.closed !== undefined);
  const o = await observer();
  await new Promise<void>((r) => o.c.publish('resume/while-away', 'queued for you', { qos: 1 }, () => r()));
  const back = client({ clientId: 'resume-device', cleanStart: false, sessionExpiryInterval: 600 });
  await waitFor('back', () => back.connects.length === 1);
  expect(back.connects[0]?.sessionPresent).toBe(true);
  await waitFor('queued message', () => back.messages.length === 1);
  expect(back.messages[0]).toMatchObject({ topic: 'resume/while-away', matches: [] });
  back.client.end();
}, 40_000);
