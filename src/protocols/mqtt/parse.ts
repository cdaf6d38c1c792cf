/**
 * Parses one MQTT packet whose fixed header has been read: the flags nibble is checked as soon
 * as the first byte is known (checkFixedHeader), the variable header and payload once all of
 * them are in (parseBody). Every length is checked against the packet's end, trailing bytes are
 * refused, and each failure is an MqttProtocolError naming the spec's verdict: Malformed
 * Packet for bytes that do not parse, Protocol Error for rules broken.
 */
import { MqttProtocolError } from './errors.js';
import { PACKET_NAMES, PacketType } from './packet.js';
import type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  MqttPacket,
  MqttVersion,
  PubAckPacket,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from './packet.js';
import { WILL_PROPERTIES, readProperties } from './properties.js';
import { reasonCodeAllowed } from './reason-codes.js';
import { splitShared } from './topic.js';
import { Reader } from './wire.js';

/** The flags nibble each packet type must carry (§2.1.3); PUBLISH's are its DUP, QoS and RETAIN. */
const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/**
 * Checks the first byte of a packet. `version` undefined means no CONNECT has been seen yet, so
 * only a CONNECT can be read (the version decides how everything else parses).
 */
export function checkFixedHeader(first: number, version: MqttVersion | undefined): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  const packet = PACKET_NAMES[type] as string;
  if (type === 0 || (type === PacketType.AUTH && version === 4)) {
    throw new MqttProtocolError('ERR_MQTT_MALFORMED', `reserved packet type ${type}`, { packet, field: 'packet type', type });
  }
  if (version === undefined && type !== PacketType.CONNECT) {
    throw new MqttProtocolError('ERR_MQTT_PROTOCOL', `${packet} before CONNECT`, { packet, field: 'packet type', type });
  }
  if (type === PacketType.PUBLISH) {
    const qos = (flags >> 1) & 3;
    if (qos === 3) throw new MqttProtocolError('ERR_MQTT_MALFORMED', 'publish: QoS 3', { packet, field: 'flags', flags });
    if (qos === 0 && (flags & 8) !== 0) throw new MqttProtocolError('ERR_MQTT_MALFORMED', 'publish: DUP set on QoS 0', { packet, field: 'flags', flags });
  } else if (flags !== REQUIRED_FLAGS[type]) {
    throw new MqttProtocolError('ERR_MQTT_MALFORMED', `${packet}: fixed header flags 0x${flags.toString(16)}, must be 0x${(REQUIRED_FLAGS[type] as number).toString(16)}`, {
      packet,
      field: 'flags',
      flags,
    });
  }
}

/**
 * Parses b[start, end), the variable header and payload of a packet whose first byte passed
 * checkFixedHeader. `owned`: b belongs to the caller's decoder and will not be reused, so
 * payloads may be views into it rather than copies.
 */
export function parseBody(first: number, b: Uint8Array, start: number, end: number, version: MqttVersion | undefined, owned: boolean): MqttPacket {
  const type = first >> 4;
  const r = new Reader(b, start, end, PACKET_NAMES[type] as string, owned);
  let p: MqttPacket;
  if (type === PacketType.CONNECT) return parseConnect(r);
  const v = version as MqttVersion;
  switch (type) {
    case PacketType.CONNACK:
      p = parseConnack(r, v);
      break;
    case PacketType.PUBLISH:
      return parsePublish(r, first, v);
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      p = parsePubAck(r, type, v);
      break;
    case PacketType.SUBSCRIBE:
      return parseSubscribe(r, v);
    case PacketType.SUBACK:
      return parseSuback(r, v);
    case PacketType.UNSUBSCRIBE:
      return parseUnsubscribe(r, v);
    case PacketType.UNSUBACK:
      return parseUnsuback(r, v);
    case PacketType.PINGREQ:
      p = { type: 'pingreq' };
      break;
    case PacketType.PINGRESP:
      p = { type: 'pingresp' };
      break;
    default:
      // DISCONNECT, and AUTH (5.0 only: checkFixedHeader refused it under 3.1.1)
      p = parseDisconnectOrAuth(r, type, v);
  }
  if (r.left > 0) r.fail('ERR_MQTT_MALFORMED', 'remaining length', `${r.left} bytes after the end of the packet`);
  return p;
}

function packetId(r: Reader): number {
  const id = r.u16('packet identifier');
  if (id === 0) r.fail('ERR_MQTT_PROTOCOL', 'packet identifier', 'packet identifier 0', r.pos - 2);
  return id;
}

