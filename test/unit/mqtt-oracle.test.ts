/**
 * mqtt-packet as the oracle, both ways, both versions, on random valid packets of every type
 * (properties, user properties, wills, user names and passwords included): ours encodes and
 * mqtt-packet's parser reads, mqtt-packet generates and ours decodes, and the two agree field by
 * field. The representational differences are mapped here: mqtt-packet's names (messageId,
 * granted, maximumQoS...), Buffers, boolean payload format indicators, and user properties as
 * an object of name → value(s), which keeps the order of values per name but not across names.
 *
 * Then the streaming decoder: every packet split at every byte gives the same packet, and
 * streams of packets in random chunks give the same packets. Then fuzzing: arbitrary bytes,
 * every truncation and random corruption of valid packets, where nothing but
 * MqttProtocolError may escape, and whatever decodes re-encodes to the same packet.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { MqttDecoder, decodePacket } from '../../src/protocols/mqtt/decoder.js';
import { encodePacket } from '../../src/protocols/mqtt/encode.js';
import { MqttEncodeError, MqttProtocolError } from '../../src/protocols/mqtt/errors.js';
import type { MqttPacket, MqttVersion, QoS, Subscription, Will } from '../../src/protocols/mqtt/packet.js';
import type { MqttProperties } from '../../src/protocols/mqtt/properties.js';
import { isValidTopicFilter } from '../../src/protocols/mqtt/topic.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Theirs = Record<string, any>;
interface TheirParser {
  on(ev: 'packet', f: (p: Theirs) => void): void;
  on(ev: 'error', f: (e: Error) => void): void;
  parse(b: Buffer): number;
}
const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as {
  parser(opts: { protocolVersion: number }): TheirParser;
  generate(p: Theirs, opts: { protocolVersion: number }): Buffer;
};

// ---------------------------------------------------------------------------------------------
// arbitraries: valid packets

const VERSIONS: MqttVersion[] = [4, 5];

const text = (minLength = 0, maxLength = 8): fc.Arbitrary<string> =>
  fc
    .oneof(fc.string({ unit: 'grapheme-ascii', minLength, maxLength }), fc.string({ unit: 'binary', minLength, maxLength }))
    .map((s) => s.replace(/\u0000/g, '~'));
const levelChar = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'x', '$', 'é', '€', '😀', ' '),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !'/+#\u0000'.includes(c)),
);
const level = fc.string({ unit: levelChar, maxLength: 4 });
const topicName = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const plainFilter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'));
const filterFor = (v: MqttVersion): fc.Arbitrary<string> =>
  (v === 5
    ? fc.oneof(
        { weight: 4, arbitrary: plainFilter },
        { weight: 1, arbitrary: fc.tuple(fc.string({ unit: levelChar, minLength: 1, maxLength: 3 }), plainFilter).map(([g, f]) => `$share/${g}/${f}`) },
      )
    : plainFilter
  ).filter((f) => isValidTopicFilter(f, v));
const bytes = (maxLength = 24): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const qos = fc.constantFrom<QoS>(0, 1, 2);
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nonzero16 = fc.integer({ min: 1, max: 0xffff });
const nonzero32 = fc.integer({ min: 1, max: 0xffffffff });
const subId = fc.integer({ min: 1, max: 268_435_455 });
const packetId = nonzero16;

const PROPERTY: { [K in keyof MqttProperties]-?: fc.Arbitrary<MqttProperties[K]> } = {
  payloadFormatIndicator: fc.constantFrom<0 | 1>(0, 1),
  messageExpiryInterval: u32,
  contentType: text(),
  responseTopic: topicName,
  correlationData: bytes(),
  subscriptionIdentifiers: fc.array(subId, { minLength: 1, maxLength: 3 }),
  sessionExpiryInterval: u32,
  assignedClientIdentifier: text(),
  serverKeepAlive: u16,
  authenticationMethod: text(),
  authenticationData: bytes(),
  requestProblemInformation: fc.boolean(),
  willDelayInterval: u32,
  requestResponseInformation: fc.boolean(),
  responseInformation: text(),
  serverReference: text(),
  reasonString: text(),
  receiveMaximum: nonzero16,
  topicAliasMaximum: u16,
  topicAlias: nonzero16,
  maximumQos: fc.constantFrom<0 | 1>(0, 1),
  retainAvailable: fc.boolean(),
  // names repeat (a small alphabet); values are never empty: mqtt-packet's parser overwrites a
  // repeated name whose first value is "" instead of collecting it
  userProperties: fc.array(fc.tuple(fc.oneof(fc.constantFrom('k', 'n', ''), text()), text(1)), { minLength: 1, maxLength: 4 }),
  maximumPacketSize: nonzero32,
  wildcardSubscriptionAvailable: fc.boolean(),
  subscriptionIdentifierAvailable: fc.boolean(),
  sharedSubscriptionAvailable: fc.boolean(),
};

// Which properties each packet may carry, from the spec's tables (§3.x.2.2), not from the code.
type Key = keyof MqttProperties;
const ALLOWED: Record<string, Key[]> = {
  connect: ['sessionExpiryInterval', 'authenticationMethod', 'authenticationData', 'requestProblemInformation', 'requestResponseInformation', 'receiveMaximum', 'topicAliasMaximum', 'userProperties', 'maximumPacketSize'],
  will: ['payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'willDelayInterval', 'userProperties'],
  connack: [
    'sessionExpiryInterval', 'assignedClientIdentifier', 'serverKeepAlive', 'authenticationMethod', 'authenticationData', 'responseInformation', 'serverReference',
    'reasonString', 'receiveMaximum', 'topicAliasMaximum', 'maximumQos', 'retainAvailable', 'userProperties', 'maximumPacketSize', 'wildcardSubscriptionAvailable',
    'subscriptionIdentifierAvailable', 'sharedSubscriptionAvailable',
  ],
  publish: ['payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'subscriptionIdentifiers', 'topicAlias', 'userProperties'],
  ack: ['reasonString', 'userProperties'],
  subscribe: ['subscriptionIdentifiers', 'userProperties'],
  unsubscribe: ['userProperties'],
  disconnect: ['sessionExpiryInterval', 'reasonString', 'serverReference', 'userProperties'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
};

// Reason codes each packet may carry (§3.x.2.1).
const CODES = {
  connack4: [0, 1, 2, 3, 4, 5],
  connack5: [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f],
  pubackPubrec: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrelPubcomp: [0x00, 0x92],
  suback4: [0, 1, 2, 0x80],
  suback5: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2],
  auth: [0x00, 0x18, 0x19],
};

/** Random properties for `where` (none under 3.1.1); `single` limits Subscription Identifier to one. */
function props(v: MqttVersion, where: string, single = false): fc.Arbitrary<MqttProperties | undefined> {
  if (v === 4) return fc.constant(undefined);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of ALLOWED[where] as Key[]) model[k] = k === 'subscriptionIdentifiers' && single ? subId.map((x) => [x]) : PROPERTY[k];
  return fc.record(model, { requiredKeys: [] }).map((p) => (Object.keys(p).length > 0 ? (p as MqttProperties) : undefined));
}

