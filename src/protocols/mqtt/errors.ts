/**
 * The MQTT codec's typed failures. Two kinds, because they are handled differently:
 *  - MqttProtocolError: the peer's bytes break MQTT. The connection must close; under 5.0 the
 *    DISCONNECT (or CONNACK) sent first carries `reasonCode`. `detail.packet` names the packet
 *    type, `detail.field` what was being read, `detail.offset` the byte offset counted from the
 *    end of the fixed header (the start of the variable header) where it was found.
 *  - MqttEncodeError: our caller asked to encode something MQTT cannot carry (a usage error).
 */
import { DecodeError, UsageError } from '../../util/errors.js';
import { ReasonCode } from './reason-codes.js';

export type MqttProtocolCode =
  /** the bytes do not parse: lengths that overrun, a 5-byte Variable Byte Integer, reserved bits set, bad UTF-8, U+0000, trailing bytes */
  | 'ERR_MQTT_MALFORMED'
  /** they parse but break a rule: a duplicate or misplaced property, a value out of range, a reason code the packet may not carry, packet id 0 */
  | 'ERR_MQTT_PROTOCOL'
  /** the packet is larger than our Maximum Packet Size: refused as soon as its length is read */
  | 'ERR_MQTT_PACKET_TOO_LARGE'
  /** a CONNECT for a protocol other than MQTT 3.1.1 or 5.0 */
  | 'ERR_MQTT_UNSUPPORTED_VERSION'
  /** a PUBLISH (or Will, or Response Topic) topic name that is empty or has a wildcard */
  | 'ERR_MQTT_TOPIC_NAME';

const REASON: Readonly<Record<MqttProtocolCode, number>> = {
  ERR_MQTT_MALFORMED: ReasonCode.MALFORMED_PACKET,
  ERR_MQTT_PROTOCOL: ReasonCode.PROTOCOL_ERROR,
  ERR_MQTT_PACKET_TOO_LARGE: ReasonCode.PACKET_TOO_LARGE,
  ERR_MQTT_UNSUPPORTED_VERSION: ReasonCode.UNSUPPORTED_PROTOCOL_VERSION,
  ERR_MQTT_TOPIC_NAME: ReasonCode.TOPIC_NAME_INVALID,
};

export class MqttProtocolError extends DecodeError {
  declare readonly code: MqttProtocolCode;
  /** the 5.0 reason code to close with: 0x81, 0x82, 0x90 or 0x95 in a DISCONNECT; 0x84 in the CONNACK refusing a CONNECT */
  readonly reasonCode: number;

  constructor(code: MqttProtocolCode, message: string, detail?: Record<string, unknown>, cause?: unknown) {
    super(code, `mqtt: ${message}`, detail, cause);
    this.reasonCode = REASON[code];
  }
}

export type MqttEncodeCode =
  /** a field MQTT cannot carry: out of range, wrong for the packet or the version, a bad topic or string */
  | 'ERR_MQTT_ENCODE'
  /** the packet would exceed the Maximum Packet Size given (or MQTT's own 268,435,455-byte limit) */
  | 'ERR_MQTT_ENCODE_TOO_LARGE';

export class MqttEncodeError extends UsageError {
  declare readonly code: MqttEncodeCode;

  constructor(code: MqttEncodeCode, message: string, detail?: Record<string, unknown>) {
    super(code, `mqtt encode: ${message}`, detail);
  }
}