function reasonCode(r: Reader, type: number, v: MqttVersion, field = 'reason code'): number {
  const rc = r.u8(field);
  if (!reasonCodeAllowed(rc, type, v)) r.fail('ERR_MQTT_PROTOCOL', field, `${field} 0x${rc.toString(16)} is not allowed in ${r.packet}`, r.pos - 1);
  return rc;
}

function parseConnect(r: Reader): ConnectPacket {
  const name = r.string('protocol name');
  const level = r.u8('protocol level');
  if (name !== 'MQTT' || (level !== 4 && level !== 5)) {
    r.fail('ERR_MQTT_UNSUPPORTED_VERSION', 'protocol level', `protocol "${name}" level ${level}: only MQTT 3.1.1 (4) and 5.0 (5) are spoken`, r.pos - 1);
  }
  const v = level as MqttVersion;
  const flags = r.u8('connect flags');
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  const flagsAt = r.pos - 1;
  if (flags & 0x01) r.fail('ERR_MQTT_MALFORMED', 'connect flags', 'reserved connect flag set', flagsAt);
  if (willQos === 3) r.fail('ERR_MQTT_MALFORMED', 'connect flags', 'will QoS 3', flagsAt);
  if (!willFlag && (willQos !== 0 || willRetain)) r.fail('ERR_MQTT_MALFORMED', 'connect flags', 'will QoS or retain without a will', flagsAt);
  if (v === 4 && hasPassword && !hasUsername) r.fail('ERR_MQTT_MALFORMED', 'connect flags', 'password without user name (3.1.1)', flagsAt);
  const keepAlive = r.u16('keep alive');
  const p: ConnectPacket = { type: 'connect', version: v, clientId: '', cleanStart: (flags & 0x02) !== 0, keepAlive };
  if (v === 5) {
    const at = r.pos;
    const props = readProperties(r, PacketType.CONNECT);
    if (props) {
      if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
        r.fail('ERR_MQTT_PROTOCOL', 'authenticationData', 'authentication data without an authentication method', at);
      }
      p.properties = props;
    }
  }
  p.clientId = r.string('client identifier');
  if (willFlag) {
    const props = v === 5 ? readProperties(r, WILL_PROPERTIES) : undefined;
    const topicAt = r.pos;
    const topic = r.topic('will topic');
    if (topic === '') r.fail('ERR_MQTT_TOPIC_NAME', 'will topic', 'will topic is empty', topicAt);
    const will: Will = { topic, payload: r.binary('will payload'), qos: willQos as QoS, retain: willRetain };
    if (props) will.properties = props;
    p.will = will;
  }
  if (hasUsername) p.username = r.string('user name');
  if (hasPassword) p.password = r.binary('password');
  if (r.left > 0) r.fail('ERR_MQTT_MALFORMED', 'remaining length', `${r.left} bytes after the end of the packet`);
  return p;
}

function parseConnack(r: Reader, v: MqttVersion): ConnackPacket {
  const ackFlags = r.u8('acknowledge flags');
  if (ackFlags & 0xfe) r.fail('ERR_MQTT_MALFORMED', 'acknowledge flags', `reserved acknowledge flags 0x${ackFlags.toString(16)}`, r.pos - 1);
  const rc = reasonCode(r, PacketType.CONNACK, v, v === 5 ? 'reason code' : 'return code');
  const sessionPresent = ackFlags === 1;
  if (sessionPresent && rc !== 0) r.fail('ERR_MQTT_PROTOCOL', 'acknowledge flags', 'session present on a refused connection', r.pos - 2);
  const p: ConnackPacket = { type: 'connack', sessionPresent, reasonCode: rc };
  if (v === 5) {
    const props = readProperties(r, PacketType.CONNACK);
    if (props) p.properties = props;
  }
  return p;
}

function parsePublish(r: Reader, first: number, v: MqttVersion): PublishPacket {
  const qos = ((first >> 1) & 3) as QoS;
  const topicAt = r.pos;
  const topic = r.topic('topic name');
  const p: PublishPacket = { type: 'publish', topic, payload: EMPTY, qos, retain: (first & 1) !== 0, dup: (first & 8) !== 0 };
  if (qos > 0) p.packetId = packetId(r);
  if (v === 5) {
    const props = readProperties(r, PacketType.PUBLISH);
    if (props) p.properties = props;
  }
  // an empty topic is 5.0's way to publish by Topic Alias alone
  if (topic === '' && p.properties?.topicAlias === undefined) r.fail('ERR_MQTT_TOPIC_NAME', 'topic name', 'topic name is empty (and no topic alias)', topicAt);
  p.payload = r.left > 0 ? r.bytes(r.left, 'payload') : EMPTY;
  return p;
}

const EMPTY = new Uint8Array(0);

