/**
 * MQTT 5.0 properties (§2.2.2): identifiers, value types, which packets may carry which, and
 * their reading and writing.
 *
 * Rules enforced both ways: a property the packet may not carry, or one given twice, is a
 * Protocol Error; so is a value the spec rules out (a 0/1 byte holding 2, a Receive Maximum,
 * Maximum Packet Size, Topic Alias or Subscription Identifier of 0, a Maximum QoS of 2, a
 * Response Topic with wildcards). Only User Property repeats everywhere, keeping its order;
 * Subscription Identifier repeats in PUBLISH only. An unknown identifier is a Malformed Packet.
 */
import { MqttEncodeError } from './errors.js';
import { PacketType } from './packet.js';
import {
  MAX_VARINT,
  Reader,
  binarySize,
  checkInt,
  stringSize,
  varintSize,
  writeBinary,
  writeString,
  writeU16,
  writeU32,
  writeVarint,
} from './wire.js';

export interface MqttProperties {
  /** 0: the payload is unspecified bytes, 1: UTF-8 text */
  payloadFormatIndicator?: 0 | 1;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** one in SUBSCRIBE; in PUBLISH one per matching subscription that has one */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
  requestProblemInformation?: boolean;
  willDelayInterval?: number;
  requestResponseInformation?: boolean;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQos?: 0 | 1;
  retainAvailable?: boolean;
  /** name/value pairs in the order sent; names may repeat */
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: boolean;
  subscriptionIdentifierAvailable?: boolean;
  sharedSubscriptionAvailable?: boolean;
}

/** The "where" bit of the Will Properties in a CONNECT payload: packet type 0 is reserved, so bit 0 is free. */
export const WILL_PROPERTIES = 0;

// value kinds
const BYTE01 = 0; // a byte that must be 0 or 1, kept as a number
const FLAG = 1; // a byte that must be 0 or 1, kept as a boolean
const U16 = 2;
const U32 = 3;
const VARINT = 4; // kept in an array: Subscription Identifier
const STRING = 5;
const BINARY = 6;
const PAIR = 7;

interface PropertySpec {
  readonly id: number;
  readonly key: keyof MqttProperties;
  readonly kind: number;
  /** mask of the packet types (bit 0: Will Properties) that may carry it */
  readonly where: number;
  /** smallest allowed value of a number (1 where 0 is a Protocol Error) */
  readonly min: number;
}

const bit = (...types: number[]): number => types.reduce((m, t) => m | (1 << t), 0);
const T = PacketType;
const ACKS = bit(T.PUBACK, T.PUBREC, T.PUBREL, T.PUBCOMP, T.SUBACK, T.UNSUBACK);
const EVERYWHERE = bit(WILL_PROPERTIES, T.CONNECT, T.CONNACK, T.PUBLISH, T.SUBSCRIBE, T.UNSUBSCRIBE, T.DISCONNECT, T.AUTH) | ACKS;
const MESSAGE = bit(WILL_PROPERTIES, T.PUBLISH);

const spec = (id: number, key: keyof MqttProperties, kind: number, where: number, min = 0): PropertySpec => ({ id, key, kind, where, min });