function packetArb(v: MqttVersion): fc.Arbitrary<MqttPacket> {
  const will: fc.Arbitrary<Will> = fc.record({ topic: topicName, payload: bytes(), qos, retain: fc.boolean(), properties: props(v, 'will') });
  const connect = fc
    .record({
      clientId: text(0, 12),
      cleanStart: fc.boolean(),
      keepAlive: u16,
      username: fc.option(text(), { nil: undefined }),
      password: fc.option(bytes(), { nil: undefined }),
      will: fc.option(will, { nil: undefined }),
      properties: props(v, 'connect'),
    })
    .map((c): MqttPacket => {
      const p: MqttPacket = { type: 'connect', version: v, ...c };
      // 3.1.1 wants a user name with a password; authentication data wants a method
      if (v === 4 && p.password !== undefined && p.username === undefined) p.username = '';
      if (p.properties?.authenticationData !== undefined && p.properties.authenticationMethod === undefined) p.properties.authenticationMethod = 'm';
      return p;
    });
  const connack = fc
    .record({ sessionPresent: fc.boolean(), reasonCode: fc.constantFrom(...(v === 5 ? CODES.connack5 : CODES.connack4)), properties: props(v, 'connack') })
    .map((c): MqttPacket => ({ type: 'connack', ...c, sessionPresent: c.sessionPresent && c.reasonCode === 0 }));
  const publish = fc
    .record({
      topic: v === 5 ? fc.oneof({ weight: 5, arbitrary: topicName }, { weight: 1, arbitrary: fc.constant('') }) : topicName,
      payload: bytes(64),
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
      alias: nonzero16,
      properties: props(v, 'publish'),
    })
    .map(({ alias, packetId: id, ...c }): MqttPacket => {
      const p: MqttPacket = { type: 'publish', ...c, dup: c.dup && c.qos > 0 };
      if (c.qos > 0) p.packetId = id;
      if (c.topic === '' && p.properties?.topicAlias === undefined) p.properties = { ...p.properties, topicAlias: alias };
      return p;
    });
  const ack = (type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', codes: number[]): fc.Arbitrary<MqttPacket> =>
    fc.record({ packetId, reasonCode: v === 5 ? fc.constantFrom(...codes) : fc.constant(0), properties: props(v, 'ack') }).map((c) => ({ type, ...c }));
  const subscription: fc.Arbitrary<Subscription> = fc
    .record({ filter: filterFor(v), qos, noLocal: fc.boolean(), retainAsPublished: fc.boolean(), retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2) })
    .map((s) => (v === 4 ? { filter: s.filter, qos: s.qos } : { ...s, noLocal: s.noLocal && !s.filter.startsWith('$share/') }));
  const subscribe = fc
    .record({ packetId, subscriptions: fc.array(subscription, { minLength: 1, maxLength: 4 }), properties: props(v, 'subscribe', true) })
    .map((c): MqttPacket => ({ type: 'subscribe', ...c }));
  const suback = fc
    .record({ packetId, reasonCodes: fc.array(fc.constantFrom(...(v === 5 ? CODES.suback5 : CODES.suback4)), { minLength: 1, maxLength: 5 }), properties: props(v, 'ack') })
    .map((c): MqttPacket => ({ type: 'suback', ...c }));
  const unsubscribe = fc
    .record({ packetId, filters: fc.array(filterFor(v), { minLength: 1, maxLength: 4 }), properties: props(v, 'unsubscribe') })
    .map((c): MqttPacket => ({ type: 'unsubscribe', ...c }));
  const unsuback = fc
    .record({ packetId, reasonCodes: v === 5 ? fc.array(fc.constantFrom(...CODES.unsuback), { minLength: 1, maxLength: 5 }) : fc.constant<number[]>([]), properties: props(v, 'ack') })
    .map((c): MqttPacket => ({ type: 'unsuback', ...c }));
  const disconnect = fc
    .record({ reasonCode: v === 5 ? fc.constantFrom(...CODES.disconnect) : fc.constant(0), properties: props(v, 'disconnect') })
    .map((c): MqttPacket => ({ type: 'disconnect', ...c }));
  const arbs: fc.Arbitrary<MqttPacket>[] = [
    connect,
    connack,
    publish,
    ack('puback', CODES.pubackPubrec),
    ack('pubrec', CODES.pubackPubrec),
    ack('pubrel', CODES.pubrelPubcomp),
    ack('pubcomp', CODES.pubrelPubcomp),
    subscribe,
    suback,
    unsubscribe,
    unsuback,
    fc.constant<MqttPacket>({ type: 'pingreq' }),
    fc.constant<MqttPacket>({ type: 'pingresp' }),
    disconnect,
  ];
  if (v === 5) {
    // AUTH always names its method (§3.15.2.2.2)
    arbs.push(
      fc
        .record({ reasonCode: fc.constantFrom(...CODES.auth), method: text(), properties: props(v, 'auth') })
        .map(({ method, ...c }): MqttPacket => ({ type: 'auth', reasonCode: c.reasonCode, properties: { authenticationMethod: method, ...c.properties } })),
    );
  }
  return fc.oneof(...arbs);
}

