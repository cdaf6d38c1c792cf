/**
 * XS bench: build an SNTP server reply and parse it as the client does (encode, strict parse
 * against our transmit timestamp, four-timestamp offset), N times: LWSX_XS_ITERATIONS when
 * run-in-xs.mjs sets it, else SNTP_BENCH_ITERATIONS. bench/xs.bench.ts runs it with two counts
 * and divides the difference, so loading and reporting cancel out.
 */
/// <reference path="./globals.d.ts" />
import { encodeNtpPacket, encodeSntpRequest, parseSntpReply, sntpSample } from '../../src/services/sntp/packet.js';
import { unixUsToNtp } from '../../src/services/sntp/timestamp.js';
import { reportToHost } from '../../test/xs/report.js';

export const SNTP_BENCH_ITERATIONS = 1000;
const N = globalThis.LWSX_XS_ITERATIONS ?? SNTP_BENCH_ITERATIONS;

/** 2026-01-01T00:00:00Z, unix µs */
const BASE_US = 1_767_225_600_000_000;

reportToHost(() => {
  let offsetSum = 0;
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const t1 = BASE_US + i * 1_000_003;
    const origin = unixUsToNtp(t1);
    bytes += encodeSntpRequest(origin).length;
    const reply = encodeNtpPacket({
      leap: 0,
      version: 4,
      mode: 4,
      stratum: 2,
      poll: 6,
      precision: -20,
      rootDelay: 0x100,
      rootDispersion: 0x200,
      refId: 0x7f000001,
      reference: unixUsToNtp(t1 - 60_000_000),
      origin,
      receive: unixUsToNtp(t1 + 1_000 + 250_000),
      transmit: unixUsToNtp(t1 + 1_100 + 250_000),
    });
    bytes += reply.length;
    const r = parseSntpReply(reply, [origin]);
    offsetSum += sntpSample(r.packet, t1, t1 + 2_100).offsetUs;
  }
  // every reply says the device is 250 ms behind: the mean proves the work was done, in XS too
  return { iterations: N, bytes, meanOffsetUs: offsetSum / N };
});
