/**
 * The MQTT client's typed failures that carry an MQTT reason: a broker's refusal (CONNACK, a
 * failed PUBACK/PUBREC/SUBACK/UNSUBACK code, a server DISCONNECT) or a rule the broker broke
 * that 5.0 names with a reason code of its own (topic alias, receive maximum). The code is
 * stable and derived from the reason's spec name: 0x87 Not authorized is
 * ERR_MQTT_NOT_AUTHORIZED, whichever packet carried it. 3.1.1's CONNACK return codes map onto
 * the 5.0 reasons that mean the same (return code 5 is 0x87 too).
 *
 * Failures of our own bookkeeping (the offline queue refusing a message) use the same class
 * with reasonCode undefined.
 */
import { LwsxError } from '../../util/errors.js';
import { PACKET_NAMES, PacketType } from './packet.js';
import { ReasonCode, reasonName } from './reason-codes.js';

/** reason code → the ReasonCode key it is spelled as (0x00 has several: its meaning depends on the packet) */
const KEYS: Record<number, string> = {};
for (const [k, v] of Object.entries(ReasonCode)) if (v >= 0x80 || KEYS[v] === undefined) KEYS[v] = k;

/** 3.1.1 CONNACK return code → the 5.0 reason code that means the same */
const V4_CONNACK = [0x00, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, ReasonCode.CLIENT_IDENTIFIER_NOT_VALID, ReasonCode.SERVER_UNAVAILABLE, ReasonCode.BAD_USER_NAME_OR_PASSWORD, ReasonCode.NOT_AUTHORIZED];

export type MqttErrorOrigin = 'server' | 'client';

export class MqttError extends LwsxError {
  /** the 5.0 reason code (3.1.1 codes are mapped), undefined for a local failure */
  readonly reasonCode: number | undefined;
  /** who said it: the server's packet, or our client finding the server at fault or refusing locally */
  readonly origin: MqttErrorOrigin;

  constructor(code: string, message: string, reasonCode: number | undefined, origin: MqttErrorOrigin, detail?: Record<string, unknown>) {
    super(code, `mqtt: ${message}`, reasonCode === undefined ? detail : { reasonCode, ...detail });
    this.reasonCode = reasonCode;
    this.origin = origin;
  }
}

/** The stable code for a 5.0 reason: ERR_MQTT_ plus its ReasonCode key. */
export function reasonErrorCode(reasonCode: number): string {
  const k = KEYS[reasonCode];
  return k === undefined ? `ERR_MQTT_REASON_0X${reasonCode.toString(16).toUpperCase()}` : `ERR_MQTT_${k}`;
}

/**
 * The error for reason `rc` that the server sent in `packetType` (a PacketType number), on a
 * connection speaking `version`. For a 3.1.1 CONNACK, `rc` is its return code.
 */
export function serverReasonError(rc: number, packetType: number, version: 4 | 5, detail?: Record<string, unknown>): MqttError {
  let code5 = rc;
  if (version === 4 && packetType === PacketType.CONNACK) code5 = V4_CONNACK[rc] ?? ReasonCode.UNSPECIFIED_ERROR;
  const packet = PACKET_NAMES[packetType] ?? 'reserved';
  const name = reasonName(rc, packetType, version);
  const code = packetType === PacketType.DISCONNECT && code5 === 0 ? 'ERR_MQTT_SERVER_DISCONNECTED' : reasonErrorCode(code5);
  return new MqttError(code, `${packet}: ${name} (0x${rc.toString(16).padStart(2, '0')})`, code5, 'server', { packet, ...detail });
}

/** The broker broke a rule that 5.0 names with reason `rc`: we close with a DISCONNECT carrying it. */
export function clientReasonError(rc: number, message: string, detail?: Record<string, unknown>): MqttError {
  return new MqttError(reasonErrorCode(rc), message, rc, 'client', detail);
}