// ---------------------------------------------------------------------------------------------
// the two representations mapped onto each other, and a canonical form to compare

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function propsToTheirs(p: MqttProperties | undefined): Theirs | undefined {
  if (p === undefined) return undefined;
  const out: Theirs = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (k === 'maximumQos') out['maximumQoS'] = v;
    else if (k === 'subscriptionIdentifierAvailable') out['subscriptionIdentifiersAvailable'] = v;
    else if (k === 'payloadFormatIndicator') out[k] = v === 1;
    else if (k === 'subscriptionIdentifiers') out['subscriptionIdentifier'] = (v as number[]).length === 1 ? (v as number[])[0] : v;
    else if (k === 'userProperties') {
      const o: Record<string, string | string[]> = Object.create(null);
      for (const [name, value] of v as [string, string][]) {
        const had = o[name];
        o[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
      }
      out[k] = o;
    } else out[k] = v instanceof Uint8Array ? buf(v) : v;
  }
  return out;
}

function propsFromTheirs(t: Theirs | undefined): MqttProperties | undefined {
  if (t === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) {
    if (k === 'maximumQoS') out['maximumQos'] = v;
    else if (k === 'subscriptionIdentifiersAvailable') out['subscriptionIdentifierAvailable'] = v;
    else if (k === 'payloadFormatIndicator') out[k] = v ? 1 : 0;
    else if (k === 'subscriptionIdentifier') out['subscriptionIdentifiers'] = Array.isArray(v) ? v : [v];
    else if (k === 'userProperties') {
      const list: [string, string][] = [];
      for (const name of Object.getOwnPropertyNames(v)) for (const value of [v[name]].flat()) list.push([name, value as string]);
      out[k] = list;
    } else out[k] = Buffer.isBuffer(v) ? new Uint8Array(v) : v;
  }
  return out as MqttProperties;
}

