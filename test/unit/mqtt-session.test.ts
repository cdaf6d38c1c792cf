/**
 * The MQTT client session machine driven by bytes: the "broker" side is our own codec (encode
 * what a broker sends, decode what the client wrote), so every assertion is on the wire.
 */
import { describe, expect, test } from '@jest/globals';
import { MqttDecoder } from '../../src/protocols/mqtt/decoder.js';
import { encodePacket } from '../../src/protocols/mqtt/encode.js';
import { MqttError } from '../../src/protocols/mqtt/mqtt-error.js';
import type { MqttPacket, MqttVersion, PublishPacket, QoS } from '../../src/protocols/mqtt/packet.js';
import { PacketIds } from '../../src/protocols/mqtt/packet-ids.js';
import type { MqttProperties } from '../../src/protocols/mqtt/properties.js';
import { MqttSession } from '../../src/protocols/mqtt/session.js';
import type { MqttSessionEvent, MqttSessionOptions } from '../../src/protocols/mqtt/session.js';
import { utf8Encode } from '../../src/util/utf8.js';

const S = 1_000_000;
const bytes = (s: string): Uint8Array => utf8Encode(s);

/** One broker-side connection: decodes what the client sends, encodes what it answers. */
class Broker {
  private dec = new MqttDecoder({ maxPacketSize: 1 << 24 });
  constructor(readonly s: MqttSession, readonly v: MqttVersion) {}
  /** packets the client has written since the last read */
  read(): MqttPacket[] {
    return this.s.pendingOutput().flatMap((b) => this.dec.push(b));
  }
  send(p: MqttPacket, now = 0): MqttSessionEvent[] {
    return this.s.receive(encodePacket(p, this.v), now);
  }
  connack(sessionPresent = false, properties?: MqttProperties, now = 0): MqttSessionEvent[] {
    return this.send(this.v === 5 ? { type: 'connack', sessionPresent, reasonCode: 0, properties } : { type: 'connack', sessionPresent, reasonCode: 0 }, now);
  }
  ack(type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number, reasonCode = 0, now = 0): MqttSessionEvent[] {
    return this.send({ type, packetId, reasonCode }, now);
  }
  publish(p: Omit<PublishPacket, 'type' | 'dup' | 'retain'> & { dup?: boolean; retain?: boolean }, now = 0): MqttSessionEvent[] {
    return this.send({ type: 'publish', dup: false, retain: false, ...p } as PublishPacket, now);
  }
}

function session(opts: Partial<MqttSessionOptions> = {}): MqttSession {
  return new MqttSession({ clientId: 'dev1', ...opts });
}

/** A session with a new connection (CONNECT read) and, unless told otherwise, an accepted CONNACK. */
function connected(opts: Partial<MqttSessionOptions> = {}, connack: { present?: boolean; props?: MqttProperties } = {}, now = 0): { s: MqttSession; b: Broker; events: MqttSessionEvent[] } {
  const s = session(opts);
  const b = reconnect(s, now);
  const events = b.connack(connack.present ?? false, connack.props, now);
  return { s, b, events };
}

function reconnect(s: MqttSession, now = 0): Broker {
  s.connectionLost();
  s.startConnection(now);
  const b = new Broker(s, s.version);
  const [connect] = b.read();
  expect(connect?.type).toBe('connect');
  return b;
}

const pub = (topic: string, qos: QoS = 0, payload = 'x', extra: Partial<{ retain: boolean; properties: MqttProperties }> = {}) => ({ topic, payload: bytes(payload), qos, ...extra });
const types = (ev: MqttSessionEvent[]): string[] => ev.map((e) => e.type);
const only = <T extends MqttSessionEvent['type']>(ev: MqttSessionEvent[], type: T): Extract<MqttSessionEvent, { type: T }>[] => ev.filter((e) => e.type === type) as Extract<MqttSessionEvent, { type: T }>[];
const errorOf = (ev: MqttSessionEvent[]): MqttSessionEvent & { type: 'error' } => {
  const e = only(ev, 'error');
  expect(e).toHaveLength(1);
  return e[0]!;
};