function parsePubAck(r: Reader, type: number, v: MqttVersion): PubAckPacket {
  const p: PubAckPacket = { type: PACKET_NAMES[type] as PubAckPacket['type'], packetId: packetId(r), reasonCode: 0 };
  // 5.0: the reason code and the properties may each be left off (remaining length 2 or 3)
  if (v === 5 && r.left > 0) {
    p.reasonCode = reasonCode(r, type, v);
    if (r.left > 0) {
      const props = readProperties(r, type);
      if (props) p.properties = props;
    }
  }
  return p;
}

function parseSubscribe(r: Reader, v: MqttVersion): SubscribePacket {
  const p: SubscribePacket = { type: 'subscribe', packetId: packetId(r), subscriptions: [] };
  if (v === 5) {
    const props = readProperties(r, PacketType.SUBSCRIBE);
    if (props) p.properties = props;
  }
  while (r.left > 0) {
    const filter = r.string('topic filter');
    const o = r.u8('subscription options');
    const at = r.pos - 1;
    const qos = o & 3;
    const retainHandling = (o >> 4) & 3;
    const noLocal = (o & 0x04) !== 0;
    if (o & (v === 5 ? 0xc0 : 0xfc)) r.fail('ERR_MQTT_MALFORMED', 'subscription options', `reserved subscription option bits in 0x${o.toString(16)}`, at);
    if (qos === 3) r.fail(v === 5 ? 'ERR_MQTT_PROTOCOL' : 'ERR_MQTT_MALFORMED', 'subscription options', 'maximum QoS 3', at);
    if (retainHandling === 3) r.fail('ERR_MQTT_PROTOCOL', 'subscription options', 'retain handling 3', at);
    if (noLocal && splitShared(filter) !== undefined) r.fail('ERR_MQTT_PROTOCOL', 'subscription options', 'no local on a shared subscription', at);
    const s: Subscription = { filter, qos: qos as QoS, noLocal, retainAsPublished: (o & 0x08) !== 0, retainHandling: retainHandling as 0 | 1 | 2 };
    p.subscriptions.push(s);
  }
  if (p.subscriptions.length === 0) r.fail('ERR_MQTT_PROTOCOL', 'payload', 'subscribe without a topic filter');
  return p;
}

function parseSuback(r: Reader, v: MqttVersion): SubackPacket {
  const p: SubackPacket = { type: 'suback', packetId: packetId(r), reasonCodes: [] };
  if (v === 5) {
    const props = readProperties(r, PacketType.SUBACK);
    if (props) p.properties = props;
  }
  while (r.left > 0) p.reasonCodes.push(reasonCode(r, PacketType.SUBACK, v, v === 5 ? 'reason code' : 'return code'));
  if (p.reasonCodes.length === 0) r.fail('ERR_MQTT_PROTOCOL', 'payload', 'suback without a reason code');
  return p;
}

function parseUnsubscribe(r: Reader, v: MqttVersion): UnsubscribePacket {
  const p: UnsubscribePacket = { type: 'unsubscribe', packetId: packetId(r), filters: [] };
  if (v === 5) {
    const props = readProperties(r, PacketType.UNSUBSCRIBE);
    if (props) p.properties = props;
  }
  while (r.left > 0) p.filters.push(r.string('topic filter'));
  if (p.filters.length === 0) r.fail('ERR_MQTT_PROTOCOL', 'payload', 'unsubscribe without a topic filter');
  return p;
}

function parseUnsuback(r: Reader, v: MqttVersion): UnsubackPacket {
  const p: UnsubackPacket = { type: 'unsuback', packetId: packetId(r), reasonCodes: [] };
  if (v === 5) {
    const props = readProperties(r, PacketType.UNSUBACK);
    if (props) p.properties = props;
    while (r.left > 0) p.reasonCodes.push(reasonCode(r, PacketType.UNSUBACK, v));
    if (p.reasonCodes.length === 0) r.fail('ERR_MQTT_PROTOCOL', 'payload', 'unsuback without a reason code');
  } else if (r.left > 0) {
    r.fail('ERR_MQTT_MALFORMED', 'remaining length', `${r.left} bytes after the end of the packet`);
  }
  return p;
}

function parseDisconnectOrAuth(r: Reader, type: number, v: MqttVersion): DisconnectPacket | AuthPacket {
  const p: DisconnectPacket | AuthPacket = type === PacketType.AUTH ? { type: 'auth', reasonCode: 0 } : { type: 'disconnect', reasonCode: 0 };
  // 5.0: remaining length 0 means success and no properties; 1, a reason code and no properties
  if (v === 5 && r.left > 0) {
    p.reasonCode = reasonCode(r, type, v);
    if (r.left > 0) {
      const props = readProperties(r, type);
      if (props) p.properties = props;
    }
  }
  return p;
}