function toTheirs(p: MqttPacket, v: MqttVersion): Theirs {
  switch (p.type) {
    case 'connect': {
      const t: Theirs = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: p.version, clientId: p.clientId, clean: p.cleanStart, keepalive: p.keepAlive, properties: propsToTheirs(p.properties) };
      if (p.username !== undefined) t['username'] = p.username;
      if (p.password !== undefined) t['password'] = buf(p.password);
      if (p.will) t['will'] = { topic: p.will.topic, payload: buf(p.will.payload), qos: p.will.qos, retain: p.will.retain, properties: propsToTheirs(p.will.properties) };
      return t;
    }
    case 'connack':
      return { cmd: 'connack', sessionPresent: p.sessionPresent, [v === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode, properties: propsToTheirs(p.properties) };
    case 'publish':
      return { cmd: 'publish', topic: p.topic, payload: buf(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.packetId, properties: propsToTheirs(p.properties) };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { cmd: p.type, messageId: p.packetId, reasonCode: p.reasonCode, properties: propsToTheirs(p.properties) };
    case 'subscribe':
      return {
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.filter, qos: s.qos, nl: s.noLocal ?? false, rap: s.retainAsPublished ?? false, rh: s.retainHandling ?? 0 })),
        properties: propsToTheirs(p.properties),
      };
    case 'suback':
    case 'unsuback':
      return { cmd: p.type, messageId: p.packetId, granted: p.reasonCodes, properties: propsToTheirs(p.properties) };
    case 'unsubscribe':
      return { cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.filters, properties: propsToTheirs(p.properties) };
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type };
    default:
      return { cmd: p.type, reasonCode: p.reasonCode, properties: propsToTheirs(p.properties) };
  }
}

function fromTheirs(t: Theirs, v: MqttVersion): MqttPacket {
  const properties = propsFromTheirs(t['properties']);
  switch (t['cmd']) {
    case 'connect': {
      const w = t['will'];
      return {
        type: 'connect',
        version: t['protocolVersion'],
        clientId: t['clientId'],
        cleanStart: t['clean'],
        keepAlive: t['keepalive'],
        username: t['username'],
        password: t['password'] === undefined ? undefined : new Uint8Array(t['password']),
        will: w === undefined ? undefined : { topic: w.topic, payload: new Uint8Array(w.payload), qos: w.qos, retain: w.retain, properties: propsFromTheirs(w.properties) },
        properties,
      };
    }
    case 'connack':
      return { type: 'connack', sessionPresent: t['sessionPresent'], reasonCode: v === 5 ? t['reasonCode'] : t['returnCode'], properties };
    case 'publish':
      return {
        type: 'publish', topic: t['topic'], payload: new Uint8Array(t['payload']), qos: t['qos'], retain: t['retain'], dup: t['dup'],
        packetId: t['qos'] > 0 ? t['messageId'] : undefined, properties,
      };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { type: t['cmd'], packetId: t['messageId'], reasonCode: t['reasonCode'] ?? 0, properties };
    case 'subscribe':
      return {
        type: 'subscribe',
        packetId: t['messageId'],
        subscriptions: (t['subscriptions'] as Theirs[]).map((s) => ({ filter: s['topic'], qos: s['qos'], noLocal: s['nl'], retainAsPublished: s['rap'], retainHandling: s['rh'] })),
        properties,
      };
    case 'suback':
      return { type: 'suback', packetId: t['messageId'], reasonCodes: t['granted'], properties };
    case 'unsubscribe':
      return { type: 'unsubscribe', packetId: t['messageId'], filters: t['unsubscriptions'], properties };
    case 'unsuback':
      return { type: 'unsuback', packetId: t['messageId'], reasonCodes: t['granted'] ?? [], properties };
    case 'pingreq':
    case 'pingresp':
      return { type: t['cmd'] };
    default:
      return { type: t['cmd'], reasonCode: t['reasonCode'] ?? 0, properties };
  }
}

