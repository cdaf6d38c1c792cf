/**
 * Encodes an MQTT packet into one Uint8Array: every field is validated and sized first, then
 * the buffer is allocated once at its exact size and written front to back.
 *
 * The encoder refuses (MqttEncodeError) anything the decoder would refuse, and anything the
 * version cannot carry (properties, reason codes or subscription options under 3.1.1), rather
 * than dropping it. Under 5.0 it writes the shortest form the spec allows: an acknowledgement
 * with reason code 0 and no properties leaves both off.
 */
import { MqttEncodeError } from './errors.js';
import { PUBACK_TYPES, PacketType } from './packet.js';
import type { MqttPacket, MqttVersion, Subscription } from './packet.js';
import { WILL_PROPERTIES, propertiesSize, writeProperties } from './properties.js';
import type { MqttProperties } from './properties.js';
import { reasonCodeAllowed } from './reason-codes.js';
import { isValidTopicFilter, splitShared } from './topic.js';
import { MAX_PACKET_SIZE, MAX_VARINT, binarySize, checkInt, stringSize, varintSize, writeBinary, writeString, writeU16, writeVarint } from './wire.js';

export { MAX_PACKET_SIZE };

const fail = (packet: string, field: string, message: string): never => {
  throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${message}`, { packet, field });
};

/**
 * Encodes `p` for a connection speaking `version`. `maxPacketSize` is the peer's Maximum Packet
 * Size (5.0): a larger packet is refused with ERR_MQTT_ENCODE_TOO_LARGE before anything is
 * allocated.
 */
export function encodePacket(p: MqttPacket, version: MqttVersion, maxPacketSize: number = MAX_PACKET_SIZE): Uint8Array {
  if (version !== 4 && version !== 5) fail(p.type, 'version', `version must be 4 or 5, not ${String(version)}`);
  switch (p.type) {
    case 'connect':
      return encodeConnect(p, version, maxPacketSize);
    case 'connack': {
      if (typeof p.sessionPresent !== 'boolean') fail('connack', 'sessionPresent', 'sessionPresent must be a boolean');
      const rc = reason(p.reasonCode, PacketType.CONNACK, version, 'connack');
      if (p.sessionPresent && rc !== 0) fail('connack', 'sessionPresent', 'sessionPresent must be false when the connection is refused');
      const ps = propsSize(p.properties, PacketType.CONNACK, version, 'connack');
      const rem = 2 + propsField(ps);
      const b = alloc(0x20, rem, maxPacketSize, 'connack');
      const o = b.length - rem;
      b[o] = p.sessionPresent ? 1 : 0;
      b[o + 1] = rc;
      if (ps >= 0) writeProperties(b, o + 2, p.properties, ps);
      return b;
    }
    case 'publish':
      return encodePublish(p, version, maxPacketSize);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const type = PUBACK_TYPES[p.type];
      const id = packetId(p.packetId, p.type);
      const rc = version === 5 ? reason(p.reasonCode, type, 5, p.type) : success(p.reasonCode, p.type);
      const ps = propsSize(p.properties, type, version, p.type);
      // 5.0: reason code and property length may be left off when success carries no properties
      const tail = version === 4 || (rc === 0 && ps <= 0) ? 0 : 1 + (ps > 0 ? propsField(ps) : 0);
      const b = alloc((type << 4) | (type === PacketType.PUBREL ? 2 : 0), 2 + tail, maxPacketSize, p.type);
      let o = writeU16(b, b.length - 2 - tail, id);
      if (tail > 0) {
        b[o++] = rc;
        if (ps > 0) writeProperties(b, o, p.properties, ps);
      }
      return b;
    }
    case 'subscribe':
      return encodeSubscribe(p.packetId, p.subscriptions, p.properties, version, maxPacketSize);
    case 'suback':
    case 'unsuback': {
      const type = p.type === 'suback' ? PacketType.SUBACK : PacketType.UNSUBACK;
      const id = packetId(p.packetId, p.type);
      const codes = p.reasonCodes;
      if (!Array.isArray(codes)) fail(p.type, 'reasonCodes', 'reasonCodes must be an array');
      // 3.1.1's UNSUBACK carries no codes; every other form carries at least one
      const carries = type === PacketType.SUBACK || version === 5;
      if (carries && codes.length === 0) fail(p.type, 'reasonCodes', 'needs at least one reason code');
      if (!carries && codes.length > 0) fail(p.type, 'reasonCodes', 'carries no reason codes under MQTT 3.1.1');
      for (const c of codes) reason(c, type, version, p.type);
      const ps = propsSize(p.properties, type, version, p.type);
      const b = alloc(type << 4, 2 + propsField(ps) + codes.length, maxPacketSize, p.type);
      let o = writeU16(b, b.length - 2 - propsField(ps) - codes.length, id);
      if (ps >= 0) o = writeProperties(b, o, p.properties, ps);
      for (const c of codes) b[o++] = c;
      return b;
    }
    case 'unsubscribe': {
      const id = packetId(p.packetId, 'unsubscribe');
      if (!Array.isArray(p.filters) || p.filters.length === 0) fail('unsubscribe', 'filters', 'needs at least one topic filter');
      let rem = 2;
      for (const f of p.filters) rem += filterSize(f, version, 'unsubscribe');
      const ps = propsSize(p.properties, PacketType.UNSUBSCRIBE, version, 'unsubscribe');
      rem += propsField(ps);
      const b = alloc(0xa2, rem, maxPacketSize, 'unsubscribe');
      let o = writeU16(b, b.length - rem, id);
      if (ps >= 0) o = writeProperties(b, o, p.properties, ps);
      for (const f of p.filters) o = writeString(b, o, f);
      return b;
    }
    case 'pingreq':
      return alloc(0xc0, 0, maxPacketSize, 'pingreq');
    case 'pingresp':
      return alloc(0xd0, 0, maxPacketSize, 'pingresp');
    case 'disconnect':
    case 'auth': {
      const type = p.type === 'auth' ? PacketType.AUTH : PacketType.DISCONNECT;
      if (type === PacketType.AUTH && version === 4) fail('auth', 'type', 'AUTH is MQTT 5.0 only');
      const rc = version === 5 ? reason(p.reasonCode, type, 5, p.type) : success(p.reasonCode, p.type);
      const ps = propsSize(p.properties, type, version, p.type);
      // 5.0: remaining length 0 is success without properties; a DISCONNECT may also stop
      // after its reason code, an AUTH is read with its property length (as mosquitto does)
      const withProps = ps > 0 || type === PacketType.AUTH;
      const rem = version === 4 || (rc === 0 && ps <= 0) ? 0 : 1 + (withProps ? propsField(ps) : 0);
      const b = alloc(type << 4, rem, maxPacketSize, p.type);
      if (rem > 0) {
        const o = b.length - rem;
        b[o] = rc;
        if (withProps) writeProperties(b, o + 1, p.properties, ps);
      }
      return b;
    }
    default:
      return fail(String((p as { type?: unknown }).type), 'type', 'is not an MQTT packet type');
  }
}

/** The fixed header written into a buffer of the whole packet's size. */
function alloc(first: number, rem: number, max: number, packet: string): Uint8Array {
  const total = 1 + varintSize(rem) + rem;
  if (rem > MAX_VARINT || total > max) {
    throw new MqttEncodeError('ERR_MQTT_ENCODE_TOO_LARGE', `${packet} of ${total} bytes exceeds the maximum packet size ${Math.min(max, MAX_PACKET_SIZE)}`, {
      packet,
      size: total,
      limit: max,
    });
  }
  const b = new Uint8Array(total);
  b[0] = first;
  writeVarint(b, 1, rem);
  return b;
}

function packetId(id: unknown, packet: string): number {
  return checkInt(id, 1, 0xffff, packet, 'packetId');
}

function reason(rc: unknown, type: number, v: MqttVersion, packet: string): number {
  if (typeof rc !== 'number' || !reasonCodeAllowed(rc, type, v)) fail(packet, 'reasonCode', `reason code ${String(rc)} is not allowed in ${packet} (MQTT ${v === 5 ? '5.0' : '3.1.1'})`);
  return rc as number;
}

/** Under 3.1.1 the only outcome an acknowledgement or DISCONNECT can say is success. */
function success(rc: unknown, packet: string): number {
  if (rc !== 0 && rc !== undefined) fail(packet, 'reasonCode', 'has no reason code under MQTT 3.1.1 (only 0)');
  return 0;
}

/** The properties' body size under 5.0; -1 under 3.1.1, where there must be none. */
function propsSize(props: MqttProperties | undefined, where: number, v: MqttVersion, packet: string): number {
  if (v === 5) return propertiesSize(props, where, packet);
  if (props !== undefined) {
    for (const k in props) if ((props as Record<string, unknown>)[k] !== undefined) fail(packet, k, 'properties need MQTT 5.0');
  }
  return -1;
}

/** Bytes the properties take with their length: none when there is no field (3.1.1). */
function propsField(size: number): number {
  return size < 0 ? 0 : varintSize(size) + size;
}

function qos(v: unknown, packet: string, field: string): 0 | 1 | 2 {
  return checkInt(v, 0, 2, packet, field) as 0 | 1 | 2;
}

function bool(v: unknown, packet: string, field: string): boolean {
  if (typeof v !== 'boolean') fail(packet, field, `${field} must be a boolean`);
  return v as boolean;
}

function topicNameSize(topic: unknown, packet: string, field: string, aliased: boolean): number {
  const size = stringSize(topic, packet, field, true);
  // an empty topic is 5.0's way to publish by Topic Alias alone
  if (size === 2 && !aliased) fail(packet, field, `${field} is empty`);
  return size;
}

function filterSize(f: unknown, v: MqttVersion, packet: string): number {
  const size = stringSize(f, packet, 'filter');
  if (!isValidTopicFilter(f as string, v)) fail(packet, 'filter', `"${String(f)}" is not a valid topic filter`);
  return size;
}

function encodeConnect(p: Extract<MqttPacket, { type: 'connect' }>, version: MqttVersion, max: number): Uint8Array {
  const v = p.version;
  if (v !== version) fail('connect', 'version', `version ${String(v)} differs from the connection's ${version}`);
  checkInt(p.keepAlive, 0, 0xffff, 'connect', 'keepAlive');
  bool(p.cleanStart, 'connect', 'cleanStart');
  let rem = 6 + 1 + 1 + 2; // "MQTT", level, flags, keep alive
  const ps = propsSize(p.properties, PacketType.CONNECT, v, 'connect');
  if (p.properties?.authenticationData !== undefined && p.properties.authenticationMethod === undefined) {
    fail('connect', 'authenticationData', 'authenticationData needs an authenticationMethod');
  }
  rem += propsField(ps) + stringSize(p.clientId, 'connect', 'clientId');
  const will = p.will;
  let wps = -1;
  if (will !== undefined) {
    qos(will.qos, 'connect', 'will qos');
    bool(will.retain, 'connect', 'will retain');
    wps = propsSize(will.properties, WILL_PROPERTIES, v, 'connect');
    rem += propsField(wps) + topicNameSize(will.topic, 'connect', 'will topic', false) + binarySize(will.payload, 'connect', 'will payload');
  }
  if (p.username !== undefined) rem += stringSize(p.username, 'connect', 'username');
  if (p.password !== undefined) {
    if (v === 4 && p.username === undefined) fail('connect', 'password', 'password needs a username under MQTT 3.1.1');
    rem += binarySize(p.password, 'connect', 'password');
  }
  const b = alloc(0x10, rem, max, 'connect');
  let o = writeString(b, b.length - rem, 'MQTT');
  b[o++] = v;
  b[o++] =
    (p.username !== undefined ? 0x80 : 0) |
    (p.password !== undefined ? 0x40 : 0) |
    (will?.retain ? 0x20 : 0) |
    ((will?.qos ?? 0) << 3) |
    (will ? 0x04 : 0) |
    (p.cleanStart ? 0x02 : 0);
  o = writeU16(b, o, p.keepAlive);
  if (ps >= 0) o = writeProperties(b, o, p.properties, ps);
  o = writeString(b, o, p.clientId);
  if (will !== undefined) {
    if (wps >= 0) o = writeProperties(b, o, will.properties, wps);
    o = writeString(b, o, will.topic);
    o = writeBinary(b, o, will.payload);
  }
  if (p.username !== undefined) o = writeString(b, o, p.username);
  if (p.password !== undefined) writeBinary(b, o, p.password);
  return b;
}

