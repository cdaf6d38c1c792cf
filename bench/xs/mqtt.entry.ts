/**
 * XS bench: encode a PUBLISH with a 64-byte payload and parse it back through the streaming
 * decoder, once as MQTT 5.0 (QoS 1, a Message Expiry Interval property) and once as 3.1.1
 * (QoS 1), N times: LWSX_XS_ITERATIONS when run-in-xs.mjs sets it, else MQTT_BENCH_ITERATIONS.
 * Each iteration is two PUBLISHes encoded and two parsed. bench/xs.bench.ts runs it with two
 * counts and divides the difference, so loading and reporting cancel out.
 */
/// <reference path="./globals.d.ts" />
import { MqttDecoder } from '../../src/protocols/mqtt/decoder.js';
import { encodePacket } from '../../src/protocols/mqtt/encode.js';
import type { PublishPacket } from '../../src/protocols/mqtt/packet.js';
import { reportToHost } from '../../test/xs/report.js';

export const MQTT_BENCH_ITERATIONS = 1000;
const N = globalThis.LWSX_XS_ITERATIONS ?? MQTT_BENCH_ITERATIONS;

reportToHost(() => {
  const payload = new Uint8Array(64);
  for (let i = 0; i < payload.length; i++) payload[i] = i;
  const v5: PublishPacket = {
    type: 'publish', topic: 'lwsx/bench/sensor/temperature', payload, qos: 1, retain: false, dup: false, packetId: 1,
    properties: { messageExpiryInterval: 3600 },
  };
  const v4: PublishPacket = { type: 'publish', topic: 'lwsx/bench/sensor/temperature', payload, qos: 1, retain: false, dup: false, packetId: 1 };
  const d5 = new MqttDecoder({ version: 5 });
  const d4 = new MqttDecoder({ version: 4 });
  let parsed = 0;
  let bytes = 0;
  let idSum = 0;
  let payloadSum = 0;
  for (let i = 0; i < N; i++) {
    payload[0] = i & 0xff;
    v5.packetId = v4.packetId = (i % 0xffff) + 1;
    const b5 = encodePacket(v5, 5);
    const b4 = encodePacket(v4, 4);
    bytes += b5.length + b4.length;
    for (const p of d5.push(b5).concat(d4.push(b4))) {
      if (p.type !== 'publish' || p.payload.length !== 64) throw new Error('bad parse');
      parsed++;
      idSum += p.packetId as number;
      payloadSum += p.payload[0] as number;
    }
  }
  // 5.0: 2 + 31 topic + 2 id + 6 properties + 64 = 105 bytes; 3.1.1: 2 + 31 + 2 + 64 = 99
  return { iterations: N, parsed, bytes, idSum, payloadSum, bytesPerIteration: N > 0 ? bytes / N : 0 };
});
