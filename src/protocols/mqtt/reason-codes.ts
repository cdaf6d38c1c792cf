/**
 * MQTT 5.0 reason codes (§2.4) with their names, which packets may carry which, and the
 * MQTT 3.1.1 CONNACK return codes and SUBACK return codes, which 3.1.1 has instead.
 *
 * Which packet allows which code is one 16-bit mask per code, bit n for packet type n, so a
 * check is one table read.
 */
import { PacketType } from './packet.js';

export const ReasonCode = Object.freeze({
  SUCCESS: 0x00,
  NORMAL_DISCONNECTION: 0x00,
  GRANTED_QOS_0: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL_MESSAGE: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  CONTINUE_AUTHENTICATION: 0x18,
  RE_AUTHENTICATE: 0x19,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  MESSAGE_RATE_TOO_HIGH: 0x96,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  USE_ANOTHER_SERVER: 0x9c,
  SERVER_MOVED: 0x9d,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  CONNECTION_RATE_EXCEEDED: 0x9f,
  MAXIMUM_CONNECT_TIME: 0xa0,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
});

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3); 6..255 are reserved. */
export const ConnectReturnCode = Object.freeze({
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USER_NAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
});

/** MQTT 3.1.1 SUBACK return code for a refused subscription (§3.9.3). */
export const SUBACK_FAILURE = 0x80;

const NAMES: Readonly<Record<number, string>> = {
  0x00: 'Success',
  0x01: 'Granted QoS 1',
  0x02: 'Granted QoS 2',
  0x04: 'Disconnect with Will Message',
  0x10: 'No matching subscribers',
  0x11: 'No subscription existed',
  0x18: 'Continue authentication',
  0x19: 'Re-authenticate',
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8b: 'Server shutting down',
  0x8c: 'Bad authentication method',
  0x8d: 'Keep Alive timeout',
  0x8e: 'Session taken over',
  0x8f: 'Topic Filter invalid',
  0x90: 'Topic Name invalid',
  0x91: 'Packet Identifier in use',
  0x92: 'Packet Identifier not found',
  0x93: 'Receive Maximum exceeded',
  0x94: 'Topic Alias invalid',
  0x95: 'Packet too large',
  0x96: 'Message rate too high',
  0x97: 'Quota exceeded',
  0x98: 'Administrative action',
  0x99: 'Payload format invalid',
  0x9a: 'Retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'Use another server',
  0x9d: 'Server moved',
  0x9e: 'Shared Subscriptions not supported',
  0x9f: 'Connection rate exceeded',
  0xa0: 'Maximum connect time',
  0xa1: 'Subscription Identifiers not supported',
  0xa2: 'Wildcard Subscriptions not supported',
};

const V4_CONNACK_NAMES = [
  'Connection Accepted',
  'Connection Refused, unacceptable protocol version',
  'Connection Refused, identifier rejected',
  'Connection Refused, Server unavailable',
  'Connection Refused, bad user name or password',
  'Connection Refused, not authorized',
];

/** A reason code's name as the spec words it in `packetType` (0x00 reads differently per packet). */
export function reasonName(code: number, packetType: number, version: 4 | 5 = 5): string {
  if (version === 4) {
    if (packetType === PacketType.CONNACK) return V4_CONNACK_NAMES[code] ?? `Reserved return code ${code}`;
    if (packetType === PacketType.SUBACK) return code === SUBACK_FAILURE ? 'Failure' : `Success - Maximum QoS ${code}`;
  }
  if (code === 0) {
    if (packetType === PacketType.DISCONNECT) return 'Normal disconnection';
    if (packetType === PacketType.SUBACK) return 'Granted QoS 0';
  }
  return NAMES[code] ?? `Unknown reason code 0x${code.toString(16).padStart(2, '0')}`;
}

const CONNACK = 1 << PacketType.CONNACK;
const PUB = (1 << PacketType.PUBACK) | (1 << PacketType.PUBREC);
const PUBREL = (1 << PacketType.PUBREL) | (1 << PacketType.PUBCOMP);
const SUBACK = 1 << PacketType.SUBACK;
const UNSUBACK = 1 << PacketType.UNSUBACK;
const DISCONNECT = 1 << PacketType.DISCONNECT;
const AUTH = 1 << PacketType.AUTH;

/** code → mask of the packet types that may carry it in MQTT 5.0 (§3.x Reason Code tables) */
const ALLOWED = new Uint16Array(256);
const allow = (mask: number, codes: readonly number[]): void => {
  for (const c of codes) ALLOWED[c] = (ALLOWED[c] as number) | mask;
};
allow(CONNACK, [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f]);
allow(PUB, [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
allow(PUBREL, [0x00, 0x92]);
allow(SUBACK, [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);
allow(UNSUBACK, [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);
allow(DISCONNECT, [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
]);
allow(AUTH, [0x00, 0x18, 0x19]);

/** True when `code` may appear in a packet of `packetType` under `version`. */
export function reasonCodeAllowed(code: number, packetType: number, version: 4 | 5): boolean {
  if (!Number.isInteger(code) || code < 0 || code > 255) return false;
  if (version === 4) {
    if (packetType === PacketType.CONNACK) return code <= 5;
    if (packetType === PacketType.SUBACK) return code <= 2 || code === SUBACK_FAILURE;
    return false; // 3.1.1 has no other reason codes
  }
  return ((ALLOWED[code] as number) & (1 << packetType)) !== 0;
}
