/**
 * The MQTT client glue (session on a wsi, reconnects, validity, blobs) against a scripted
 * broker on loopback: a deliberately broken broker is what these paths need, which mosquitto
 * cannot be made to be. Its packets are our codec's; what the client sends is decoded the same.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { makeRetryPolicy } from '../../src/loop/retry.js';
import { endpointKey, mqttBind, mqttConnectionCount } from '../../src/protocols/mqtt/binding.js';
import type { MqttStream } from '../../src/protocols/mqtt/binding.js';
import { MqttDecoder } from '../../src/protocols/mqtt/decoder.js';
import { encodePacket } from '../../src/protocols/mqtt/encode.js';
import { MqttClient, randomClientId } from '../../src/protocols/mqtt/mqtt-client.js';
import type { MqttClientOptions } from '../../src/protocols/mqtt/mqtt-client.js';
import type { ConnectPacket, MqttPacket } from '../../src/protocols/mqtt/packet.js';
import { BlobType } from '../../src/system/blob.js';
import type { LwsxError } from '../../src/util/errors.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { waitFor } from '../helpers/wait.js';

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let ctx: Context;
let server: Server | undefined;
const sockets = new Set<Socket>();

beforeEach(async () => {
  ctx = new Context({ host: await NodeHost.open(), board });
});
afterEach(async () => {
  ctx.destroy();
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

interface Conn {
  n: number;
  packets: MqttPacket[];
  send(p: MqttPacket | Uint8Array): void;
  sock: Socket;
}

/** A broker that runs `script` for every packet of every connection (n counts connections from 1). */
async function scripted(script: (c: Conn, p: MqttPacket) => void): Promise<{ port: number; conns: Conn[] }> {
  const conns: Conn[] = [];
  server = createServer((sock) => {
    sockets.add(sock);
    const dec = new MqttDecoder();
    const c: Conn = {
      n: conns.length + 1,
      packets: [],
      sock,
      send: (p) => {
        if (!sock.destroyed) sock.write(p instanceof Uint8Array ? p : encodePacket(p, dec.version ?? 5));
      },
    };
    conns.push(c);
    sock.on('data', (d) => {
      for (const p of dec.push(new Uint8Array(d))) {
        c.packets.push(p);
        script(c, p);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server!.address() as { port: number }).port, conns };
}

function client(port: number, opts: Partial<MqttClientOptions> = {}) {
  const seen = { connects: 0, disconnects: [] as Array<{ err: LwsxError | undefined; ms: number | undefined }>, closed: undefined as { err: LwsxError | undefined } | undefined };
  const c = new MqttClient(ctx, { host: '127.0.0.1', port, retry: makeRetryPolicy({ table: [20] , conceal: 100 }), ...opts }, {
    onConnect: () => seen.connects++,
    onDisconnect: (_c, err, ms) => seen.disconnects.push({ err, ms }),
    onClose: (_c, err) => (seen.closed = { err }),
  });
  return { c, seen };
}

const connack: MqttPacket = { type: 'connack', sessionPresent: false, reasonCode: 0 };

test('a broker that sends a malformed packet gets DISCONNECT 0x81, and the client reconnects', async () => {
  const b = await scripted((c, p) => {
    if (p.type === 'connect') c.send(connack);
    // the first connection's SUBSCRIBE is answered with a PUBLISH at QoS 3
    if (p.type === 'subscribe' && c.n === 1) c.send(Uint8Array.of(0x36, 0x03, 0x00, 0x01, 0x61));
  });
  const { c, seen } = client(b.port);
  c.subscribe('x');
  await waitFor('second connection', () => seen.connects === 2);
  expect(b.conns[0]!.packets.map((p) => p.type)).toEqual(['connect', 'subscribe', 'disconnect']);
  expect(b.conns[0]!.packets[2]).toMatchObject({ reasonCode: 0x81 });
  // the SUBSCRIBE that was never answered is asked again
  await waitFor('subscribe again', () => b.conns[1]!.packets.some((p) => p.type === 'subscribe'));
  expect(seen.disconnects).toHaveLength(1);
  expect(seen.disconnects[0]!.err?.code).toBe('ERR_MQTT_MALFORMED');
  expect(seen.disconnects[0]!.ms).toBeGreaterThanOrEqual(20);
  expect(b.conns[1]!.packets[0]).toMatchObject({ type: 'connect', clientId: (b.conns[0]!.packets[0] as ConnectPacket).clientId });
  c.end();
  await waitFor('closed', () => seen.closed !== undefined);
  expect(seen.closed?.err).toBeUndefined();
  await waitFor('DISCONNECT', () => b.conns[1]!.packets.some((p) => p.type === 'disconnect'));
});

test('a refusing broker: retried while the policy conceals, then ERR_MQTT_ALL_RETRIES_FAILED naming the refusal', async () => {
  const b = await scripted((c, p) => {
    if (p.type === 'connect') c.send({ type: 'connack', sessionPresent: false, reasonCode: 0x87 });
  });
  const { c, seen } = client(b.port, { retry: makeRetryPolicy({ table: [10, 20], conceal: 2 }) });
  await waitFor('gave up', () => seen.closed !== undefined);
  expect(c.attempts).toBe(3);
  expect(seen.disconnects.map((d) => [d.err?.code, d.ms === undefined])).toEqual([
    ['ERR_MQTT_NOT_AUTHORIZED', false],
    ['ERR_MQTT_NOT_AUTHORIZED', false],
    ['ERR_MQTT_NOT_AUTHORIZED', true],
  ]);
  expect(seen.closed?.err).toMatchObject({ code: 'ERR_MQTT_ALL_RETRIES_FAILED', detail: { cause: 'ERR_MQTT_NOT_AUTHORIZED', failures: 3 } });
  expect(c.state).toBe('closed');
  expect(() => c.publish('t', 'x')).toThrow(expect.objectContaining({ code: 'ERR_MQTT_CLOSED' }));
});

test('no client id anywhere: a random one, kept across reconnects; the password comes from its blob', async () => {
  ctx.system.blobs.get(BlobType.MQTT_PASSWORD).setDirect(Uint8Array.of(0, 1, 0xff));
  ctx.system.blobs.get(BlobType.MQTT_USERNAME).setDirect(utf8Encode('dev'));
  const b = await scripted((c, p) => {
    if (p.type !== 'connect') return;
    c.send(connack);
    if (c.n === 1) c.sock.destroy();
  });
  const { seen } = client(b.port);
  await waitFor('two connections', () => seen.connects === 2);
  const [c1, c2] = b.conns.map((c) => c.packets[0] as ConnectPacket);
  expect(c1!.clientId).toMatch(/^lwsx[0-9a-f]{16}$/);
  expect(c2!.clientId).toBe(c1!.clientId);
  expect(c1).toMatchObject({ username: 'dev', password: Uint8Array.of(0, 1, 0xff) });
  expect(randomClientId((b) => b.fill(0xab))).toBe('lwsxabababababababab');
});

test('a broker that stops answering: PINGREQ after the keep-alive, then the validity hang-up and a reconnect', async () => {
  const b = await scripted((c, p) => {
    if (p.type === 'connect') c.send(connack);
    // PINGREQ goes unanswered on the first connection
    if (p.type === 'pingreq' && c.n > 1) c.send({ type: 'pingresp' });
  });
  const { c, seen } = client(b.port, { keepAlive: 1 });
  await waitFor('hang-up', () => seen.disconnects.length === 1, 5000);
  expect(seen.disconnects[0]!.err?.code).toBe('ERR_VALIDITY_TIMEOUT');
  expect(b.conns[0]!.packets.map((p) => p.type)).toContain('pingreq');
  await waitFor('reconnected', () => seen.connects === 2);
  c.end();
});

test('end() while waiting to reconnect: closed at once, nothing more dialled', async () => {
  const b = await scripted((c, p) => {
    if (p.type === 'connect') c.sock.destroy();
  });
  const { c, seen } = client(b.port, { retry: makeRetryPolicy({ table: [60_000], conceal: 5 }) });
  await waitFor('first failure', () => seen.disconnects.length === 1);
  expect(c.state).toBe('waiting');
  c.end();
  expect(seen.closed).toEqual({ err: undefined });
  expect(c.state).toBe('closed');
  expect(b.conns).toHaveLength(1);
});

test('bad options are typed usage errors', () => {
  expect(() => new MqttClient(ctx, { host: '' })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
  expect(() => new MqttClient(ctx, { host: 'h', port: 0 })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
  expect(() => new MqttClient(ctx, { host: 'h', transport: 'quic' as 'tcp' })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
  expect(() => new MqttClient(ctx, { host: 'h', keepAlive: -1 })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
});

describe('what is never completed is reported when the client finishes', () => {
  const noAcks = (c: Conn, p: MqttPacket): void => {
    if (p.type === 'connect') c.send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 1 } });
  };

  test('end(): the in-flight and the queued QoS 1/2 messages are dropped with ERR_MQTT_CLOSED before onClose', async () => {
    const b = await scripted(noAcks);
    const log: string[] = [];
    const c = new MqttClient(ctx, { host: '127.0.0.1', port: b.port }, {
      onConnect: () => log.push('connect'),
      onDropped: (_c, ev) => log.push(`dropped ${ev.id} ${ev.topic} ${ev.reason} ${ev.error.code}`),
      onClose: (_c, err) => log.push(`close ${err?.code}`),
    });
    await waitFor('connected', () => c.connected);
    const a = c.publish('a', 'x', { qos: 1 });
    const q = c.publish('b', 'y', { qos: 2 });
    await waitFor('first PUBLISH', () => b.conns[0]!.packets.some((p) => p.type === 'publish'));
    expect([c.session.inflightCount, c.session.queuedCount]).toEqual([1, 1]);
    c.end();
    await waitFor('closed', () => log.at(-1)?.startsWith('close') === true);
    expect(log).toEqual(['connect', `dropped ${a} a closed ERR_MQTT_CLOSED`, `dropped ${q} b closed ERR_MQTT_CLOSED`, 'close undefined']);
    await waitFor('DISCONNECT', () => b.conns[0]!.packets.some((p) => p.type === 'disconnect'));
    expect(b.conns[0]!.packets.map((p) => p.type)).toEqual(['connect', 'publish', 'disconnect']);
  });

  test('the retry policy giving up drops what was queued; a bound stream hears it before its onClose', async () => {
    const b = await scripted((c, p) => {
      if (p.type === 'connect') c.send({ type: 'connack', sessionPresent: false, reasonCode: 0x87 });
    });
    const log: string[] = [];
    const s = mqttBind(ctx, { host: '127.0.0.1', port: b.port, retry: makeRetryPolicy({ table: [10], conceal: 1 }) }, {
      onDropped: (_s, id, reason, err) => log.push(`dropped ${id} ${reason} ${err.code}`),
      onClose: (_s, err) => log.push(`close ${err?.code}`),
    });
    const id = s.publish('t', 'x', { qos: 1 });
    await waitFor('closed', () => log.at(-1)?.startsWith('close') === true);
    expect(log).toEqual([`dropped ${id} closed ERR_MQTT_CLOSED`, 'close ERR_MQTT_ALL_RETRIES_FAILED']);
    expect(white(s).conn.publishers.size).toBe(0);
    expect(mqttConnectionCount(ctx)).toBe(0);
  });
});

/** The binding's private bookkeeping: what no handler shows, but must not leak. */
const white = (s: MqttStream) => s as unknown as { conn: { publishers: Map<number, unknown>; granted: Map<string, number>; asked: Map<string, number> } };

describe('stream binding', () => {
  test('{host} and {host, port: <the default>} are one connection; another port is another', () => {
    expect(endpointKey({ host: 'h' })).toBe(endpointKey({ host: 'h', port: 1883 }));
    expect(endpointKey({ host: 'h', transport: 'wss' })).toBe(endpointKey({ host: 'h', transport: 'wss', port: 443 }));
    expect(endpointKey({ host: 'h', transport: 'tls' })).not.toBe(endpointKey({ host: 'h', transport: 'tls', port: 1883 }));
    expect(endpointKey({ host: 'h' })).not.toBe(endpointKey({ host: 'h', port: 1884 }));
    // loopback's 1883: whatever answers there, both streams share the one client dialling it
    const s1 = mqttBind(ctx, { host: '127.0.0.1' });
    const s2 = mqttBind(ctx, { host: '127.0.0.1', port: 1883 });
    expect(mqttConnectionCount(ctx)).toBe(1);
    expect(s1.client).toBe(s2.client);
    s1.close();
    s2.close();
    expect(mqttConnectionCount(ctx)).toBe(0);
  });

  test('a password is not kept in the key as text; a string and its UTF-8 bytes are the same credential', () => {
    const k = endpointKey({ host: 'h', password: 'hunter2' });
    expect(k).not.toContain('hunter2');
    expect(k).toBe(endpointKey({ host: 'h', password: utf8Encode('hunter2') }));
    expect(k).not.toBe(endpointKey({ host: 'h', password: 'hunter3' }));
    expect(k).not.toBe(endpointKey({ host: 'h' }));
  });

  test('a filter let go before its SUBACK is not recorded as granted', async () => {
    const b = await scripted((c, p) => {
      if (p.type === 'connect') c.send(connack);
      if (p.type === 'subscribe') c.send({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((x) => x.qos) });
      if (p.type === 'unsubscribe') c.send({ type: 'unsuback', packetId: p.packetId, reasonCodes: p.filters.map(() => 0) });
    });
    const subacks: string[] = [];
    const s = mqttBind(ctx, { host: '127.0.0.1', port: b.port }, { onSuback: (_s, f, rc) => subacks.push(`${f} ${rc}`) });
    s.subscribe('gone', 1);
    s.unsubscribe('gone');
    // the broker answers in order: this SUBACK comes after those for "gone"
    s.subscribe('kept', 1);
    await waitFor('suback for kept', () => subacks.includes('kept 1'));
    expect(subacks).toEqual(['kept 1']);
    expect(b.conns[0]!.packets.map((p) => p.type)).toEqual(['connect', 'subscribe', 'unsubscribe', 'subscribe']);
    expect([...white(s).conn.granted]).toEqual([['kept', 1]]);
    expect([...white(s).conn.asked.keys()]).toEqual(['kept']);
    s.close();
  });
});
