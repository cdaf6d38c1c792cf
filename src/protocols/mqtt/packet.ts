/**
 * The MQTT control packets of 3.1.1 (protocol level 4) and 5.0 (level 5) as typed values.
 *
 * One type serves both directions: what the decoder returns is what the encoder takes. Payloads
 * and binary fields are Uint8Arrays, text fields are strings (UTF-8 on the wire, never U+0000).
 * Fields that only 5.0 can carry (properties, reason codes other than success, subscription
 * options) are refused by the 3.1.1 encoder rather than dropped, and the 3.1.1 decoder fills
 * them with what 3.1.1 means (success, default options).
 */
import type { MqttProperties } from './properties.js';

export type MqttVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

/** Control packet type numbers (§2.1.2), the high nibble of the first byte. */
export const PacketType = Object.freeze({
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
});

/** an acknowledgement's `type` string → its packet type number: a constant lookup, no string built per ack */
export const PUBACK_TYPES: Readonly<Record<'puback' | 'pubrec' | 'pubrel' | 'pubcomp', number>> = Object.freeze({
  puback: PacketType.PUBACK,
  pubrec: PacketType.PUBREC,
  pubrel: PacketType.PUBREL,
  pubcomp: PacketType.PUBCOMP,
});

/** packet type number → the `type` string of its value; index 0 is reserved */
export const PACKET_NAMES = [
  'reserved',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** 5.0 Will Properties */
  properties?: MqttProperties;
}

export interface ConnectPacket {
  type: 'connect';
  /** the protocol level this CONNECT asks for; the rest of the connection speaks it */
  version: MqttVersion;
  clientId: string;
  /** Clean Start (5.0), Clean Session (3.1.1) */
  cleanStart: boolean;
  /** seconds; 0 turns keep-alive off */
  keepAlive: number;
  username?: string;
  /** 3.1.1 only allows it with a username; 5.0 allows it alone */
  password?: Uint8Array;
  will?: Will;
  properties?: MqttProperties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** 5.0 reason code; under 3.1.1 the return code (0..5, see ConnectReturnCode) */
  reasonCode: number;
  properties?: MqttProperties;
}

export interface PublishPacket {
  type: 'publish';
  /** empty only in 5.0 with a Topic Alias property (the alias names the topic) */
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** a retransmission; only with QoS 1 or 2 */
  dup: boolean;
  /** present exactly when qos > 0 */
  packetId?: number;
  properties?: MqttProperties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface PubAckPacket {
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  packetId: number;
  /** always 0 under 3.1.1 */
  reasonCode: number;
  properties?: MqttProperties;
}

export interface Subscription {
  filter: string;
  /** the maximum QoS asked for */
  qos: QoS;
  /** 5.0 options; the decoder always fills them (false, false, 0 under 3.1.1) */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  /** 0: send retained messages at subscribe, 1: only for a new subscription, 2: never */
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  /** at least one */
  subscriptions: Subscription[];
  properties?: MqttProperties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** one per subscription, in order: granted QoS or a failure (0x80 and up) */
  reasonCodes: number[];
  properties?: MqttProperties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  /** at least one */
  filters: string[];
  properties?: MqttProperties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** 5.0: one per filter, in order; 3.1.1 carries none (empty) */
  reasonCodes: number[];
  properties?: MqttProperties;
}

export interface PingreqPacket {
  type: 'pingreq';
}

export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** always 0 under 3.1.1 */
  reasonCode: number;
  properties?: MqttProperties;
}

/** 5.0 only: extended authentication exchange. */
export interface AuthPacket {
  type: 'auth';
  reasonCode: number;
  properties?: MqttProperties;
}

export type MqttPacket =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubAckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type MqttPacketName = MqttPacket['type'];