/**
 * A form both sides reach: bytes as arrays, subscription options filled in, user properties
 * grouped by name (values in order) and sorted by name, nothing undefined.
 */
function canon(x: unknown, key = ''): unknown {
  if (x instanceof Uint8Array) return Array.from(x);
  if (key === 'userProperties') {
    const groups = new Map<string, string[]>();
    for (const [n, v] of x as [string, string][]) groups.set(n, [...(groups.get(n) ?? []), v]);
    return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  if (Array.isArray(x)) return x.map((e) => canon(e));
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    if ('filter' in o) Object.assign(out, { noLocal: false, retainAsPublished: false, retainHandling: 0 });
    for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = canon(v, k);
    return out;
  }
  return x;
}

function theirParse(b: Uint8Array, v: MqttVersion): Theirs {
  const parser = mqttPacket.parser({ protocolVersion: v });
  const packets: Theirs[] = [];
  let error: Error | undefined;
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => (error = e));
  parser.parse(buf(b));
  if (error) throw error;
  expect(packets).toHaveLength(1);
  return packets[0] as Theirs;
}

// ---------------------------------------------------------------------------------------------

describe.each(VERSIONS)('MQTT level %i against mqtt-packet', (v) => {
  const packet = packetArb(v);

  test('ours → mqtt-packet', () => {
    fc.assert(
      fc.property(packet, (p) => {
        expect(canon(fromTheirs(theirParse(encodePacket(p, v), v), v))).toEqual(canon(p));
      }),
      { numRuns: 1500 },
    );
  });

  test('mqtt-packet → ours', () => {
    // mqtt-packet will not generate a password without a user name, nor an empty client id
    // without a clean session (both valid 5.0)
    const generatable = packet.filter((p) => p.type !== 'connect' || ((p.password === undefined || p.username !== undefined) && (p.clientId !== '' || p.cleanStart)));
    fc.assert(
      fc.property(generatable, (p) => {
        const b = mqttPacket.generate(toTheirs(p, v), { protocolVersion: v });
        expect(canon(decodePacket(new Uint8Array(b), v))).toEqual(canon(p));
      }),
      { numRuns: 1500 },
    );
  });

  test('ours → ours, and the same bytes again', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const b = encodePacket(p, v);
        const back = decodePacket(b, v);
        expect(canon(back)).toEqual(canon(p));
        expect(encodePacket(back, v)).toEqual(b);
      }),
      { numRuns: 1000 },
    );
  });

  test('every packet split at every byte decodes the same', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const b = encodePacket(p, v);
        const want = decodePacket(b, v);
        for (let k = 0; k <= b.length; k++) {
          const d = new MqttDecoder({ version: v });
          const got = [...d.push(b.subarray(0, k)), ...d.push(b.subarray(k))];
          expect(got).toEqual([want]);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('streams of packets in random chunks decode the same', () => {
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), (ps, cuts) => {
        const parts = ps.map((p) => encodePacket(p, v));
        const stream = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
        let o = 0;
        for (const b of parts) {
          stream.set(b, o);
          o += b.length;
        }
        const d = new MqttDecoder({ version: v });
        const got: MqttPacket[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length] as number;
          got.push(...d.push(stream.subarray(at, at + n)));
          at += n;
        }
        d.end();
        expect(got.map((p) => canon(p))).toEqual(ps.map((p) => canon(p)));
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// fuzz

/** Pushes `chunks` into a decoder; returns the packets, or the error, which must be MqttProtocolError. */
function fuzz(chunks: Uint8Array[], version: MqttVersion | undefined, maxPacketSize = 4096): MqttPacket[] | MqttProtocolError {
  const d = new MqttDecoder(version === undefined ? { maxPacketSize } : { version, maxPacketSize });
  const out: MqttPacket[] = [];
  try {
    for (const c of chunks) {
      out.push(...d.push(c));
      expect(d.buffered).toBeLessThanOrEqual(maxPacketSize);
    }
    d.end();
  } catch (e) {
    if (!(e instanceof MqttProtocolError)) throw e;
    expect(typeof e.code).toBe('string');
    expect([0x81, 0x82, 0x84, 0x90, 0x95]).toContain(e.reasonCode);
    // failed for good: more input gets the same error
    expect(() => d.push(new Uint8Array([0xc0, 0]))).toThrow(e);
    return e;
  }
  return out;
}

/** Whatever decodes re-encodes, and decodes again to the same packets. */
function reencodes(packets: MqttPacket[], v: MqttVersion): void {
  for (const p of packets) {
    const pv = p.type === 'connect' ? p.version : v;
    let b: Uint8Array;
    try {
      b = encodePacket(p, pv);
    } catch (e) {
      // the decoder hands topic filters through for the server to judge (0x8F per filter); the
      // encoder refuses to send an invalid one
      expect(e).toBeInstanceOf(MqttEncodeError);
      expect((e as MqttEncodeError).detail?.['field']).toBe('filter');
      continue;
    }
    expect(decodePacket(b, pv)).toEqual(p);
  }
}

describe('fuzz: only MqttProtocolError, never a hang, never more than maxPacketSize held', () => {
  const version = fc.constantFrom<MqttVersion | undefined>(4, 5, undefined);

  test('arbitrary bytes, arbitrarily chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), version, (chunks, v) => {
        const r = fuzz(chunks, v);
        if (Array.isArray(r) && v !== undefined) reencodes(r, v);
      }),
      { numRuns: 5000 },
    );
  });

  test('arbitrary bodies behind every first byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 120 }), fc.constantFrom<MqttVersion>(4, 5), (first, body, v) => {
        const b = new Uint8Array(2 + body.length);
        b[0] = first;
        b[1] = body.length;
        b.set(body, 2);
        const r = fuzz([b], v);
        if (Array.isArray(r)) reencodes(r, v);
      }),
      { numRuns: 10000 },
    );
  });

  test('every truncation of a valid packet is refused', () => {
    fc.assert(
      fc.property(fc.constantFrom<MqttVersion>(4, 5).chain((v) => fc.tuple(fc.constant(v), packetArb(v))), ([v, p]) => {
        const b = encodePacket(p, v);
        for (let cut = 0; cut < b.length; cut++) {
          // a cut at 0 is an empty stream, not a truncated packet
          const r = fuzz([b.subarray(0, cut)], v, b.length);
          if (cut === 0) expect(r).toEqual([]);
          else expect(r).toBeInstanceOf(MqttProtocolError);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('random corruption of valid packets', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<MqttVersion>(4, 5).chain((v) => fc.tuple(fc.constant(v), packetArb(v))),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        ([v, p], flips) => {
          const b = encodePacket(p, v).slice();
          for (const [at, x] of flips) b[at % b.length] = x;
          const r = fuzz([b], v);
          if (Array.isArray(r)) reencodes(r, v);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('a Remaining Length that lies large is refused before its body is buffered', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4097, max: 268_435_455 }), fc.constantFrom(0x30, 0x82, 0x90, 0x10), (len, first) => {
        const head: number[] = [first];
        let n = len;
        do {
          head.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
          n >>>= 7;
        } while (n > 0);
        const r = fuzz([new Uint8Array(head), new Uint8Array(100)], first === 0x10 ? undefined : 5);
        expect(r).toBeInstanceOf(MqttProtocolError);
        expect((r as MqttProtocolError).code).toBe('ERR_MQTT_PACKET_TOO_LARGE');
      }),
      { numRuns: 500 },
    );
  });
});
