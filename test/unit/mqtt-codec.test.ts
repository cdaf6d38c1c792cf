/**
 * The MQTT codec on fixed vectors: every packet type under 3.1.1 and 5.0, bytes written out by
 * hand from the spec's layouts, encoded to exactly those bytes and decoded back to exactly that
 * packet. Then every refusal, each with its stable code (and 5.0 reason code), the streaming
 * decoder's framing, size limit and failed state, and the encoder's refusals.
 */
import { describe, expect, test } from '@jest/globals';
import { MqttDecoder, decodePacket, DEFAULT_MAX_PACKET_SIZE } from '../../src/protocols/mqtt/decoder.js';
import { MAX_PACKET_SIZE, encodePacket } from '../../src/protocols/mqtt/encode.js';
import { MqttEncodeError, MqttProtocolError } from '../../src/protocols/mqtt/errors.js';
import type { MqttProtocolCode } from '../../src/protocols/mqtt/errors.js';
import { PacketType } from '../../src/protocols/mqtt/packet.js';
import type { MqttPacket, MqttVersion } from '../../src/protocols/mqtt/packet.js';
import { propertyId } from '../../src/protocols/mqtt/properties.js';
import { ConnectReturnCode, ReasonCode, reasonCodeAllowed, reasonName } from '../../src/protocols/mqtt/reason-codes.js';
import { UsageError } from '../../src/util/errors.js';

const hex = (s: string): Uint8Array => new Uint8Array(s.trim().split(/\s+/).map((x) => parseInt(x, 16)));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const ascii = (s: string): Uint8Array => new Uint8Array(Array.from(s, (c) => c.charCodeAt(0)));

interface Vector {
  name: string;
  version: MqttVersion;
  packet: MqttPacket;
  bytes: string;
}