describe('CONNECT and CONNACK', () => {
  test('5.0 CONNECT carries credentials, will, keep-alive and the 5.0 properties', () => {
    const s = session({
      username: 'u',
      password: bytes('p'),
      keepAlive: 30,
      cleanStart: false,
      sessionExpiryInterval: 3600,
      receiveMaximum: 10,
      maximumPacketSize: 4096,
      topicAliasMaximum: 8,
      userProperties: [['fw', '1.2']],
      will: { topic: 'dev1/status', payload: bytes('gone'), qos: 1, retain: true },
    });
    s.startConnection(0);
    const [c] = new Broker(s, 5).read();
    expect(c).toMatchObject({
      type: 'connect',
      version: 5,
      clientId: 'dev1',
      username: 'u',
      cleanStart: false,
      keepAlive: 30,
      will: { topic: 'dev1/status', qos: 1, retain: true },
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 10, maximumPacketSize: 4096, topicAliasMaximum: 8, userProperties: [['fw', '1.2']] },
    });
    expect(s.phase).toBe('connecting');
  });

  test('3.1.1 CONNECT has no properties; Clean Session stays what was asked on every connection', () => {
    const { s } = connected({ version: 4, cleanStart: false });
    s.startConnection(0);
    const [c] = new Broker(s, 4).read();
    expect(c).toMatchObject({ type: 'connect', version: 4, cleanStart: false });
    expect((c as { properties?: unknown }).properties).toBeUndefined();
  });

  test('5.0 asks to resume (Clean Start 0) once a CONNACK accepted a session', () => {
    const s = session({ cleanStart: true });
    s.startConnection(0);
    expect(new Broker(s, 5).read()[0]).toMatchObject({ cleanStart: true });
    // a connection that never got its CONNACK does not count
    s.connectionLost();
    s.startConnection(0);
    const b = new Broker(s, 5);
    expect(b.read()[0]).toMatchObject({ cleanStart: true });
    b.connack();
    s.connectionLost();
    s.startConnection(0);
    expect(new Broker(s, 5).read()[0]).toMatchObject({ cleanStart: false });
  });

  test("CONNACK: the broker's limits, keep-alive and assigned client id are taken", () => {
    const { s, events } = connected({ clientId: '' }, {
      props: { receiveMaximum: 5, maximumQos: 1, retainAvailable: false, maximumPacketSize: 1000, topicAliasMaximum: 3, serverKeepAlive: 20, assignedClientIdentifier: 'auto-1' },
    });
    expect(types(events)).toEqual(['connack']);
    expect(events[0]).toMatchObject({
      sessionPresent: false,
      clientId: 'auto-1',
      server: { receiveMaximum: 5, maximumQos: 1, retainAvailable: false, maximumPacketSize: 1000, topicAliasMaximum: 3, keepAlive: 20 },
    });
    expect(s.phase).toBe('connected');
    expect(s.clientId).toBe('auto-1');
    // the assigned id is what the next connection presents, so the session can resume
    s.connectionLost();
    s.startConnection(0);
    expect(new Broker(s, 5).read()[0]).toMatchObject({ clientId: 'auto-1', cleanStart: false });
  });

  test.each([
    [5, 0x86, 'ERR_MQTT_BAD_USER_NAME_OR_PASSWORD'],
    [5, 0x87, 'ERR_MQTT_NOT_AUTHORIZED'],
    [5, 0x85, 'ERR_MQTT_CLIENT_IDENTIFIER_NOT_VALID'],
    [5, 0x8a, 'ERR_MQTT_BANNED'],
    [5, 0x9c, 'ERR_MQTT_USE_ANOTHER_SERVER'],
    [4, 1, 'ERR_MQTT_UNSUPPORTED_PROTOCOL_VERSION'],
    [4, 2, 'ERR_MQTT_CLIENT_IDENTIFIER_NOT_VALID'],
    [4, 3, 'ERR_MQTT_SERVER_UNAVAILABLE'],
    [4, 4, 'ERR_MQTT_BAD_USER_NAME_OR_PASSWORD'],
    [4, 5, 'ERR_MQTT_NOT_AUTHORIZED'],
  ] as const)('MQTT %i CONNACK refusal 0x%s is a typed %s; nothing more is sent', (v, rc, code) => {
    const s = session({ version: v });
    s.startConnection(0);
    const b = new Broker(s, v);
    b.read();
    const ev = b.send({ type: 'connack', sessionPresent: false, reasonCode: rc, properties: v === 5 ? { reasonString: 'go away' } : undefined });
    const { error } = errorOf(ev);
    expect(error).toBeInstanceOf(MqttError);
    expect(error.code).toBe(code);
    expect((error as MqttError).origin).toBe('server');
    expect((error as MqttError).reasonCode).toBe(v === 5 ? rc : [0, 0x84, 0x85, 0x88, 0x86, 0x87][rc]);
    if (v === 5) expect(error.detail).toMatchObject({ reasonString: 'go away' });
    expect(s.closed).toBe(true);
    expect(s.error).toBe(error);
    expect(b.read()).toEqual([]);
  });

  test('bad options are typed usage errors', () => {
    expect(() => session({ version: 3 as MqttVersion })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
    expect(() => session({ keepAlive: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS', detail: { field: 'keepAlive' } }));
    expect(() => session({ receiveMaximum: 0 })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
    expect(() => session({ queue: { max: 0 } })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
    expect(() => session({ queue: { overflow: 'grow' as 'refuse' } })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
    // what the CONNECT cannot carry fails at construction, not on the wire
    expect(() => session({ will: { topic: 'a/#', payload: bytes(''), qos: 0, retain: false } })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => session({ version: 4, password: bytes('p') })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => session({ birth: pub('a/+') })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
  });
});

describe('broker faults', () => {
  test('malformed bytes: DISCONNECT 0x81 (5.0), ERR_MQTT_MALFORMED, closed', () => {
    const { s, b } = connected();
    // PUBACK with a remaining length of 3 but a 5th length byte
    const ev = s.receive(Uint8Array.of(0x40, 0x80, 0x80, 0x80, 0x80, 0x01), 0);
    expect(errorOf(ev).error.code).toBe('ERR_MQTT_MALFORMED');
    expect(b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x81 }]);
    expect(s.closed).toBe(true);
    // nothing more is read from this connection
    expect(b.ack('puback', 1)).toEqual([]);
  });

  test('3.1.1: a malformed packet closes without a DISCONNECT (which would discard the will)', () => {
    const { s, b } = connected({ version: 4 });
    const ev = s.receive(Uint8Array.of(0x30, 0x02, 0x00, 0x05), 0); // topic length past the end
    expect(errorOf(ev).error.code).toBe('ERR_MQTT_MALFORMED');
    expect(b.read()).toEqual([]);
    expect(s.closed).toBe(true);
  });

  test('a packet over our maximum packet size: DISCONNECT 0x95 before its body arrives', () => {
    const { s, b } = connected({ maximumPacketSize: 64 });
    const ev = s.receive(Uint8Array.of(0x30, 0x80, 0x01), 0);
    expect(errorOf(ev).error.code).toBe('ERR_MQTT_PACKET_TOO_LARGE');
    expect(b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x95 }]);
  });

  test('packets a broker may not send, or not yet: Protocol Error 0x82', () => {
    const s = session();
    s.startConnection(0);
    const b = new Broker(s, 5);
    b.read();
    expect(errorOf(b.send({ type: 'pingresp' })).error.code).toBe('ERR_MQTT_PROTOCOL');
    expect(b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
    for (const p of [{ type: 'pingreq' }, { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a', qos: 0 }] }, { type: 'connack', sessionPresent: false, reasonCode: 0 }] as MqttPacket[]) {
      const c = connected();
      const err = errorOf(c.b.send(p)).error;
      expect(err.code).toBe('ERR_MQTT_PROTOCOL');
      expect(c.b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
    }
  });

  test('server DISCONNECT: its reason becomes the typed error; we send nothing back', () => {
    const { s, b } = connected();
    const ev = b.send({ type: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'maintenance' } });
    expect(types(ev)).toEqual(['disconnect', 'error']);
    const err = errorOf(ev).error as MqttError;
    expect(err.code).toBe('ERR_MQTT_SERVER_SHUTTING_DOWN');
    expect(err.reasonCode).toBe(0x8b);
    expect(err.detail).toMatchObject({ reasonString: 'maintenance', packet: 'disconnect' });
    expect(b.read()).toEqual([]);
    expect(s.closed).toBe(true);
  });

  test('events of packets before a failure in the same read are kept', () => {
    const { s, b } = connected();
    s.subscribe([{ filter: 't', qos: 1 }], 0);
    b.read();
    const good = encodePacket({ type: 'publish', topic: 't', payload: bytes('1'), qos: 1, packetId: 9, dup: false, retain: false }, 5);
    const bad = encodePacket({ type: 'pingreq' }, 5);
    const both = new Uint8Array(good.length + bad.length);
    both.set(good);
    both.set(bad, good.length);
    const ev = s.receive(both, 0);
    expect(types(ev)).toEqual(['message', 'error']);
    // the message was acknowledged before the DISCONNECT
    expect(b.read()).toEqual([
      { type: 'puback', packetId: 9, reasonCode: 0 },
      { type: 'disconnect', reasonCode: 0x82 },
    ]);
  });

  test('a whole packet before malformed bytes in the same read is delivered, then DISCONNECT 0x81', () => {
    const { s, b } = connected();
    s.subscribe([{ filter: 't', qos: 1 }], 0);
    b.read();
    const good = encodePacket({ type: 'publish', topic: 't', payload: bytes('1'), qos: 1, packetId: 9, dup: false, retain: false }, 5);
    // then a PUBACK whose Remaining Length runs to a 5th byte
    const both = new Uint8Array([...good, 0x40, 0x80, 0x80, 0x80, 0x80, 0x01]);
    const ev = s.receive(both, 0);
    expect(types(ev)).toEqual(['message', 'error']);
    expect(errorOf(ev).error.code).toBe('ERR_MQTT_MALFORMED');
    expect(b.read()).toEqual([
      { type: 'puback', packetId: 9, reasonCode: 0 },
      { type: 'disconnect', reasonCode: 0x81 },
    ]);
    expect(s.closed).toBe(true);
  });

  test('bytes split anywhere: one byte at a time still makes whole packets', () => {
    const { s, b } = connected();
    s.subscribe([{ filter: '#', qos: 0 }], 0);
    b.read();
    const wire = encodePacket({ type: 'publish', topic: 'a/b', payload: bytes('hello'), qos: 0, dup: false, retain: false }, 5);
    const ev: MqttSessionEvent[] = [];
    for (const x of wire) ev.push(...s.receive(Uint8Array.of(x), 0));
    expect(ev).toEqual([{ type: 'message', message: expect.objectContaining({ topic: 'a/b', payload: bytes('hello'), matches: ['#'] }) }]);
  });
});

describe('publishing', () => {
  test('QoS 0, 1 and 2 flows; completion events name the id publish() returned', () => {
    const { s, b } = connected();
    const id0 = s.publish(pub('t/0', 0), 0);
    const id1 = s.publish(pub('t/1', 1), 0);
    const id2 = s.publish(pub('t/2', 2), 0);
    expect([id0, id1, id2]).toEqual([1, 2, 3]);
    const sent = b.read() as PublishPacket[];
    expect(sent.map((p) => [p.topic, p.qos, p.packetId, p.dup])).toEqual([
      ['t/0', 0, undefined, false],
      ['t/1', 1, 1, false],
      ['t/2', 2, 2, false],
    ]);
    expect(s.inflightCount).toBe(2);
    expect(b.ack('puback', 1)).toEqual([{ type: 'published', id: id1, reasonCode: 0, error: undefined }]);
    expect(b.ack('pubrec', 2)).toEqual([]);
    expect(b.read()).toEqual([{ type: 'pubrel', packetId: 2, reasonCode: 0 }]);
    expect(b.ack('pubcomp', 2)).toEqual([{ type: 'published', id: id2, reasonCode: 0, error: undefined }]);
    expect(s.inflightCount).toBe(0);
  });

  test('a refusing PUBACK or PUBREC completes the message with a typed error (no PUBREL)', () => {
    const { s, b } = connected();
    const a = s.publish(pub('t', 1), 0);
    const c = s.publish(pub('t', 2), 0);
    b.read();
    const [p1] = b.ack('puback', 1, 0x87);
    expect(p1).toMatchObject({ type: 'published', id: a, reasonCode: 0x87, error: { code: 'ERR_MQTT_NOT_AUTHORIZED', reasonCode: 0x87, origin: 'server' } });
    const [p2] = b.ack('pubrec', 2, 0x97);
    expect(p2).toMatchObject({ type: 'published', id: c, error: { code: 'ERR_MQTT_QUOTA_EXCEEDED' } });
    expect(b.read()).toEqual([]);
    expect(s.inflightCount).toBe(0);
  });

  test("the in-flight window is the broker's Receive Maximum (or maxInflight, if smaller)", () => {
    const { s, b } = connected({}, { props: { receiveMaximum: 2 } });
    for (let i = 0; i < 5; i++) s.publish(pub(`t/${i}`, 1), 0);
    expect((b.read() as PublishPacket[]).map((p) => p.topic)).toEqual(['t/0', 't/1']);
    expect(s.queuedCount).toBe(3);
    b.ack('puback', 1);
    expect((b.read() as PublishPacket[]).map((p) => p.topic)).toEqual(['t/2']);
    b.ack('puback', 2);
    b.ack('puback', 3);
    expect((b.read() as PublishPacket[]).map((p) => p.topic)).toEqual(['t/3', 't/4']);
    // QoS 2 holds its slot until PUBCOMP
    const c = connected({ maxInflight: 1 });
    c.s.publish(pub('a', 2), 0);
    c.s.publish(pub('b', 2), 0);
    expect(c.b.read()).toHaveLength(1);
    c.b.ack('pubrec', 1);
    expect(c.b.read().map((p) => p.type)).toEqual(['pubrel']);
    c.b.ack('pubcomp', 1);
    expect(c.b.read()).toMatchObject([{ type: 'publish', topic: 'b', packetId: 2 }]);
  });

  test('packet ids run 1..65535, wrap to 1 and skip ids still in use', () => {
    const { s, b } = connected({ maxInflight: 2 });
    s.publish(pub('held', 1), 0); // id 1 stays in flight throughout
    b.read();
    let last = 0;
    for (let i = 0; i < 65535; i++) {
      s.publish(pub('t', 1), 0);
      const [p] = b.read() as PublishPacket[];
      last = p!.packetId!;
      b.ack('puback', last);
    }
    // 2..65535 is 65534 ids; the next after 65535 skips 1 (held) and wraps to 2
    expect(last).toBe(2);
    const ids = new PacketIds();
    expect([ids.take(), ids.take()]).toEqual([1, 2]);
    ids.release(1);
    for (let i = 3; i <= 0xffff; i++) ids.take();
    expect(ids.take()).toBe(1);
    expect(() => ids.take()).toThrow(expect.objectContaining({ code: 'ERR_MQTT_PACKET_IDS_EXHAUSTED' }));
  });

  test('late or duplicate acknowledgements for ids we do not hold are ignored; PUBREC gets PUBREL 0x92', () => {
    const { s, b } = connected();
    expect(b.ack('puback', 7)).toEqual([]);
    expect(b.ack('pubcomp', 7)).toEqual([]);
    expect(b.ack('pubrec', 7)).toEqual([]);
    expect(b.read()).toEqual([{ type: 'pubrel', packetId: 7, reasonCode: 0x92 }]);
    expect(s.closed).toBe(false);
    // but PUBACK for a QoS 2 message is a broker bug
    s.publish(pub('t', 2), 0);
    b.read();
    expect(errorOf(b.ack('puback', 1)).error.code).toBe('ERR_MQTT_PROTOCOL');
  });

  test("bad messages are refused at publish() with MqttEncodeError; the broker's limits with typed errors", () => {
    const { s } = connected({}, { props: { maximumQos: 1, retainAvailable: false, maximumPacketSize: 64 } });
    expect(() => s.publish(pub('a/+'), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.publish(pub(''), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.publish({ topic: 't', payload: 'x' as unknown as Uint8Array }, 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.publish(pub('t', 3 as QoS), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.publish(pub('t', 0, 'x', { properties: { topicAlias: 1 } }), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.publish(pub('t', 1, 'x'.repeat(100)), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE_TOO_LARGE' }));
    // Message Expiry Interval is seconds: 0 is refused (sent it would be 1 s, queued dropped at once)
    expect(() => s.publish(pub('t', 0, 'x', { properties: { messageExpiryInterval: 0 } }), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE', detail: expect.objectContaining({ field: 'messageExpiryInterval' }) }));
    expect(() => session().publish(pub('t', 0, 'x', { properties: { messageExpiryInterval: 0 } }), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => session({ birth: pub('b', 0, 'x', { properties: { messageExpiryInterval: 0 } }) })).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(s.inflightCount).toBe(0);
    expect(s.takeEvents()).toEqual([]);
    expect(s.inflightCount).toBe(0);
    const v4 = connected({ version: 4 }).s;
    expect(() => v4.publish(pub('t', 0, 'x', { properties: { contentType: 'a' } }), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
  });

  test("the broker's QoS and retain limits drop a message sent at once, as they do a queued one: no throw", () => {
    const { s, b } = connected({}, { props: { maximumQos: 1, retainAvailable: false } });
    const q2 = s.publish(pub('t', 2), 0);
    const kept = s.publish(pub('t', 0, 'x', { retain: true }), 0);
    expect(s.takeEvents()).toEqual([
      { type: 'dropped', id: q2, topic: 't', reason: 'qos-not-supported', error: expect.objectContaining({ code: 'ERR_MQTT_QOS_NOT_SUPPORTED' }) },
      { type: 'dropped', id: kept, topic: 't', reason: 'retain-not-supported', error: expect.objectContaining({ code: 'ERR_MQTT_RETAIN_NOT_SUPPORTED' }) },
    ]);
    expect(b.read()).toEqual([]);
    expect(s.inflightCount).toBe(0);
    // what the broker takes still goes
    s.publish(pub('t', 1), 0);
    expect(b.read()).toMatchObject([{ type: 'publish', qos: 1, packetId: 1 }]);
  });

  test('queued messages the broker cannot take are dropped with their reason when the connection comes up', () => {
    const s = session();
    const q2 = s.publish(pub('t', 2), 0);
    const big = s.publish(pub('t', 1, 'x'.repeat(100)), 0);
    const ok = s.publish(pub('t', 1), 0);
    const b = reconnect(s);
    const ev = b.connack(false, { maximumQos: 1, maximumPacketSize: 64 });
    expect(only(ev, 'dropped').map((d) => [d.id, d.reason, d.error.code])).toEqual([
      [q2, 'qos-not-supported', 'ERR_MQTT_QOS_NOT_SUPPORTED'],
      [big, 'too-large', 'ERR_MQTT_ENCODE_TOO_LARGE'],
    ]);
    const [sent] = b.read() as PublishPacket[];
    expect(sent).toMatchObject({ type: 'publish', qos: 1 });
    expect(b.ack('puback', sent!.packetId!)).toMatchObject([{ type: 'published', id: ok }]);
  });
});

describe('receiving', () => {
  test('QoS 0/1/2 delivery with PUBACK, PUBREC/PUBREL/PUBCOMP', () => {
    const { s, b } = connected();
    s.subscribe([{ filter: 'in/#', qos: 2 }], 0);
    b.read();
    expect(types(b.publish({ topic: 'in/0', payload: bytes('a'), qos: 0 }))).toEqual(['message']);
    const ev1 = b.publish({ topic: 'in/1', payload: bytes('b'), qos: 1, packetId: 5 });
    expect(ev1).toEqual([{ type: 'message', message: { topic: 'in/1', payload: bytes('b'), qos: 1, retain: false, dup: false, properties: undefined, matches: ['in/#'] } }]);
    expect(b.read()).toEqual([{ type: 'puback', packetId: 5, reasonCode: 0 }]);
    expect(types(b.publish({ topic: 'in/2', payload: bytes('c'), qos: 2, packetId: 6 }))).toEqual(['message']);
    expect(b.read()).toEqual([{ type: 'pubrec', packetId: 6, reasonCode: 0 }]);
    expect(s.awaitingReleaseCount).toBe(1);
    expect(b.ack('pubrel', 6)).toEqual([]);
    expect(b.read()).toEqual([{ type: 'pubcomp', packetId: 6, reasonCode: 0 }]);
    expect(s.awaitingReleaseCount).toBe(0);
  });

  test('QoS 2 exactly once: a re-sent PUBLISH before PUBREL is acknowledged, not delivered again', () => {
    const { s, b } = connected();
    expect(types(b.publish({ topic: 'x', payload: bytes('1'), qos: 2, packetId: 3 }))).toEqual(['message']);
    expect(b.publish({ topic: 'x', payload: bytes('1'), qos: 2, packetId: 3, dup: true })).toEqual([]);
    expect(b.read()).toEqual([
      { type: 'pubrec', packetId: 3, reasonCode: 0 },
      { type: 'pubrec', packetId: 3, reasonCode: 0 },
    ]);
    b.ack('pubrel', 3);
    b.read();
    // the id is free again: a new message with it is new
    expect(types(b.publish({ topic: 'x', payload: bytes('2'), qos: 2, packetId: 3 }))).toEqual(['message']);
    // PUBREL for an id we never saw: PUBCOMP 0x92 (5.0)
    b.ack('pubrel', 44);
    expect(b.read()).toEqual([
      { type: 'pubrec', packetId: 3, reasonCode: 0 },
      { type: 'pubcomp', packetId: 44, reasonCode: 0x92 },
    ]);
    expect(s.closed).toBe(false);
  });

  test('QoS 2 exactly once across a reconnect with the session present', () => {
    const { s, b } = connected({ cleanStart: false, sessionExpiryInterval: 60 });
    expect(types(b.publish({ topic: 'x', payload: bytes('once'), qos: 2, packetId: 12 }))).toEqual(['message']);
    // PUBREC written, then the connection dies before the PUBREL
    const b2 = reconnect(s);
    b2.connack(true);
    expect(b2.publish({ topic: 'x', payload: bytes('once'), qos: 2, packetId: 12, dup: true })).toEqual([]);
    b2.ack('pubrel', 12);
    expect(b2.read()).toEqual([
      { type: 'pubrec', packetId: 12, reasonCode: 0 },
      { type: 'pubcomp', packetId: 12, reasonCode: 0 },
    ]);
  });

  test('QoS 2 under an id still held, without DUP: a broker that lost its state sent a new message, delivered', () => {
    const { b } = connected();
    expect(types(b.publish({ topic: 'x', payload: bytes('old'), qos: 2, packetId: 7 }))).toEqual(['message']);
    // a re-send carries DUP; the same id without it is another message (mosquitto after a restart)
    const ev = b.publish({ topic: 'x', payload: bytes('new'), qos: 2, packetId: 7 });
    expect(ev).toMatchObject([{ type: 'message', message: { payload: bytes('new'), dup: false } }]);
    expect(b.publish({ topic: 'x', payload: bytes('new'), qos: 2, packetId: 7, dup: true })).toEqual([]);
  });

  test('more unreleased QoS 2 messages than 64 × our Receive Maximum: DISCONNECT 0x93', () => {
    const { b } = connected({ receiveMaximum: 2 });
    // past the Receive Maximum is tolerated (mosquitto 2.0.11 goes past it after a restart)
    for (let id = 1; id <= 128; id++) expect(types(b.publish({ topic: 'x', payload: bytes(''), qos: 2, packetId: id }))).toEqual(['message']);
    const err = errorOf(b.publish({ topic: 'x', payload: bytes(''), qos: 2, packetId: 129 })).error as MqttError;
    expect(err.code).toBe('ERR_MQTT_RECEIVE_MAXIMUM_EXCEEDED');
    expect(err.origin).toBe('client');
    expect(b.read().at(-1)).toEqual({ type: 'disconnect', reasonCode: 0x93 });
  });

  test('routing: every matching filter is named, wildcards and $-topics as the spec says, shared subscriptions by their filter', () => {
    const { s, b } = connected();
    s.subscribe([{ filter: 'home/+/temp', qos: 0 }, { filter: 'home/#', qos: 1 }, { filter: '#', qos: 0 }, { filter: '$share/g/home/kitchen/+', qos: 0 }], 0);
    b.read();
    const m = (topic: string): string[] => only(b.publish({ topic, payload: bytes(''), qos: 0 }), 'message')[0]!.message.matches;
    expect(m('home/kitchen/temp')).toEqual(['home/+/temp', 'home/#', '#', '$share/g/home/kitchen/+']);
    expect(m('home')).toEqual(['home/#', '#']);
    expect(m('office/temp')).toEqual(['#']);
    expect(m('$SYS/broker/load')).toEqual([]);
    s.unsubscribe(['#'], 0);
    expect(m('office/temp')).toEqual([]);
  });

  test('incoming topic aliases: defined, used, out of range (0x94), never defined (0x82)', () => {
    const { b } = connected({ topicAliasMaximum: 4 });
    expect(only(b.publish({ topic: 'long/topic/name', payload: bytes('1'), qos: 0, properties: { topicAlias: 2 } }), 'message')[0]!.message.topic).toBe('long/topic/name');
    expect(only(b.publish({ topic: '', payload: bytes('2'), qos: 0, properties: { topicAlias: 2 } }), 'message')[0]!.message.topic).toBe('long/topic/name');
    const c = connected({ topicAliasMaximum: 4 });
    expect(errorOf(c.b.publish({ topic: 't', payload: bytes(''), qos: 0, properties: { topicAlias: 5 } })).error.code).toBe('ERR_MQTT_TOPIC_ALIAS_INVALID');
    expect(c.b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x94 }]);
    const d = connected({ topicAliasMaximum: 4 });
    expect(errorOf(d.b.publish({ topic: '', payload: bytes(''), qos: 0, properties: { topicAlias: 3 } })).error.code).toBe('ERR_MQTT_PROTOCOL');
    expect(d.b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
    // aliases belong to one connection
    const e = connected({ topicAliasMaximum: 4 });
    e.b.publish({ topic: 'a', payload: bytes(''), qos: 0, properties: { topicAlias: 1 } });
    const e2 = reconnect(e.s);
    e2.connack(true);
    expect(errorOf(e2.publish({ topic: '', payload: bytes(''), qos: 0, properties: { topicAlias: 1 } })).error.code).toBe('ERR_MQTT_PROTOCOL');
  });
});

describe('subscriptions', () => {
  test('SUBSCRIBE with per-subscription QoS and 5.0 options; SUBACK codes surfaced, refused filters route nothing', () => {
    const { s, b } = connected();
    const id = s.subscribe(
      [
        { filter: 'a/#', qos: 1, noLocal: true, retainHandling: 2 },
        { filter: 'b/+', qos: 2, retainAsPublished: true },
        { filter: 'c', qos: 0 },
      ],
      0,
      { subscriptionIdentifiers: [7] },
    );
    const [p] = b.read();
    expect(p).toMatchObject({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'a/#', qos: 1, noLocal: true, retainHandling: 2 },
        { filter: 'b/+', qos: 2, retainAsPublished: true },
        { filter: 'c', qos: 0 },
      ],
      properties: { subscriptionIdentifiers: [7] },
    });
    const [ev] = b.send({ type: 'suback', packetId: 1, reasonCodes: [1, 0x87, 0] });
    expect(ev).toMatchObject({ type: 'suback', id, filters: ['a/#', 'b/+', 'c'], reasonCodes: [1, 0x87, 0], resubscribe: false });
    const errors = (ev as { errors: MqttError[] }).errors;
    expect(errors.map((e) => [e.code, e.detail?.['filter']])).toEqual([['ERR_MQTT_NOT_AUTHORIZED', 'b/+']]);
    expect(s.subscriptions.map((x) => x.filter)).toEqual(['a/#', 'c']);
    expect(only(b.publish({ topic: 'b/1', payload: bytes(''), qos: 0 }), 'message')[0]!.message.matches).toEqual([]);
  });

  test('3.1.1: SUBACK failure 0x80 is ERR_MQTT_UNSPECIFIED_ERROR; UNSUBACK carries no codes', () => {
    const { s, b } = connected({ version: 4 });
    s.subscribe([{ filter: 'a', qos: 1 }, { filter: 'b', qos: 1 }], 0);
    b.read();
    const [ev] = b.send({ type: 'suback', packetId: 1, reasonCodes: [1, 0x80] });
    expect((ev as { errors: MqttError[] }).errors.map((e) => e.code)).toEqual(['ERR_MQTT_UNSPECIFIED_ERROR']);
    const uid = s.unsubscribe(['a'], 0);
    expect(b.read()).toEqual([{ type: 'unsubscribe', packetId: 2, filters: ['a'] }]);
    expect(b.send({ type: 'unsuback', packetId: 2, reasonCodes: [] })).toEqual([{ type: 'unsuback', id: uid, filters: ['a'], reasonCodes: [0], errors: [] }]);
  });

  test('a SUBACK that does not answer an outstanding SUBSCRIBE is a Protocol Error', () => {
    const { s, b } = connected();
    expect(errorOf(b.send({ type: 'suback', packetId: 3, reasonCodes: [0] })).error.code).toBe('ERR_MQTT_PROTOCOL');
    const c = connected();
    c.s.subscribe([{ filter: 'a', qos: 0 }], 0);
    c.b.read();
    expect(errorOf(c.b.send({ type: 'suback', packetId: 1, reasonCodes: [0, 0] })).error.code).toBe('ERR_MQTT_PROTOCOL');
    expect(s.closed).toBe(true);
  });

  test('bad filters are refused at once', () => {
    const { s } = connected({ version: 4 });
    expect(() => s.subscribe([{ filter: 'a/#/b', qos: 0 }], 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.subscribe([], 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.subscribe([{ filter: 'a', qos: 1, noLocal: true }], 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(() => s.unsubscribe([], 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE' }));
    expect(s.subscriptions).toEqual([]);
  });

  test('requests made offline, or lost with a connection, are sent after the next CONNACK', () => {
    const s = session({ cleanStart: false, sessionExpiryInterval: 60 });
    const sid = s.subscribe([{ filter: 'cmd/#', qos: 1 }], 0);
    const b = reconnect(s);
    expect(b.read()).toEqual([]);
    b.connack(true);
    expect(b.read()).toMatchObject([{ type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'cmd/#' }] }]);
    // the SUBACK never comes: the connection drops; it is asked again
    const b2 = reconnect(s);
    b2.connack(true);
    const [again] = b2.read();
    expect(again).toMatchObject({ type: 'subscribe', subscriptions: [{ filter: 'cmd/#' }] });
    expect(b2.send({ type: 'suback', packetId: (again as { packetId: number }).packetId, reasonCodes: [1] })).toMatchObject([{ type: 'suback', id: sid, resubscribe: false }]);
  });
});

describe('session state across reconnects', () => {
  test('session present: unacknowledged PUBLISHes re-sent with DUP and their ids, PUBRELs for those past PUBREC, then the queue', () => {
    const { s, b } = connected({ cleanStart: false, sessionExpiryInterval: 300 });
    s.publish(pub('q1', 1, 'one'), 0);
    s.publish(pub('q2', 2, 'two'), 0);
    s.publish(pub('q2b', 2, 'three'), 0);
    b.read();
    b.ack('pubrec', 3);
    b.read();
    s.connectionLost();
    const later = s.publish(pub('later', 1), 0);
    expect(s.queuedCount).toBe(1);
    const b2 = reconnect(s);
    expect(b2.read()).toEqual([]); // nothing before the CONNACK
    b2.connack(true);
    expect(b2.read()).toEqual([
      { type: 'publish', topic: 'q1', payload: bytes('one'), qos: 1, retain: false, dup: true, packetId: 1 },
      { type: 'publish', topic: 'q2', payload: bytes('two'), qos: 2, retain: false, dup: true, packetId: 2 },
      { type: 'pubrel', packetId: 3, reasonCode: 0 },
      { type: 'publish', topic: 'later', payload: bytes('x'), qos: 1, retain: false, dup: false, packetId: 4 },
    ]);
    expect(b2.ack('puback', 4)).toMatchObject([{ type: 'published', id: later }]);
  });

  test('session not present: in-flight messages go again as new, subscriptions are renewed, QoS 2 receive state is dropped', () => {
    const { s, b } = connected();
    const sid = s.subscribe([{ filter: 'cmd/#', qos: 1 }], 0);
    b.read();
    b.send({ type: 'suback', packetId: 1, reasonCodes: [1] });
    s.publish(pub('q1', 1), 0);
    s.publish(pub('q2', 2), 0);
    b.read();
    b.ack('pubrec', 3);
    b.publish({ topic: 'cmd/x', payload: bytes(''), qos: 2, packetId: 9 });
    const b2 = reconnect(s);
    b2.connack(false);
    const sent = b2.read();
    expect(sent.map((p) => p.type)).toEqual(['subscribe', 'publish', 'publish']);
    expect(sent[1]).toMatchObject({ topic: 'q1', dup: false });
    expect(sent[2]).toMatchObject({ topic: 'q2', dup: false });
    expect(s.awaitingReleaseCount).toBe(0);
    const subPid = (sent[0] as { packetId: number }).packetId;
    expect(b2.send({ type: 'suback', packetId: subPid, reasonCodes: [1] })).toMatchObject([{ type: 'suback', id: sid, resubscribe: true }]);
    // the broker's PUBLISH with the old id is a new message now
    expect(types(b2.publish({ topic: 'cmd/x', payload: bytes(''), qos: 2, packetId: 9 }))).toEqual(['message']);
  });

  test('the birth message goes out after every accepted CONNACK', () => {
    const { s, b } = connected({ birth: { topic: 'dev1/status', payload: bytes('up'), qos: 1, retain: true } });
    expect(b.read()).toMatchObject([{ type: 'publish', topic: 'dev1/status', qos: 1, retain: true }]);
    const b2 = reconnect(s);
    b2.connack(false);
    expect(b2.read()).toMatchObject([{ type: 'publish', topic: 'dev1/status', qos: 1, retain: true, dup: false }]);
  });

  test('abandon(): every in-flight and queued message is dropped with ERR_MQTT_CLOSED, in flight first', () => {
    const { s, b } = connected({}, { props: { receiveMaximum: 1 } });
    const sent = s.publish(pub('a', 1), 0);
    const waiting = s.publish(pub('b', 2), 0);
    const q0 = s.publish(pub('c', 0), 0);
    expect(b.read()).toMatchObject([{ type: 'publish', topic: 'a', packetId: 1 }]);
    expect([s.inflightCount, s.queuedCount]).toEqual([1, 2]);
    s.disconnect(0);
    s.connectionLost();
    s.abandon();
    const closed = (id: number, topic: string) => ({ type: 'dropped', id, topic, reason: 'closed', error: expect.objectContaining({ code: 'ERR_MQTT_CLOSED', detail: { id } }) });
    expect(s.takeEvents()).toEqual([closed(sent, 'a'), closed(waiting, 'b'), closed(q0, 'c')]);
    expect([s.inflightCount, s.queuedCount]).toEqual([0, 0]);
    s.abandon();
    expect(s.takeEvents()).toEqual([]);
  });

  test('disconnect(): DISCONNECT, then closed; state kept for the next connection', () => {
    const { s, b } = connected();
    s.publish(pub('t', 1), 0);
    b.read();
    s.disconnect(0, 0x04);
    expect(b.read()).toEqual([{ type: 'disconnect', reasonCode: 0x04 }]);
    expect(s.closed).toBe(true);
    expect(s.inflightCount).toBe(1);
  });
});

describe('offline queue', () => {
  test("'refuse': ERR_MQTT_QUEUE_FULL and the message is not taken", () => {
    const s = session({ queue: { max: 2, overflow: 'refuse' } });
    s.publish(pub('a'), 0);
    s.publish(pub('b'), 0);
    let err: unknown;
    try {
      s.publish(pub('c'), 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MqttError);
    expect(err).toMatchObject({ code: 'ERR_MQTT_QUEUE_FULL', detail: { max: 2 } });
    const b = reconnect(s);
    b.connack();
    expect((b.read() as PublishPacket[]).map((p) => p.topic)).toEqual(['a', 'b']);
  });

  test("'drop-oldest' and 'drop-newest' say what they dropped", () => {
    for (const [overflow, kept, dropped] of [
      ['drop-oldest', ['b', 'c'], 1],
      ['drop-newest', ['a', 'b'], 3],
    ] as const) {
      const s = session({ queue: { max: 2, overflow } });
      s.publish(pub('a', 1), 0);
      s.publish(pub('b', 1), 0);
      s.publish(pub('c', 1), 0);
      const ev = s.takeEvents();
      expect(ev).toEqual([{ type: 'dropped', id: dropped, topic: overflow === 'drop-oldest' ? 'a' : 'c', reason: 'queue-full', error: expect.objectContaining({ code: 'ERR_MQTT_QUEUE_FULL' }) }]);
      const b = reconnect(s);
      b.connack();
      expect((b.read() as PublishPacket[]).map((p) => p.topic)).toEqual(kept);
    }
  });

  test('the bound also holds while connected with the window full', () => {
    const { s, b } = connected({ maxInflight: 1, queue: { max: 1 } });
    s.publish(pub('a', 1), 0);
    s.publish(pub('b', 1), 0);
    expect(() => s.publish(pub('c', 1), 0)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_QUEUE_FULL' }));
    b.read();
    b.ack('puback', 1);
    expect(b.read()).toMatchObject([{ topic: 'b' }]);
  });
});

describe('5.0 topic aliases and message expiry', () => {
  test("outgoing aliases up to the broker's maximum; least recently used is redefined; fresh per connection", () => {
    const { s, b } = connected({}, { props: { topicAliasMaximum: 2 } });
    for (const t of ['a/long', 'a/long', 'b/long', 'c/long', 'a/long', 'c/long']) s.publish(pub(t), 0);
    const sent = (b.read() as PublishPacket[]).map((p) => [p.topic, p.properties?.topicAlias]);
    expect(sent).toEqual([
      ['a/long', 1],
      ['', 1],
      ['b/long', 2],
      ['c/long', 1], // replaces a/long, the least recently used
      ['a/long', 2], // replaces b/long
      ['', 1],
    ]);
    const b2 = reconnect(s);
    b2.connack(false, { topicAliasMaximum: 2 });
    s.publish(pub('c/long'), 0);
    expect(b2.read()).toMatchObject([{ topic: 'c/long', properties: { topicAlias: 1 } }]);
    // topicAliases: false sends names only
    const n = connected({ topicAliases: false }, { props: { topicAliasMaximum: 2 } });
    n.s.publish(pub('a'), 0);
    n.s.publish(pub('a'), 0);
    expect((n.b.read() as PublishPacket[]).map((p) => p.properties?.topicAlias)).toEqual([undefined, undefined]);
  });

  test('queued messages expire; what is sent carries the remaining interval; re-sends too', () => {
    const s = session({ cleanStart: false, sessionExpiryInterval: 60 });
    const gone = s.publish(pub('short', 1, 'x', { properties: { messageExpiryInterval: 2 } }), 0);
    s.publish(pub('long', 1, 'x', { properties: { messageExpiryInterval: 10, contentType: 'text/plain' } }), 0);
    const b = reconnect(s, 4 * S);
    const ev = b.connack(false, undefined, 4 * S);
    expect(only(ev, 'dropped')).toEqual([{ type: 'dropped', id: gone, topic: 'short', reason: 'expired', error: expect.objectContaining({ code: 'ERR_MQTT_MESSAGE_EXPIRED' }) }]);
    expect(b.read()).toMatchObject([{ topic: 'long', properties: { messageExpiryInterval: 6, contentType: 'text/plain' } }]);
    // re-sent 3.5 s later: 2.5 s left, rounded up
    const b2 = reconnect(s, 7.5 * S);
    b2.connack(true, undefined, 7.5 * S);
    expect(b2.read()).toMatchObject([{ topic: 'long', dup: true, properties: { messageExpiryInterval: 3 } }]);
  });

  test('a full queue first makes room by dropping expired messages', () => {
    const s = session({ queue: { max: 2 } });
    s.publish(pub('old', 0, 'x', { properties: { messageExpiryInterval: 1 } }), 0);
    s.publish(pub('keep'), 0);
    s.publish(pub('new'), 2 * S);
    expect(s.takeEvents()).toMatchObject([{ type: 'dropped', topic: 'old', reason: 'expired' }]);
    expect(s.queuedCount).toBe(2);
  });
});

describe('keep-alive', () => {
  test('PINGREQ when nothing was sent for a keep-alive period; PINGRESP is a pong', () => {
    const { s, b } = connected({ keepAlive: 10 });
    expect(s.nextDeadlineUs()).toBe(10 * S);
    // something sent at 6 s moves the need for a ping to 16 s
    s.publish(pub('t'), 6 * S);
    b.read();
    expect(s.onTimer(10 * S)).toEqual([]);
    expect(b.read()).toEqual([]);
    expect(s.nextDeadlineUs()).toBe(16 * S);
    s.onTimer(16 * S);
    expect(b.read()).toEqual([{ type: 'pingreq' }]);
    // one PINGREQ outstanding at a time
    s.validityPing(17 * S);
    expect(b.read()).toEqual([]);
    expect(b.send({ type: 'pingresp' })).toEqual([{ type: 'pong' }]);
    s.validityPing(18 * S);
    expect(b.read()).toEqual([{ type: 'pingreq' }]);
  });

  test('a PINGREQ left unanswered: nothing more is sent and the deadline moves a period on, never into the past', () => {
    const { s, b } = connected({ keepAlive: 10 });
    s.onTimer(10 * S);
    expect(b.read()).toEqual([{ type: 'pingreq' }]);
    expect(s.nextDeadlineUs()).toBe(20 * S);
    for (const now of [20 * S, 20 * S + 1, 31 * S]) {
      expect(s.onTimer(now)).toEqual([]);
      expect(b.read()).toEqual([]);
      // the wsi arms its timer for this: at or before `now` it would fire again at once, forever
      expect(s.nextDeadlineUs()).toBeGreaterThan(now);
    }
    expect(s.nextDeadlineUs()).toBe(41 * S);
    // answered, the next period pings again
    expect(b.send({ type: 'pingresp' })).toEqual([{ type: 'pong' }]);
    s.onTimer(41 * S);
    expect(b.read()).toEqual([{ type: 'pingreq' }]);
    expect(s.nextDeadlineUs()).toBe(51 * S);
  });

  test('after disconnect() there is no keep-alive deadline to spin on', () => {
    const { s, b } = connected({ keepAlive: 10 });
    expect(s.nextDeadlineUs()).toBe(10 * S);
    s.disconnect(5 * S);
    expect(b.read()).toEqual([{ type: 'disconnect', reasonCode: 0 }]);
    expect(s.nextDeadlineUs()).toBeUndefined();
    expect(s.onTimer(30 * S)).toEqual([]);
    expect(b.read()).toEqual([]);
    expect(s.nextDeadlineUs()).toBeUndefined();
    // the next connection has its own
    const b2 = reconnect(s, 40 * S);
    b2.connack(true, undefined, 40 * S);
    expect(s.nextDeadlineUs()).toBe(50 * S);
  });

  test("the broker's Server Keep Alive replaces ours; 0 turns it off", () => {
    const { s } = connected({ keepAlive: 10 }, { props: { serverKeepAlive: 3 } });
    expect(s.nextDeadlineUs()).toBe(3 * S);
    expect(connected({ keepAlive: 0 }).s.nextDeadlineUs()).toBeUndefined();
  });
});