const SPECS: readonly PropertySpec[] = [
  spec(0x01, 'payloadFormatIndicator', BYTE01, MESSAGE),
  spec(0x02, 'messageExpiryInterval', U32, MESSAGE),
  spec(0x03, 'contentType', STRING, MESSAGE),
  spec(0x08, 'responseTopic', STRING, MESSAGE),
  spec(0x09, 'correlationData', BINARY, MESSAGE),
  spec(0x0b, 'subscriptionIdentifiers', VARINT, bit(T.PUBLISH, T.SUBSCRIBE), 1),
  spec(0x11, 'sessionExpiryInterval', U32, bit(T.CONNECT, T.CONNACK, T.DISCONNECT)),
  spec(0x12, 'assignedClientIdentifier', STRING, bit(T.CONNACK)),
  spec(0x13, 'serverKeepAlive', U16, bit(T.CONNACK)),
  spec(0x15, 'authenticationMethod', STRING, bit(T.CONNECT, T.CONNACK, T.AUTH)),
  spec(0x16, 'authenticationData', BINARY, bit(T.CONNECT, T.CONNACK, T.AUTH)),
  spec(0x17, 'requestProblemInformation', FLAG, bit(T.CONNECT)),
  spec(0x18, 'willDelayInterval', U32, bit(WILL_PROPERTIES)),
  spec(0x19, 'requestResponseInformation', FLAG, bit(T.CONNECT)),
  spec(0x1a, 'responseInformation', STRING, bit(T.CONNACK)),
  spec(0x1c, 'serverReference', STRING, bit(T.CONNACK, T.DISCONNECT)),
  spec(0x1f, 'reasonString', STRING, bit(T.CONNACK, T.DISCONNECT, T.AUTH) | ACKS),
  spec(0x21, 'receiveMaximum', U16, bit(T.CONNECT, T.CONNACK), 1),
  spec(0x22, 'topicAliasMaximum', U16, bit(T.CONNECT, T.CONNACK)),
  spec(0x23, 'topicAlias', U16, bit(T.PUBLISH), 1),
  spec(0x24, 'maximumQos', BYTE01, bit(T.CONNACK)),
  spec(0x25, 'retainAvailable', FLAG, bit(T.CONNACK)),
  spec(0x26, 'userProperties', PAIR, EVERYWHERE),
  spec(0x27, 'maximumPacketSize', U32, bit(T.CONNECT, T.CONNACK), 1),
  spec(0x28, 'wildcardSubscriptionAvailable', FLAG, bit(T.CONNACK)),
  spec(0x29, 'subscriptionIdentifierAvailable', FLAG, bit(T.CONNACK)),
  spec(0x2a, 'sharedSubscriptionAvailable', FLAG, bit(T.CONNACK)),
];

const BY_ID: (PropertySpec | undefined)[] = [];
const BY_KEY: Record<string, PropertySpec> = Object.create(null) as Record<string, PropertySpec>;
for (const s of SPECS) {
  BY_ID[s.id] = s;
  BY_KEY[s.key] = s;
}

/** The identifier of a property by its key, e.g. propertyId('topicAlias') === 0x23. */
export function propertyId(key: keyof MqttProperties): number {
  return (BY_KEY[key] as PropertySpec).id;
}

const whereName = (where: number, packet: string): string => (where === WILL_PROPERTIES ? 'Will Properties' : packet);

/**
 * Reads a property length and the properties after it. `where` is the packet type, or
 * WILL_PROPERTIES. Returns undefined when there are none, so most packets allocate nothing.
 */
export function readProperties(r: Reader, where: number): MqttProperties | undefined {
  const lenAt = r.pos;
  const len = r.varint('property length');
  if (len === 0) return undefined;
  if (len > r.left) r.fail('ERR_MQTT_MALFORMED', 'property length', `property length ${len} overruns the packet (${r.left} bytes left)`, lenAt);
  const end = r.pos + len;
  const mask = 1 << where;
  const props: Record<string, unknown> = {};
  while (r.pos < end) {
    const at = r.pos;
    // the identifier is a Variable Byte Integer (§2.2.2.2), though every defined one fits a byte
    const id = r.varint('property identifier');
    const s = BY_ID[id];
    if (s === undefined) r.fail('ERR_MQTT_MALFORMED', 'property identifier', `unknown property identifier 0x${id.toString(16)}`, at);
    const key = s.key;
    if ((s.where & mask) === 0) r.fail('ERR_MQTT_PROTOCOL', key, `${key} (0x${id.toString(16)}) may not appear in ${whereName(where, r.packet)}`, at);
    const repeats = s.kind === PAIR || (s.kind === VARINT && where === PacketType.PUBLISH);
    if (!repeats && props[key] !== undefined) r.fail('ERR_MQTT_PROTOCOL', key, `${key} given more than once`, at);
    let v: unknown;
    switch (s.kind) {
      case BYTE01:
      case FLAG: {
        const x = r.u8(key);
        if (x > 1) r.fail('ERR_MQTT_PROTOCOL', key, `${key} must be 0 or 1, not ${x}`, at);
        v = s.kind === FLAG ? x === 1 : x;
        break;
      }
      case U16:
      case U32: {
        const x = s.kind === U16 ? r.u16(key) : r.u32(key);
        if (x < s.min) r.fail('ERR_MQTT_PROTOCOL', key, `${key} must not be 0`, at);
        v = x;
        break;
      }
      case VARINT: {
        const x = r.varint(key);
        if (x < s.min) r.fail('ERR_MQTT_PROTOCOL', key, `${key} must not be 0`, at);
        const list = props[key] as number[] | undefined;
        if (list) list.push(x);
        else v = [x];
        break;
      }
      case STRING: {
        if (key === 'responseTopic') {
          v = r.topic(key);
          if (v === '') r.fail('ERR_MQTT_TOPIC_NAME', key, 'responseTopic is empty', at);
        } else v = r.string(key);
        break;
      }
      case BINARY:
        v = r.binary(key);
        break;
      default: {
        const pair: [string, string] = [r.string(`${key} name`), r.string(`${key} value`)];
        const list = props[key] as [string, string][] | undefined;
        if (list) list.push(pair);
        else v = [pair];
      }
    }
    if (r.pos > end) r.fail('ERR_MQTT_MALFORMED', key, `${key} runs past the property length`, at);
    if (v !== undefined) props[key] = v;
  }
  return props as MqttProperties;
}

