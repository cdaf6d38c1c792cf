/**
 * Deterministic results from the MQTT codec, computed the same way in Node and inside the real
 * XS engine and then compared: packets of every type under both versions encoded (hex) and
 * decoded back, a stream of them decoded in 3-byte chunks, refusals (code, reason code, field,
 * offset), encoder refusals, and topic validation and matching. Pure ECMAScript importing only
 * src/; everything returned is plain JSON (bytes as hex).
 */
import { MqttDecoder, decodePacket } from '../../src/protocols/mqtt/decoder.js';
import { encodePacket } from '../../src/protocols/mqtt/encode.js';
import { MqttEncodeError, MqttProtocolError } from '../../src/protocols/mqtt/errors.js';
import type { MqttPacket, MqttVersion } from '../../src/protocols/mqtt/packet.js';
import { isValidTopicFilter, isValidTopicName, splitShared, topicMatches } from '../../src/protocols/mqtt/topic.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
const bytes = (h: string): Uint8Array => {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
};
const ascii = (s: string): Uint8Array => new Uint8Array(Array.from(s, (c) => c.charCodeAt(0)));

/** JSON-safe: bytes become hex strings. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return hex(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) o[k] = plain(v);
    return o;
  }
  return x;
}

const users: [string, string][] = [['k', 'v'], ['k', 'é€😀'], ['', 'x']];

const PACKETS: [MqttVersion, MqttPacket][] = [
  [4, { type: 'connect', version: 4, clientId: 'lwsx', cleanStart: true, keepAlive: 60, username: 'u', password: ascii('pw'), will: { topic: 'w/t', payload: ascii('bye'), qos: 1, retain: true } }],
  [
    5,
    {
      type: 'connect', version: 5, clientId: 'dev-é', cleanStart: false, keepAlive: 30,
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 20, maximumPacketSize: 65536, topicAliasMaximum: 8, requestProblemInformation: true, authenticationMethod: 'SCRAM', authenticationData: ascii('x'), userProperties: users },
      will: { topic: 'w', payload: new Uint8Array(0), qos: 2, retain: false, properties: { willDelayInterval: 5, payloadFormatIndicator: 1, contentType: 'text/plain', responseTopic: 'r/1', correlationData: ascii('c') } },
    },
  ],
  [4, { type: 'connack', sessionPresent: true, reasonCode: 0 }],
  [5, { type: 'connack', sessionPresent: false, reasonCode: 0x87, properties: { reasonString: 'no', serverReference: 'other:1883' } }],
  [5, { type: 'connack', sessionPresent: true, reasonCode: 0, properties: { maximumQos: 1, retainAvailable: false, wildcardSubscriptionAvailable: true, subscriptionIdentifierAvailable: false, sharedSubscriptionAvailable: true, assignedClientIdentifier: 'auto-1', serverKeepAlive: 120, responseInformation: 'resp/' } }],
  [4, { type: 'publish', topic: 'a/b', payload: ascii('hello'), qos: 0, retain: true, dup: false }],
  [5, { type: 'publish', topic: 'sensor/é/😀', payload: new Uint8Array(300).map((_, i) => i), qos: 2, retain: false, dup: true, packetId: 65535, properties: { topicAlias: 3, subscriptionIdentifiers: [1, 268435455], messageExpiryInterval: 4294967295, userProperties: users } }],
  [5, { type: 'publish', topic: '', payload: ascii('by alias'), qos: 1, retain: false, dup: false, packetId: 1, properties: { topicAlias: 3 } }],
  [4, { type: 'puback', packetId: 7, reasonCode: 0 }],
  [5, { type: 'pubrec', packetId: 7, reasonCode: 0x10 }],
  [5, { type: 'pubrel', packetId: 7, reasonCode: 0x92, properties: { reasonString: 'gone' } }],
  [5, { type: 'pubcomp', packetId: 7, reasonCode: 0 }],
  [4, { type: 'subscribe', packetId: 2, subscriptions: [{ filter: 'a/+/c', qos: 1 }, { filter: '#', qos: 2 }] }],
  [5, { type: 'subscribe', packetId: 2, properties: { subscriptionIdentifiers: [42] }, subscriptions: [{ filter: '$share/g/x/#', qos: 1, retainAsPublished: true, retainHandling: 2 }, { filter: 'y', qos: 0, noLocal: true, retainHandling: 1 }] }],
  [4, { type: 'suback', packetId: 2, reasonCodes: [1, 0x80] }],
  [5, { type: 'suback', packetId: 2, reasonCodes: [0x02, 0x9e, 0xa2] }],
  [4, { type: 'unsubscribe', packetId: 3, filters: ['a/+/c', '#'] }],
  [5, { type: 'unsuback', packetId: 3, reasonCodes: [0, 0x11], properties: { userProperties: [['n', 'v']] } }],
  [4, { type: 'unsuback', packetId: 3, reasonCodes: [] }],
  [4, { type: 'pingreq' }],
  [5, { type: 'pingresp' }],
  [4, { type: 'disconnect', reasonCode: 0 }],
  [5, { type: 'disconnect', reasonCode: 0x8e }],
  [5, { type: 'disconnect', reasonCode: 0x9c, properties: { serverReference: 'h', sessionExpiryInterval: 0 } }],
  [5, { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM', authenticationData: ascii('challenge') } }],
  // strings past the one-call ASCII path (1,024 bytes), decoded in slices
  [5, { type: 'publish', topic: 'x/'.repeat(1500), payload: new Uint8Array(1), qos: 0, retain: false, dup: false, properties: { userProperties: [['big', 'é'.repeat(2000)]] } }],
];

const REFUSALS: [MqttVersion | undefined, string][] = [
  [4, '0000'],
  [4, 'f000'],
  [undefined, 'c000'],
  [4, '3600'],
  [4, '6002'],
  [4, '30ffffffff7f'],
  [4, '3003000561'],
  [4, '30040002c328'],
  [4, '300400026100'],
  [4, '30050003612f23'],
  [5, '3003000000'],
  [4, '32050001610000'],
  [5, '40030001' + '92'],
  [5, '3006000161020400'],
  [5, '40070001000323' + '0001'],
  [5, '300a00016106230001230002'],
  [5, '3006000161020102'],
  [5, '30070001610123' + '0005'],
  [undefined, '100c00064d5149736470030200000000'],
  [undefined, '100c00044d5154540403000000' + '00'],
  [4, '82020001'],
  [5, '820700010000016130'],
  [4, '30e500'],
];

function refusal(v: MqttVersion | undefined, h: string): Record<string, unknown> {
  const d = new MqttDecoder(v === undefined ? { maxPacketSize: 100 } : { version: v, maxPacketSize: 100 });
  try {
    d.push(bytes(h));
    d.end();
    return { accepted: true };
  } catch (e) {
    if (!(e instanceof MqttProtocolError)) return { unexpected: String(e) };
    return { code: e.code, reasonCode: e.reasonCode, field: e.detail?.['field'], offset: e.detail?.['offset'] };
  }
}

function encodeRefusal(v: MqttVersion, p: MqttPacket, max?: number): unknown {
  try {
    return { encoded: hex(encodePacket(p, v, max)) };
  } catch (e) {
    if (!(e instanceof MqttEncodeError)) return { unexpected: String(e) };
    return { code: e.code, field: e.detail?.['field'] };
  }
}

export function runMqttVectors(): Record<string, unknown> {
  const encoded = PACKETS.map(([v, p]) => hex(encodePacket(p, v)));
  const decoded = PACKETS.map(([v], i) => plain(decodePacket(bytes(encoded[i] as string), v)));
  // the 5.0 packets as one stream, 3 bytes at a time
  const stream = bytes(PACKETS.map(([v], i) => (v === 5 ? encoded[i] : '')).join(''));
  const d = new MqttDecoder({ version: 5 });
  const streamed: unknown[] = [];
  for (let i = 0; i < stream.length; i += 3) for (const p of d.push(stream.subarray(i, i + 3))) streamed.push(plain(p));
  const pub = { type: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false } as const;
  const encodeRefusals = [
    encodeRefusal(4, { ...pub, topic: 'a/#' }),
    encodeRefusal(4, { ...pub, topic: 'é\u0000' }),
    encodeRefusal(4, { ...pub, topic: 'a\ud800' }),
    encodeRefusal(4, { ...pub, properties: { contentType: 'x' } }),
    encodeRefusal(5, { ...pub, properties: { topicAlias: 0 } }),
    encodeRefusal(5, { type: 'pubrel', packetId: 1, reasonCode: 0x10 }),
    encodeRefusal(4, { type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a/#/b', qos: 0 }] }),
    encodeRefusal(5, { ...pub, payload: new Uint8Array(100) }, 100),
  ];
  const filters = ['#', '+/+', 'a/#/b', 'a+', '$share/g/a/#', '$share/g', '$share/g+/a', 'sport/tennis/#', ''];
  const matches: [string, string][] = [
    ['sport/#', 'sport'],
    ['sport/+', 'sport'],
    ['sport/+', 'sport/'],
    ['+/+', '/finance'],
    ['+', '/finance'],
    ['#', '$SYS/x'],
    ['$SYS/#', '$SYS'],
    ['a/+/c', 'a/é/c'],
    ['a/+/c', 'a/b/c/d'],
  ];
  return {
    encoded,
    decoded,
    streamed,
    refusals: REFUSALS.map(([v, h]) => refusal(v, h)),
    encodeRefusals,
    filters: filters.map((f) => [isValidTopicFilter(f), isValidTopicFilter(f, 4), splitShared(f) ?? null]),
    names: ['a', '', 'a/#', '/'].map((t) => isValidTopicName(t)),
    matches: matches.map(([f, t]) => topicMatches(f, t)),
  };
}