function encodePublish(p: Extract<MqttPacket, { type: 'publish' }>, v: MqttVersion, max: number): Uint8Array {
  const q = qos(p.qos, 'publish', 'qos');
  bool(p.retain, 'publish', 'retain');
  bool(p.dup, 'publish', 'dup');
  if (p.dup && q === 0) fail('publish', 'dup', 'dup must be false for QoS 0');
  if (q === 0 && p.packetId !== undefined) fail('publish', 'packetId', 'QoS 0 carries no packetId');
  const id = q > 0 ? packetId(p.packetId, 'publish') : 0;
  if (!(p.payload instanceof Uint8Array)) fail('publish', 'payload', 'payload must be a Uint8Array');
  const ps = propsSize(p.properties, PacketType.PUBLISH, v, 'publish');
  const aliased = v === 5 && p.properties?.topicAlias !== undefined;
  const rem = topicNameSize(p.topic, 'publish', 'topic', aliased) + (q > 0 ? 2 : 0) + propsField(ps) + p.payload.length;
  const b = alloc(0x30 | (p.dup ? 8 : 0) | (q << 1) | (p.retain ? 1 : 0), rem, max, 'publish');
  let o = writeString(b, b.length - rem, p.topic);
  if (q > 0) o = writeU16(b, o, id);
  if (ps >= 0) o = writeProperties(b, o, p.properties, ps);
  b.set(p.payload, o);
  return b;
}