const VECTORS: Vector[] = [
  // CONNECT
  {
    name: '3.1.1 CONNECT, client id only',
    version: 4,
    packet: { type: 'connect', version: 4, clientId: 'lwsx', cleanStart: true, keepAlive: 60 },
    bytes: '10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 6c 77 73 78',
  },
  {
    name: '3.1.1 CONNECT, will, user name and password',
    version: 4,
    packet: {
      type: 'connect', version: 4, clientId: 'c', cleanStart: true, keepAlive: 10,
      will: { topic: 'w', payload: ascii('bye'), qos: 1, retain: true },
      username: 'u', password: hex('01 02'),
    },
    bytes: '10 1c 00 04 4d 51 54 54 04 ee 00 0a 00 01 63 00 01 77 00 03 62 79 65 00 01 75 00 02 01 02',
  },
  {
    name: '5.0 CONNECT, properties, will properties, password without user name',
    version: 5,
    packet: {
      type: 'connect', version: 5, clientId: 'c', cleanStart: true, keepAlive: 30,
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 20, userProperties: [['a', 'b']] },
      will: { topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, properties: { willDelayInterval: 5, payloadFormatIndicator: 1 } },
      password: hex('09'),
    },
    bytes:
      '10 2d 00 04 4d 51 54 54 05 46 00 1e 0f 11 00 00 0e 10 21 00 14 26 00 01 61 00 01 62 00 01 63 07 18 00 00 00 05 01 01 00 01 74 00 00 00 01 09',
  },
  // CONNACK
  { name: '3.1.1 CONNACK, session present', version: 4, packet: { type: 'connack', sessionPresent: true, reasonCode: 0 }, bytes: '20 02 01 00' },
  { name: '3.1.1 CONNACK, not authorized', version: 4, packet: { type: 'connack', sessionPresent: false, reasonCode: ConnectReturnCode.NOT_AUTHORIZED }, bytes: '20 02 00 05' },
  {
    name: '5.0 CONNACK, server limits',
    version: 5,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { maximumQos: 1, retainAvailable: false, topicAliasMaximum: 10 } },
    bytes: '20 0a 00 00 07 24 01 25 00 22 00 0a',
  },
  { name: '5.0 CONNACK, not authorized', version: 5, packet: { type: 'connack', sessionPresent: false, reasonCode: ReasonCode.NOT_AUTHORIZED }, bytes: '20 03 00 87 00' },
  // PUBLISH
  {
    name: '3.1.1 PUBLISH QoS 0',
    version: 4,
    packet: { type: 'publish', topic: 'a/b', payload: ascii('hi'), qos: 0, retain: false, dup: false },
    bytes: '30 07 00 03 61 2f 62 68 69',
  },
  {
    name: '3.1.1 PUBLISH QoS 1, DUP, RETAIN',
    version: 4,
    packet: { type: 'publish', topic: 'a/b', payload: ascii('hi'), qos: 1, retain: true, dup: true, packetId: 10 },
    bytes: '3b 09 00 03 61 2f 62 00 0a 68 69',
  },
  {
    name: '5.0 PUBLISH QoS 2, topic alias, two subscription identifiers, content type',
    version: 5,
    packet: {
      type: 'publish', topic: 'a/b', payload: ascii('hi'), qos: 2, retain: false, dup: false, packetId: 0x1234,
      properties: { topicAlias: 5, subscriptionIdentifiers: [1, 200], contentType: 'x' },
    },
    bytes: '34 16 00 03 61 2f 62 12 34 0c 23 00 05 0b 01 0b c8 01 03 00 01 78 68 69',
  },
  {
    name: '5.0 PUBLISH by topic alias alone, empty payload',
    version: 5,
    packet: { type: 'publish', topic: '', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, properties: { topicAlias: 7 } },
    bytes: '30 06 00 00 03 23 00 07',
  },
  {
    name: '5.0 PUBLISH, no properties',
    version: 5,
    packet: { type: 'publish', topic: 'a/b', payload: hex('ff'), qos: 0, retain: false, dup: false },
    bytes: '30 07 00 03 61 2f 62 00 ff',
  },
  // PUBACK, PUBREC, PUBREL, PUBCOMP
  { name: '3.1.1 PUBACK', version: 4, packet: { type: 'puback', packetId: 10, reasonCode: 0 }, bytes: '40 02 00 0a' },
  { name: '3.1.1 PUBREC', version: 4, packet: { type: 'pubrec', packetId: 10, reasonCode: 0 }, bytes: '50 02 00 0a' },
  { name: '3.1.1 PUBREL', version: 4, packet: { type: 'pubrel', packetId: 10, reasonCode: 0 }, bytes: '62 02 00 0a' },
  { name: '3.1.1 PUBCOMP', version: 4, packet: { type: 'pubcomp', packetId: 10, reasonCode: 0 }, bytes: '70 02 00 0a' },
  { name: '5.0 PUBACK, success in short form', version: 5, packet: { type: 'puback', packetId: 10, reasonCode: 0 }, bytes: '40 02 00 0a' },
  { name: '5.0 PUBACK, no matching subscribers', version: 5, packet: { type: 'puback', packetId: 10, reasonCode: 0x10 }, bytes: '40 03 00 0a 10' },
  {
    name: '5.0 PUBREC, unspecified error with a reason string',
    version: 5,
    packet: { type: 'pubrec', packetId: 10, reasonCode: 0x80, properties: { reasonString: 'no' } },
    bytes: '50 09 00 0a 80 05 1f 00 02 6e 6f',
  },
  { name: '5.0 PUBREL, packet identifier not found', version: 5, packet: { type: 'pubrel', packetId: 10, reasonCode: 0x92 }, bytes: '62 03 00 0a 92' },
  {
    name: '5.0 PUBCOMP, success with a user property',
    version: 5,
    packet: { type: 'pubcomp', packetId: 10, reasonCode: 0, properties: { userProperties: [['k', 'v']] } },
    bytes: '70 0b 00 0a 00 07 26 00 01 6b 00 01 76',
  },
  // SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK
  {
    name: '3.1.1 SUBSCRIBE, two filters',
    version: 4,
    packet: {
      type: 'subscribe', packetId: 1,
      subscriptions: [
        { filter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { filter: '#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    bytes: '82 0c 00 01 00 03 61 2f 2b 01 00 01 23 00',
  },
  {
    name: '5.0 SUBSCRIBE, shared subscription, options, subscription identifier',
    version: 5,
    packet: {
      type: 'subscribe', packetId: 2, properties: { subscriptionIdentifiers: [7] },
      subscriptions: [
        { filter: '$share/g/t', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 2 },
        { filter: 'x', qos: 0, noLocal: true, retainAsPublished: false, retainHandling: 1 },
      ],
    },
    bytes: '82 16 00 02 02 0b 07 00 0a 24 73 68 61 72 65 2f 67 2f 74 2a 00 01 78 14',
  },
  { name: '3.1.1 SUBACK', version: 4, packet: { type: 'suback', packetId: 1, reasonCodes: [1, 0x80] }, bytes: '90 04 00 01 01 80' },
  { name: '5.0 SUBACK', version: 5, packet: { type: 'suback', packetId: 2, reasonCodes: [2, 0xa2] }, bytes: '90 05 00 02 00 02 a2' },
  { name: '3.1.1 UNSUBSCRIBE', version: 4, packet: { type: 'unsubscribe', packetId: 3, filters: ['a'] }, bytes: 'a2 05 00 03 00 01 61' },
  { name: '5.0 UNSUBSCRIBE', version: 5, packet: { type: 'unsubscribe', packetId: 3, filters: ['a'] }, bytes: 'a2 06 00 03 00 00 01 61' },
  { name: '3.1.1 UNSUBACK', version: 4, packet: { type: 'unsuback', packetId: 3, reasonCodes: [] }, bytes: 'b0 02 00 03' },
  { name: '5.0 UNSUBACK', version: 5, packet: { type: 'unsuback', packetId: 3, reasonCodes: [0, 0x11] }, bytes: 'b0 05 00 03 00 00 11' },
  // PINGREQ, PINGRESP, DISCONNECT, AUTH
  { name: '3.1.1 PINGREQ', version: 4, packet: { type: 'pingreq' }, bytes: 'c0 00' },
  { name: '3.1.1 PINGRESP', version: 4, packet: { type: 'pingresp' }, bytes: 'd0 00' },
  { name: '5.0 PINGREQ', version: 5, packet: { type: 'pingreq' }, bytes: 'c0 00' },
  { name: '5.0 PINGRESP', version: 5, packet: { type: 'pingresp' }, bytes: 'd0 00' },
  { name: '3.1.1 DISCONNECT', version: 4, packet: { type: 'disconnect', reasonCode: 0 }, bytes: 'e0 00' },
  { name: '5.0 DISCONNECT, normal', version: 5, packet: { type: 'disconnect', reasonCode: 0 }, bytes: 'e0 00' },
  { name: '5.0 DISCONNECT, session taken over', version: 5, packet: { type: 'disconnect', reasonCode: ReasonCode.SESSION_TAKEN_OVER }, bytes: 'e0 01 8e' },
  {
    name: '5.0 DISCONNECT, use another server',
    version: 5,
    packet: { type: 'disconnect', reasonCode: ReasonCode.USE_ANOTHER_SERVER, properties: { serverReference: 'h' } },
    bytes: 'e0 06 9c 04 1c 00 01 68',
  },
  { name: '5.0 AUTH, success in short form', version: 5, packet: { type: 'auth', reasonCode: 0 }, bytes: 'f0 00' },
  {
    name: '5.0 AUTH, continue with method and data',
    version: 5,
    packet: { type: 'auth', reasonCode: ReasonCode.CONTINUE_AUTHENTICATION, properties: { authenticationMethod: 'SCRAM', authenticationData: hex('01') } },
    bytes: 'f0 0e 18 0c 15 00 05 53 43 52 41 4d 16 00 01 01',
  },
  { name: '5.0 AUTH, re-authenticate, no properties', version: 5, packet: { type: 'auth', reasonCode: ReasonCode.RE_AUTHENTICATE }, bytes: 'f0 02 19 00' },
];

describe('vectors: encode to the bytes, decode to the packet', () => {
  test.each(VECTORS.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(toHex(encodePacket(v.packet, v.version))).toBe(toHex(hex(v.bytes)));
    expect(decodePacket(hex(v.bytes), v.version)).toEqual(v.packet);
  });

  test('every packet type is covered under both versions (AUTH: 5.0 only)', () => {
    const seen = new Set(VECTORS.map((v) => `${v.version}:${v.packet.type}`));
    for (const type of Object.keys(PacketType)) {
      const t = type.toLowerCase();
      if (t !== 'auth') expect(seen).toContain(`4:${t}`);
      expect(seen).toContain(`5:${t}`);
    }
  });

  test('alternative forms the spec allows are decoded', () => {
    // a 5.0 DISCONNECT and an AUTH with a reason code and no property length
    expect(decodePacket(hex('e0 01 04'), 5)).toEqual({ type: 'disconnect', reasonCode: 4 });
    expect(decodePacket(hex('f0 01 18'), 5)).toEqual({ type: 'auth', reasonCode: 0x18 });
    // a PUBACK with reason code and an empty property length
    expect(decodePacket(hex('40 04 00 01 00 00'), 5)).toEqual({ type: 'puback', packetId: 1, reasonCode: 0 });
    // a non-minimal Remaining Length (4 bytes for 2)
    expect(decodePacket(hex('40 82 80 80 00 00 01'), 4)).toEqual({ type: 'puback', packetId: 1, reasonCode: 0 });
  });

  test('a 2 MiB PUBLISH uses a 4-byte Remaining Length and round-trips', () => {
    const payload = new Uint8Array(2 * 1024 * 1024).map((_, i) => i & 0xff);
    const p: MqttPacket = { type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false };
    const b = encodePacket(p, 4);
    expect(b.length).toBe(1 + 4 + 3 + payload.length);
    expect(toHex(b.subarray(0, 5))).toBe('30 83 80 80 01');
    expect(decodePacket(b, 4)).toEqual(p);
  });

  test('every packet with properties round-trips behind a 2-byte Remaining Length', () => {
    const big = { userProperties: [['k', 'v'.repeat(200)]] as [string, string][] };
    const packets: MqttPacket[] = [
      { type: 'connect', version: 5, clientId: 'c', cleanStart: true, keepAlive: 0, properties: big, will: { topic: 't', payload: new Uint8Array(1), qos: 2, retain: false, properties: big } },
      { type: 'connack', sessionPresent: true, reasonCode: 0, properties: big },
      { type: 'publish', topic: 't', payload: new Uint8Array(3), qos: 1, retain: false, dup: false, packetId: 1, properties: big },
      { type: 'puback', packetId: 1, reasonCode: 0, properties: big },
      { type: 'pubrec', packetId: 1, reasonCode: 0x80, properties: big },
      { type: 'pubrel', packetId: 1, reasonCode: 0, properties: big },
      { type: 'pubcomp', packetId: 1, reasonCode: 0x92, properties: big },
      { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: big },
      { type: 'suback', packetId: 1, reasonCodes: [1], properties: big },
      { type: 'unsubscribe', packetId: 1, filters: ['a'], properties: big },
      { type: 'unsuback', packetId: 1, reasonCodes: [0], properties: big },
      { type: 'disconnect', reasonCode: 0, properties: big },
      { type: 'auth', reasonCode: 0x18, properties: big },
    ];
    for (const p of packets) {
      const b = encodePacket(p, 5);
      expect(b[1] as number).toBeGreaterThanOrEqual(0x80);
      expect(b[2] as number).toBeLessThan(0x80);
      expect(b.length).toBe(3 + ((b[1] as number) & 0x7f) + 128 * (b[2] as number));
      expect(decodePacket(b, 5)).toEqual(p);
    }
  });

  test('long strings (past the one-call ASCII path) are checked the same', () => {
    const topic = 'a/'.repeat(1500) + 'b';
    const p: MqttPacket = { type: 'publish', topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false };
    const b = encodePacket(p, 4);
    expect(decodePacket(b, 4)).toEqual(p);
    // the same bytes with the last character made a wildcard, then a U+0000
    b[b.length - 1] = 0x23;
    expect(refusal(b, 4)).toMatchObject({ code: 'ERR_MQTT_TOPIC_NAME', detail: { field: 'topic name', offset: 2 + topic.length - 1 } });
    b[b.length - 1] = 0;
    expect(refusal(b, 4)).toMatchObject({ code: 'ERR_MQTT_MALFORMED', detail: { field: 'topic name', offset: 2 + topic.length - 1 } });
    expect(() => encodePacket({ ...p, topic: `${topic}#` }, 4)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE', detail: expect.objectContaining({ field: 'topic' }) }));
    expect(() => encodePacket({ ...p, topic: 'é/+' }, 4)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_ENCODE', detail: expect.objectContaining({ field: 'topic', index: 2 }) }));
  });

  test('strings carry any Unicode: 2-, 3- and 4-byte UTF-8', () => {
    const topic = 'é/€/😀';
    const b = encodePacket({ type: 'publish', topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false }, 4);
    expect(toHex(b)).toBe('30 0d 00 0b c3 a9 2f e2 82 ac 2f f0 9f 98 80');
    expect((decodePacket(b, 4) as { topic: string }).topic).toBe(topic);
  });
});

/** Decodes `bytes` under `version` and returns the MqttProtocolError it must throw. */
function refusal(bytes: string | Uint8Array, version: MqttVersion | undefined, max?: number): MqttProtocolError {
  const d = new MqttDecoder({ ...(version === undefined ? {} : { version }), ...(max === undefined ? {} : { maxPacketSize: max }) });
  try {
    d.push(typeof bytes === 'string' ? hex(bytes) : bytes);
    d.end();
  } catch (e) {
    expect(e).toBeInstanceOf(MqttProtocolError);
    return e as MqttProtocolError;
  }
  throw new Error(`accepted: ${typeof bytes === 'string' ? bytes : toHex(bytes)}`);
}

const CONNECT_HEAD = '00 04 4d 51 54 54';

interface Refusal {
  name: string;
  version: MqttVersion | undefined;
  bytes: string;
  code: MqttProtocolCode;
  field: string;
}

const REFUSALS: Refusal[] = [
  // fixed header
  { name: 'packet type 0', version: 4, bytes: '00 00', code: 'ERR_MQTT_MALFORMED', field: 'packet type' },
  { name: 'AUTH under 3.1.1', version: 4, bytes: 'f0 00', code: 'ERR_MQTT_MALFORMED', field: 'packet type' },
  { name: 'a packet before CONNECT on a server', version: undefined, bytes: 'c0 00', code: 'ERR_MQTT_PROTOCOL', field: 'packet type' },
  { name: 'PUBLISH QoS 3', version: 4, bytes: '36 00', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'PUBLISH QoS 0 with DUP', version: 4, bytes: '38 00', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'PUBREL flags 0', version: 4, bytes: '60 02 00 01', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'SUBSCRIBE flags 0', version: 5, bytes: '80 00', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'UNSUBSCRIBE flags 3', version: 5, bytes: 'a3 00', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'CONNACK flags 1', version: 4, bytes: '21 02 00 00', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'PINGREQ flags 8', version: 4, bytes: 'c8 00', code: 'ERR_MQTT_MALFORMED', field: 'flags' },
  { name: 'Remaining Length of 5 bytes', version: 4, bytes: '30 ff ff ff ff 7f', code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  { name: 'stream ends in the Remaining Length', version: 4, bytes: '30 ff', code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  { name: 'stream ends in the body', version: 4, bytes: '30 05 00 03 61', code: 'ERR_MQTT_MALFORMED', field: 'body' },
  // lengths inside the packet
  { name: 'string length overruns the packet', version: 4, bytes: '30 03 00 05 61', code: 'ERR_MQTT_MALFORMED', field: 'topic name' },
  { name: 'packet id missing', version: 4, bytes: '32 03 00 01 61', code: 'ERR_MQTT_MALFORMED', field: 'packet identifier' },
  { name: 'bytes after a PUBACK', version: 4, bytes: '40 03 00 01 00', code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  { name: 'bytes in a PINGREQ', version: 4, bytes: 'c0 01 00', code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  { name: 'bytes in a 3.1.1 DISCONNECT', version: 4, bytes: 'e0 01 00', code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  { name: 'reason codes in a 3.1.1 UNSUBACK', version: 4, bytes: 'b0 03 00 01 00', code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  { name: 'a CONNACK cut short', version: 4, bytes: '20 01 00', code: 'ERR_MQTT_MALFORMED', field: 'return code' },
  // strings
  { name: 'invalid UTF-8', version: 4, bytes: '30 04 00 02 c3 28', code: 'ERR_MQTT_MALFORMED', field: 'topic name' },
  { name: 'UTF-8 surrogate', version: 4, bytes: '30 05 00 03 ed a0 80', code: 'ERR_MQTT_MALFORMED', field: 'topic name' },
  { name: 'U+0000 in a string', version: 4, bytes: '30 04 00 02 61 00', code: 'ERR_MQTT_MALFORMED', field: 'topic name' },
  { name: 'U+0000 after non-ASCII', version: 4, bytes: '30 05 00 03 c3 a9 00', code: 'ERR_MQTT_MALFORMED', field: 'topic name' },
  { name: 'U+0000 in a user property', version: 5, bytes: '30 0b 00 01 61 07 26 00 01 00 00 01 76', code: 'ERR_MQTT_MALFORMED', field: 'userProperties name' },
  // topic names
  { name: 'wildcard in a PUBLISH topic', version: 4, bytes: '30 05 00 03 61 2f 23', code: 'ERR_MQTT_TOPIC_NAME', field: 'topic name' },
  { name: '+ in a PUBLISH topic', version: 5, bytes: '30 04 00 01 2b 00', code: 'ERR_MQTT_TOPIC_NAME', field: 'topic name' },
  { name: 'wildcard after non-ASCII', version: 4, bytes: '30 06 00 04 c3 a9 2f 23', code: 'ERR_MQTT_TOPIC_NAME', field: 'topic name' },
  { name: 'empty 3.1.1 topic', version: 4, bytes: '30 02 00 00', code: 'ERR_MQTT_TOPIC_NAME', field: 'topic name' },
  { name: 'empty 5.0 topic without an alias', version: 5, bytes: '30 03 00 00 00', code: 'ERR_MQTT_TOPIC_NAME', field: 'topic name' },
  { name: 'wildcard in a Response Topic', version: 5, bytes: '30 08 00 01 61 04 08 00 01 23', code: 'ERR_MQTT_TOPIC_NAME', field: 'responseTopic' },
  // packet identifiers and reason codes
  { name: 'PUBLISH packet id 0', version: 4, bytes: '32 05 00 01 61 00 00', code: 'ERR_MQTT_PROTOCOL', field: 'packet identifier' },
  { name: 'SUBACK packet id 0', version: 4, bytes: '90 03 00 00 00', code: 'ERR_MQTT_PROTOCOL', field: 'packet identifier' },
  { name: 'PUBACK reason code of PUBREL', version: 5, bytes: '40 03 00 01 92', code: 'ERR_MQTT_PROTOCOL', field: 'reason code' },
  { name: 'DISCONNECT with an AUTH reason code', version: 5, bytes: 'e0 01 18', code: 'ERR_MQTT_PROTOCOL', field: 'reason code' },
  { name: 'AUTH with a DISCONNECT reason code', version: 5, bytes: 'f0 02 04 00', code: 'ERR_MQTT_PROTOCOL', field: 'reason code' },
  { name: '3.1.1 CONNACK return code 6', version: 4, bytes: '20 02 00 06', code: 'ERR_MQTT_PROTOCOL', field: 'return code' },
  { name: 'CONNACK session present on refusal', version: 5, bytes: '20 03 01 87 00', code: 'ERR_MQTT_PROTOCOL', field: 'acknowledge flags' },
  { name: 'CONNACK reserved acknowledge flags', version: 4, bytes: '20 02 02 00', code: 'ERR_MQTT_MALFORMED', field: 'acknowledge flags' },
  { name: '3.1.1 SUBACK return code 3', version: 4, bytes: '90 03 00 01 03', code: 'ERR_MQTT_PROTOCOL', field: 'return code' },
  { name: '5.0 UNSUBACK reason code 0x92', version: 5, bytes: 'b0 04 00 01 00 92', code: 'ERR_MQTT_PROTOCOL', field: 'reason code' },
  { name: 'SUBACK without codes', version: 4, bytes: '90 02 00 01', code: 'ERR_MQTT_PROTOCOL', field: 'payload' },
  { name: '5.0 UNSUBACK without codes', version: 5, bytes: 'b0 03 00 01 00', code: 'ERR_MQTT_PROTOCOL', field: 'payload' },
  // properties
  { name: 'unknown property', version: 5, bytes: '30 06 00 01 61 02 04 00', code: 'ERR_MQTT_MALFORMED', field: 'property identifier' },
  { name: 'property not allowed in the packet', version: 5, bytes: '40 07 00 01 00 03 23 00 01', code: 'ERR_MQTT_PROTOCOL', field: 'topicAlias' },
  { name: 'Will Delay Interval outside the will', version: 5, bytes: '30 09 00 01 61 05 18 00 00 00 01', code: 'ERR_MQTT_PROTOCOL', field: 'willDelayInterval' },
  { name: 'property given twice', version: 5, bytes: '30 0a 00 01 61 06 23 00 01 23 00 02', code: 'ERR_MQTT_PROTOCOL', field: 'topicAlias' },
  { name: 'subscription identifier twice in SUBSCRIBE', version: 5, bytes: '82 0a 00 01 04 0b 01 0b 02 00 01 61 00', code: 'ERR_MQTT_PROTOCOL', field: 'subscriptionIdentifiers' },
  { name: 'payload format indicator 2', version: 5, bytes: '30 06 00 01 61 02 01 02', code: 'ERR_MQTT_PROTOCOL', field: 'payloadFormatIndicator' },
  { name: 'maximum QoS 2', version: 5, bytes: '20 05 00 00 02 24 02', code: 'ERR_MQTT_PROTOCOL', field: 'maximumQos' },
  { name: 'receive maximum 0', version: 5, bytes: '20 06 00 00 03 21 00 00', code: 'ERR_MQTT_PROTOCOL', field: 'receiveMaximum' },
  { name: 'maximum packet size 0', version: 5, bytes: '20 08 00 00 05 27 00 00 00 00', code: 'ERR_MQTT_PROTOCOL', field: 'maximumPacketSize' },
  { name: 'topic alias 0', version: 5, bytes: '30 07 00 01 61 03 23 00 00', code: 'ERR_MQTT_PROTOCOL', field: 'topicAlias' },
  { name: 'subscription identifier 0', version: 5, bytes: '30 06 00 01 61 02 0b 00', code: 'ERR_MQTT_PROTOCOL', field: 'subscriptionIdentifiers' },
  { name: 'property length overruns the packet', version: 5, bytes: '30 05 00 01 61 05 01', code: 'ERR_MQTT_MALFORMED', field: 'property length' },
  { name: 'property runs past the property length', version: 5, bytes: '30 07 00 01 61 01 23 00 05', code: 'ERR_MQTT_MALFORMED', field: 'topicAlias' },
  { name: 'property value cut by the packet end', version: 5, bytes: '30 06 00 01 61 03 23 00', code: 'ERR_MQTT_MALFORMED', field: 'property length' },
  { name: 'user property without a value', version: 5, bytes: '30 09 00 01 61 05 26 00 01 6b 00', code: 'ERR_MQTT_MALFORMED', field: 'userProperties value' },
  { name: '5-byte property identifier', version: 5, bytes: '30 0a 00 01 61 06 ff ff ff ff 7f 00', code: 'ERR_MQTT_MALFORMED', field: 'property identifier' },
  // CONNECT
  { name: 'CONNECT for MQTT 3.1 (MQIsdp)', version: undefined, bytes: '10 0c 00 06 4d 51 49 73 64 70 03 02 00 00 00 00', code: 'ERR_MQTT_UNSUPPORTED_VERSION', field: 'protocol level' },
  { name: 'CONNECT level 6', version: undefined, bytes: `10 0c ${CONNECT_HEAD} 06 02 00 00 00 00`, code: 'ERR_MQTT_UNSUPPORTED_VERSION', field: 'protocol level' },
  { name: 'CONNECT reserved flag', version: undefined, bytes: `10 0c ${CONNECT_HEAD} 04 03 00 00 00 00`, code: 'ERR_MQTT_MALFORMED', field: 'connect flags' },
  { name: 'CONNECT will QoS without a will', version: undefined, bytes: `10 0c ${CONNECT_HEAD} 04 0a 00 00 00 00`, code: 'ERR_MQTT_MALFORMED', field: 'connect flags' },
  { name: 'CONNECT will retain without a will', version: undefined, bytes: `10 0c ${CONNECT_HEAD} 04 22 00 00 00 00`, code: 'ERR_MQTT_MALFORMED', field: 'connect flags' },
  { name: 'CONNECT will QoS 3', version: undefined, bytes: `10 0c ${CONNECT_HEAD} 04 1e 00 00 00 00`, code: 'ERR_MQTT_MALFORMED', field: 'connect flags' },
  { name: '3.1.1 CONNECT password without user name', version: undefined, bytes: `10 0e ${CONNECT_HEAD} 04 42 00 00 00 00 00 00`, code: 'ERR_MQTT_MALFORMED', field: 'connect flags' },
  { name: 'CONNECT authentication data without a method', version: undefined, bytes: `10 11 ${CONNECT_HEAD} 05 02 00 00 04 16 00 01 01 00 00`, code: 'ERR_MQTT_PROTOCOL', field: 'authenticationData' },
  { name: 'CONNECT will topic with a wildcard', version: undefined, bytes: `10 11 ${CONNECT_HEAD} 04 06 00 00 00 00 00 01 23 00 00`, code: 'ERR_MQTT_TOPIC_NAME', field: 'will topic' },
  { name: 'CONNECT missing its will', version: undefined, bytes: `10 0c ${CONNECT_HEAD} 04 06 00 00 00 00`, code: 'ERR_MQTT_MALFORMED', field: 'will topic' },
  { name: 'CONNECT with trailing bytes', version: undefined, bytes: `10 0d ${CONNECT_HEAD} 04 02 00 00 00 00 ff`, code: 'ERR_MQTT_MALFORMED', field: 'remaining length' },
  // SUBSCRIBE, UNSUBSCRIBE
  { name: 'SUBSCRIBE without a filter', version: 4, bytes: '82 02 00 01', code: 'ERR_MQTT_PROTOCOL', field: 'payload' },
  { name: 'SUBSCRIBE without options', version: 4, bytes: '82 05 00 01 00 01 61', code: 'ERR_MQTT_MALFORMED', field: 'subscription options' },
  { name: '3.1.1 SUBSCRIBE with 5.0 option bits', version: 4, bytes: '82 06 00 01 00 01 61 04', code: 'ERR_MQTT_MALFORMED', field: 'subscription options' },
  { name: '5.0 SUBSCRIBE reserved option bits', version: 5, bytes: '82 07 00 01 00 00 01 61 40', code: 'ERR_MQTT_MALFORMED', field: 'subscription options' },
  { name: '3.1.1 SUBSCRIBE QoS 3', version: 4, bytes: '82 06 00 01 00 01 61 03', code: 'ERR_MQTT_MALFORMED', field: 'subscription options' },
  { name: '5.0 SUBSCRIBE QoS 3', version: 5, bytes: '82 07 00 01 00 00 01 61 03', code: 'ERR_MQTT_PROTOCOL', field: 'subscription options' },
  { name: '5.0 SUBSCRIBE retain handling 3', version: 5, bytes: '82 07 00 01 00 00 01 61 30', code: 'ERR_MQTT_PROTOCOL', field: 'subscription options' },
  { name: '5.0 SUBSCRIBE no local on a shared subscription', version: 5, bytes: '82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 74 04', code: 'ERR_MQTT_PROTOCOL', field: 'subscription options' },
  { name: 'UNSUBSCRIBE without a filter', version: 5, bytes: 'a2 03 00 01 00', code: 'ERR_MQTT_PROTOCOL', field: 'payload' },
];

describe('refusals: each with its code', () => {
  test.each(REFUSALS.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const e = refusal(r.bytes, r.version);
    expect(e.code).toBe(r.code);
    expect(e.detail?.['field']).toBe(r.field);
    expect(e.message).toMatch(/^mqtt: /);
  });

  test('each code carries the 5.0 reason code a DISCONNECT should say', () => {
    const want: Record<MqttProtocolCode, number> = {
      ERR_MQTT_MALFORMED: 0x81,
      ERR_MQTT_PROTOCOL: 0x82,
      ERR_MQTT_UNSUPPORTED_VERSION: 0x84,
      ERR_MQTT_TOPIC_NAME: 0x90,
      ERR_MQTT_PACKET_TOO_LARGE: 0x95,
    };
    for (const r of REFUSALS) expect(refusal(r.bytes, r.version).reasonCode).toBe(want[r.code]);
    // all but 0x84 close with a DISCONNECT; 0x84 refuses a CONNECT, so it goes in the CONNACK
    for (const rc of Object.values(want)) expect(reasonCodeAllowed(rc, rc === 0x84 ? PacketType.CONNACK : PacketType.DISCONNECT, 5)).toBe(true);
    expect(reasonCodeAllowed(0x84, PacketType.DISCONNECT, 5)).toBe(false);
    expect(refusal('30 e5 00', 4, 100).reasonCode).toBe(0x95);
  });

  test('the offset points at the offending field, counted from the variable header', () => {
    // topic 0..2, property length 3, first topicAlias 4..6, the second at 7
    expect(refusal('30 0a 00 01 61 06 23 00 01 23 00 02', 5).detail).toMatchObject({ packet: 'publish', field: 'topicAlias', offset: 7 });
    // the bad UTF-8 byte: 2 length bytes, then 0xc3 at 2, 0x28 at 3
    expect(refusal('30 04 00 02 c3 28', 4).detail?.['offset']).toBe(3);
    expect(refusal('30 04 00 02 c3 28', 4).cause).toBeDefined();
  });
});

describe('the streaming decoder', () => {
  test('packets split anywhere come out whole, several per push', () => {
    const stream = hex(VECTORS.filter((v) => v.version === 4).map((v) => v.bytes).join(' '));
    const want = VECTORS.filter((v) => v.version === 4).map((v) => v.packet);
    for (let a = 0; a < stream.length; a++) {
      for (let b = a; b < stream.length; b += 7) {
        const d = new MqttDecoder({ version: 4 });
        const got = [...d.push(stream.subarray(0, a)), ...d.push(stream.subarray(a, b)), ...d.push(stream.subarray(b))];
        expect(got).toEqual(want);
        expect(d.idle).toBe(true);
        d.end();
      }
    }
  });

  test('one byte at a time', () => {
    const stream = hex(VECTORS.filter((v) => v.version === 5).map((v) => v.bytes).join(' '));
    const d = new MqttDecoder({ version: 5 });
    const got: MqttPacket[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got).toEqual(VECTORS.filter((v) => v.version === 5).map((v) => v.packet));
  });

  test('a server decoder learns the version from CONNECT', () => {
    const d = new MqttDecoder();
    expect(d.version).toBeUndefined();
    const connect5 = VECTORS.find((v) => v.version === 5 && v.packet.type === 'connect') as Vector;
    d.push(hex(connect5.bytes));
    expect(d.version).toBe(5);
    // now 5.0 rules apply: a PUBACK with a reason code parses
    expect(d.push(hex('40 03 00 0a 10'))).toEqual([{ type: 'puback', packetId: 10, reasonCode: 0x10 }]);
    const d4 = new MqttDecoder();
    d4.push(hex(VECTORS[0]?.bytes as string));
    expect(d4.version).toBe(4);
    expect(refusal('f0 00', 4).code).toBe('ERR_MQTT_MALFORMED');
  });

  test('payloads never alias the caller\'s buffer', () => {
    const b = hex('30 07 00 03 61 2f 62 68 69');
    const whole = new MqttDecoder({ version: 4 }).push(b)[0] as { payload: Uint8Array };
    const split = new MqttDecoder({ version: 4 });
    split.push(b.subarray(0, 4));
    const gathered = split.push(b.subarray(4))[0] as { payload: Uint8Array };
    b.fill(0);
    expect(Array.from(whole.payload)).toEqual([0x68, 0x69]);
    expect(Array.from(gathered.payload)).toEqual([0x68, 0x69]);
  });

  test('the maximum packet size is enforced from the Remaining Length, before the body', () => {
    const d = new MqttDecoder({ version: 4, maxPacketSize: 100 });
    // 1 + 1 + 98 = 100 fits; 1 + 1 + 99 does not
    const fits = new Uint8Array(100);
    fits.set(hex('30 62 00 01 61'));
    expect(d.push(fits)).toHaveLength(1);
    let e: unknown;
    try {
      d.push(hex('30 63'));
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(MqttProtocolError);
    expect((e as MqttProtocolError).code).toBe('ERR_MQTT_PACKET_TOO_LARGE');
    expect((e as MqttProtocolError).detail).toMatchObject({ size: 101, limit: 100 });
    expect(d.buffered).toBe(0);
    // the 256 MiB a Remaining Length can announce is refused with nothing buffered
    const big = new MqttDecoder({ version: 5 });
    expect(() => big.push(hex('30 ff ff ff 7f'))).toThrow(expect.objectContaining({ code: 'ERR_MQTT_PACKET_TOO_LARGE' }));
    expect(big.maxPacketSize).toBe(DEFAULT_MAX_PACKET_SIZE);
    expect(big.buffered).toBe(0);
  });

  test('a split packet is buffered at its own size only', () => {
    const d = new MqttDecoder({ version: 4 });
    d.push(hex('30 e4 00 00 01 61'));
    expect(d.buffered).toBe(3);
    expect(d.idle).toBe(false);
    d.push(new Uint8Array(97));
    expect(d.buffered).toBe(0);
    expect(d.idle).toBe(true);
  });

  test('after a failure every push throws the same error', () => {
    const d = new MqttDecoder({ version: 4 });
    let first: unknown;
    try {
      d.push(hex('c0 00 00 00'));
    } catch (e) {
      first = e;
    }
    expect((first as MqttProtocolError).code).toBe('ERR_MQTT_MALFORMED');
    expect(() => d.push(hex('c0 00'))).toThrow(first as Error);
    expect(() => d.end()).toThrow(first as Error);
    let again: unknown;
    try {
      d.push(hex('d0 00'));
    } catch (e) {
      again = e;
    }
    expect(again).toBe(first);
  });

  test('packets completed before a failure in the same push are in the caller\'s array', () => {
    const d = new MqttDecoder({ version: 4 });
    const out: MqttPacket[] = [];
    expect(() => d.push(hex('30 07 00 03 61 2f 62 68 69 c0 00 00 00'), out)).toThrow(MqttProtocolError);
    expect(out).toEqual([{ type: 'publish', topic: 'a/b', payload: ascii('hi'), qos: 0, retain: false, dup: false }, { type: 'pingreq' }]);
    // and the array is also what push returns
    const d2 = new MqttDecoder({ version: 4 });
    const mine: MqttPacket[] = [];
    expect(d2.push(hex('c0 00'), mine)).toBe(mine);
  });

  test('an unfinished packet at end() is refused; between packets end() is fine', () => {
    const d = new MqttDecoder({ version: 4 });
    d.push(hex('c0 00'));
    d.end();
    d.push(hex('c0'));
    expect(() => d.end()).toThrow(expect.objectContaining({ code: 'ERR_MQTT_MALFORMED' }));
  });

  test('decodePacket wants exactly one packet', () => {
    expect(() => decodePacket(hex('c0 00 c0 00'), 4)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_MALFORMED' }));
    expect(() => decodePacket(new Uint8Array(0), 4)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_MALFORMED' }));
  });

  test('bad options are usage errors', () => {
    for (const opts of [{ maxPacketSize: 1 }, { maxPacketSize: MAX_PACKET_SIZE + 1 }, { maxPacketSize: 1.5 }, { version: 3 as unknown as MqttVersion }]) {
      expect(() => new MqttDecoder(opts)).toThrow(UsageError);
      expect(() => new MqttDecoder(opts)).toThrow(expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }));
    }
  });
});

describe('encoder refusals', () => {
  const pub = { type: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false } as const;
  const cases: [string, MqttPacket, MqttVersion, string][] = [
    ['packet id 0', { type: 'puback', packetId: 0, reasonCode: 0 }, 4, 'packetId'],
    ['packet id 65536', { ...pub, qos: 1, packetId: 65536 }, 4, 'packetId'],
    ['QoS 1 without packet id', { ...pub, qos: 1 }, 4, 'packetId'],
    ['QoS 0 with packet id', { ...pub, packetId: 1 }, 4, 'packetId'],
    ['QoS 3', { ...pub, qos: 3 as 0 }, 4, 'qos'],
    ['DUP on QoS 0', { ...pub, dup: true }, 4, 'dup'],
    ['wildcard topic', { ...pub, topic: 'a/#' }, 4, 'topic'],
    ['empty topic without alias', { ...pub, topic: '' }, 5, 'topic'],
    ['empty topic under 3.1.1', { ...pub, topic: '' }, 4, 'topic'],
    ['U+0000 in a topic', { ...pub, topic: 'a\u0000' }, 4, 'topic'],
    ['a lone surrogate', { ...pub, topic: 'a\ud800' }, 4, 'topic'],
    ['a string over 65,535 bytes', { ...pub, topic: 'é'.repeat(32768) }, 4, 'topic'],
    ['payload not bytes', { ...pub, payload: 'hi' as unknown as Uint8Array }, 4, 'payload'],
    ['properties under 3.1.1', { ...pub, properties: { contentType: 'x' } }, 4, 'contentType'],
    ['property not allowed in the packet', { ...pub, properties: { receiveMaximum: 5 } }, 5, 'receiveMaximum'],
    ['unknown property', { ...pub, properties: { nope: 1 } as never }, 5, 'nope'],
    ['topic alias 0', { ...pub, properties: { topicAlias: 0 } }, 5, 'topicAlias'],
    ['payload format 2', { ...pub, properties: { payloadFormatIndicator: 2 as 1 } }, 5, 'payloadFormatIndicator'],
    ['response topic with a wildcard', { ...pub, properties: { responseTopic: 'r/+' } }, 5, 'responseTopic'],
    ['subscription identifier over 268,435,455', { ...pub, properties: { subscriptionIdentifiers: [268_435_456] } }, 5, 'subscriptionIdentifiers'],
    ['user property not a pair', { ...pub, properties: { userProperties: [['a']] as never } }, 5, 'userProperties'],
    ['flag not a boolean', { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { retainAvailable: 1 as never } }, 5, 'retainAvailable'],
    ['binary not bytes', { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm', authenticationData: [1] as never } }, 5, 'authenticationData'],
    ['5.0 reason code under 3.1.1', { type: 'puback', packetId: 1, reasonCode: 0x10 }, 4, 'reasonCode'],
    ['reason code not allowed in the packet', { type: 'pubrel', packetId: 1, reasonCode: 0x10 }, 5, 'reasonCode'],
    ['CONNACK session present on refusal', { type: 'connack', sessionPresent: true, reasonCode: 0x87 }, 5, 'sessionPresent'],
    ['3.1.1 CONNACK return code 6', { type: 'connack', sessionPresent: false, reasonCode: 6 }, 4, 'reasonCode'],
    ['AUTH under 3.1.1', { type: 'auth', reasonCode: 0 }, 4, 'type'],
    ['3.1.1 DISCONNECT with a reason', { type: 'disconnect', reasonCode: 0x8e }, 4, 'reasonCode'],
    ['SUBSCRIBE without subscriptions', { type: 'subscribe', packetId: 1, subscriptions: [] }, 4, 'subscriptions'],
    ['SUBSCRIBE with an invalid filter', { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a/#/b', qos: 0 }] }, 4, 'filter'],
    ['SUBSCRIBE with 5.0 options under 3.1.1', { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a', qos: 0, noLocal: true }] }, 4, 'options'],
    ['SUBSCRIBE retain handling 3', { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a', qos: 0, retainHandling: 3 as 0 }] }, 5, 'retainHandling'],
    ['no local on a shared subscription', { type: 'subscribe', packetId: 1, subscriptions: [{ filter: '$share/g/a', qos: 0, noLocal: true }] }, 5, 'noLocal'],
    ['two subscription identifiers in SUBSCRIBE', { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a', qos: 0 }], properties: { subscriptionIdentifiers: [1, 2] } }, 5, 'subscriptionIdentifiers'],
    ['UNSUBSCRIBE without filters', { type: 'unsubscribe', packetId: 1, filters: [] }, 5, 'filters'],
    ['SUBACK without codes', { type: 'suback', packetId: 1, reasonCodes: [] }, 5, 'reasonCodes'],
    ['3.1.1 UNSUBACK with codes', { type: 'unsuback', packetId: 1, reasonCodes: [0] }, 4, 'reasonCodes'],
    ['CONNECT version differs from the connection', { type: 'connect', version: 5, clientId: '', cleanStart: true, keepAlive: 0 }, 4, 'version'],
    ['CONNECT keep alive over 65,535', { type: 'connect', version: 4, clientId: '', cleanStart: true, keepAlive: 65536 }, 4, 'keepAlive'],
    ['3.1.1 CONNECT password without user name', { type: 'connect', version: 4, clientId: 'c', cleanStart: true, keepAlive: 0, password: new Uint8Array(1) }, 4, 'password'],
    ['CONNECT authentication data without method', { type: 'connect', version: 5, clientId: 'c', cleanStart: true, keepAlive: 0, properties: { authenticationData: new Uint8Array(1) } }, 5, 'authenticationData'],
    ['will topic with a wildcard', { type: 'connect', version: 4, clientId: 'c', cleanStart: true, keepAlive: 0, will: { topic: '#', payload: new Uint8Array(0), qos: 0, retain: false } }, 4, 'will topic'],
    ['will delay outside the will', { type: 'connect', version: 5, clientId: 'c', cleanStart: true, keepAlive: 0, properties: { willDelayInterval: 1 } }, 5, 'willDelayInterval'],
    ['will payload over 65,535 bytes', { type: 'connect', version: 4, clientId: 'c', cleanStart: true, keepAlive: 0, will: { topic: 't', payload: new Uint8Array(65536), qos: 0, retain: false } }, 4, 'will payload'],
    ['unknown packet type', { type: 'bogus' } as unknown as MqttPacket, 4, 'type'],
  ];
  test.each(cases)('%s', (_name, p, v, field) => {
    let e: unknown;
    try {
      encodePacket(p, v);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(MqttEncodeError);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as MqttEncodeError).code).toBe('ERR_MQTT_ENCODE');
    expect((e as MqttEncodeError).detail?.['field']).toBe(field);
  });

  test('a packet over the peer\'s maximum packet size is refused before allocation', () => {
    // 2 fixed header + 3 topic + 1 property length + payload
    const p: MqttPacket = { ...pub, payload: new Uint8Array(94) };
    expect(encodePacket(p, 5, 100)).toHaveLength(100);
    expect(() => encodePacket({ ...pub, payload: new Uint8Array(95) }, 5, 100)).toThrow(
      expect.objectContaining({ code: 'ERR_MQTT_ENCODE_TOO_LARGE', detail: { packet: 'publish', size: 101, limit: 100 } }),
    );
  });
});

describe('reason codes', () => {
  test('names depend on the packet and version', () => {
    expect(reasonName(0, PacketType.DISCONNECT)).toBe('Normal disconnection');
    expect(reasonName(0, PacketType.SUBACK)).toBe('Granted QoS 0');
    expect(reasonName(0, PacketType.PUBACK)).toBe('Success');
    expect(reasonName(0x95, PacketType.DISCONNECT)).toBe('Packet too large');
    expect(reasonName(5, PacketType.CONNACK, 4)).toBe('Connection Refused, not authorized');
    expect(reasonName(0x80, PacketType.SUBACK, 4)).toBe('Failure');
    expect(reasonName(0x7f, PacketType.PUBACK)).toBe('Unknown reason code 0x7f');
  });

  test('allowed sets per packet', () => {
    expect(reasonCodeAllowed(0x10, PacketType.PUBACK, 5)).toBe(true);
    expect(reasonCodeAllowed(0x10, PacketType.PUBREL, 5)).toBe(false);
    expect(reasonCodeAllowed(0x92, PacketType.PUBCOMP, 5)).toBe(true);
    expect(reasonCodeAllowed(0x8b, PacketType.DISCONNECT, 5)).toBe(true);
    expect(reasonCodeAllowed(0x8b, PacketType.CONNACK, 5)).toBe(false);
    expect(reasonCodeAllowed(0x19, PacketType.AUTH, 5)).toBe(true);
    expect(reasonCodeAllowed(0x80, PacketType.SUBACK, 4)).toBe(true);
    expect(reasonCodeAllowed(0x87, PacketType.SUBACK, 4)).toBe(false);
    expect(reasonCodeAllowed(0x10, PacketType.PUBACK, 4)).toBe(false);
    expect(reasonCodeAllowed(256, PacketType.PUBACK, 5)).toBe(false);
  });

  test('property identifiers are the spec\'s', () => {
    expect(propertyId('payloadFormatIndicator')).toBe(0x01);
    expect(propertyId('subscriptionIdentifiers')).toBe(0x0b);
    expect(propertyId('userProperties')).toBe(0x26);
    expect(propertyId('sharedSubscriptionAvailable')).toBe(0x2a);
  });
});