/** Throws unless the properties can go in `where`; returns their encoded size without the length field. */
export function propertiesSize(p: MqttProperties | undefined, where: number, packet: string): number {
  if (p === undefined) return 0;
  const mask = 1 << where;
  const context = whereName(where, packet);
  let size = 0;
  for (const key in p) {
    const v = (p as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const s = BY_KEY[key];
    if (s === undefined) throw new MqttEncodeError('ERR_MQTT_ENCODE', `unknown property ${key}`, { packet, field: key });
    if ((s.where & mask) === 0) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${key} may not appear in ${context}`, { packet, field: key });
    switch (s.kind) {
      case BYTE01:
        checkInt(v, 0, 1, context, key);
        size += 2;
        break;
      case FLAG:
        if (typeof v !== 'boolean') throw new MqttEncodeError('ERR_MQTT_ENCODE', `${context} ${key} must be a boolean`, { packet, field: key });
        size += 2;
        break;
      case U16:
        checkInt(v, s.min, 0xffff, context, key);
        size += 3;
        break;
      case U32:
        checkInt(v, s.min, 0xffffffff, context, key);
        size += 5;
        break;
      case VARINT: {
        if (!Array.isArray(v)) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${context} ${key} must be an array`, { packet, field: key });
        if (where !== PacketType.PUBLISH && v.length > 1) {
          throw new MqttEncodeError('ERR_MQTT_ENCODE', `${context} may carry one subscription identifier, not ${v.length}`, { packet, field: key });
        }
        for (const x of v) size += 1 + varintSize(checkInt(x, s.min, MAX_VARINT, context, key));
        break;
      }
      case STRING:
        size += 1 + stringSize(v, context, key, key === 'responseTopic');
        if (v === '' && key === 'responseTopic') throw new MqttEncodeError('ERR_MQTT_ENCODE', `${context} responseTopic is empty`, { packet, field: key });
        break;
      case BINARY:
        size += 1 + binarySize(v, context, key);
        break;
      default: {
        if (!Array.isArray(v)) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${context} ${key} must be an array of [name, value]`, { packet, field: key });
        for (const pair of v as unknown[]) {
          if (!Array.isArray(pair) || pair.length !== 2) {
            throw new MqttEncodeError('ERR_MQTT_ENCODE', `${context} ${key} must be an array of [name, value]`, { packet, field: key });
          }
          size += 1 + stringSize(pair[0], context, `${key} name`) + stringSize(pair[1], context, `${key} value`);
        }
      }
    }
  }
  return size;
}

/** Writes the property length `size` (from propertiesSize) and the properties; returns the offset after them. */
export function writeProperties(b: Uint8Array, o: number, p: MqttProperties | undefined, size: number): number {
  o = writeVarint(b, o, size);
  if (p === undefined || size === 0) return o;
  for (const key in p) {
    const v = (p as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const s = BY_KEY[key] as PropertySpec;
    switch (s.kind) {
      case BYTE01:
      case FLAG:
        b[o++] = s.id;
        b[o++] = v === true || v === 1 ? 1 : 0;
        break;
      case U16:
        b[o++] = s.id;
        o = writeU16(b, o, v as number);
        break;
      case U32:
        b[o++] = s.id;
        o = writeU32(b, o, v as number);
        break;
      case VARINT:
        for (const x of v as number[]) {
          b[o++] = s.id;
          o = writeVarint(b, o, x);
        }
        break;
      case STRING:
        b[o++] = s.id;
        o = writeString(b, o, v as string);
        break;
      case BINARY:
        b[o++] = s.id;
        o = writeBinary(b, o, v as Uint8Array);
        break;
      default:
        for (const [name, value] of v as [string, string][]) {
          b[o++] = s.id;
          o = writeString(b, o, name);
          o = writeString(b, o, value);
        }
    }
  }
  return o;
}