function encodeSubscribe(id: unknown, subs: readonly Subscription[], props: MqttProperties | undefined, v: MqttVersion, max: number): Uint8Array {
  const pid = packetId(id, 'subscribe');
  if (!Array.isArray(subs) || subs.length === 0) fail('subscribe', 'subscriptions', 'needs at least one subscription');
  let rem = 2;
  for (const s of subs) {
    rem += filterSize(s.filter, v, 'subscribe') + 1;
    qos(s.qos, 'subscribe', 'qos');
    const nl = s.noLocal ?? false;
    const rap = s.retainAsPublished ?? false;
    const rh = s.retainHandling ?? 0;
    bool(nl, 'subscribe', 'noLocal');
    bool(rap, 'subscribe', 'retainAsPublished');
    checkInt(rh, 0, 2, 'subscribe', 'retainHandling');
    if (v === 4 && (nl || rap || rh !== 0)) fail('subscribe', 'options', 'noLocal, retainAsPublished and retainHandling need MQTT 5.0');
    if (nl && splitShared(s.filter) !== undefined) fail('subscribe', 'noLocal', 'noLocal is not allowed on a shared subscription');
  }
  const ps = propsSize(props, PacketType.SUBSCRIBE, v, 'subscribe');
  rem += propsField(ps);
  const b = alloc(0x82, rem, max, 'subscribe');
  let o = writeU16(b, b.length - rem, pid);
  if (ps >= 0) o = writeProperties(b, o, props, ps);
  for (const s of subs) {
    o = writeString(b, o, s.filter);
    b[o++] = s.qos | (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | ((s.retainHandling ?? 0) << 4);
  }
  return b;
}
