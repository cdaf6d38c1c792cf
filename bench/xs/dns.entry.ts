/**
 * XS bench: encode a typical DNS answer (the question echoed, a CNAME, two A and one AAAA
 * record, names compressed) and parse it back as the resolver does (decode, then interpret for
 * A: follow the CNAME, collect the addresses and the TTL), N times: LWSX_XS_ITERATIONS when
 * run-in-xs.mjs sets it, else DNS_BENCH_ITERATIONS. bench/xs.bench.ts runs it with two counts and
 * divides the difference, so loading and reporting cancel out.
 */
/// <reference path="./globals.d.ts" />
import { interpretAnswer } from '../../src/services/dns/answer.js';
import { DnsFlag, DnsType, decodeMessage, encodeMessage } from '../../src/services/dns/codec.js';
import type { DnsMessage } from '../../src/services/dns/codec.js';
import { reportToHost } from '../../test/xs/report.js';

export const DNS_BENCH_ITERATIONS = 1000;
const N = globalThis.LWSX_XS_ITERATIONS ?? DNS_BENCH_ITERATIONS;

reportToHost(() => {
  let bytes = 0;
  let addresses = 0;
  let ttlSum = 0;
  for (let i = 0; i < N; i++) {
    const ttl = 60 + (i % 7);
    const answer: DnsMessage = {
      id: i & 0xffff,
      flags: DnsFlag.QR | DnsFlag.RD | DnsFlag.RA,
      questions: [{ name: 'api.lws.test', type: DnsType.A, class: 1 }],
      answers: [
        { name: 'api.lws.test', type: DnsType.CNAME, class: 1, ttl: 300, data: 'edge.lws.test' },
        { name: 'edge.lws.test', type: DnsType.A, class: 1, ttl, data: `10.0.${i & 0xff}.1` },
        { name: 'edge.lws.test', type: DnsType.A, class: 1, ttl, data: `10.0.${i & 0xff}.2` },
        { name: 'edge.lws.test', type: DnsType.AAAA, class: 1, ttl, data: 'fd00::1' },
      ],
      authorities: [],
      additionals: [],
    };
    const wire = encodeMessage(answer);
    bytes += wire.length;
    const o = interpretAnswer(decodeMessage(wire), 'api.lws.test', DnsType.A);
    if (o.kind !== 'addresses') throw new Error(`iteration ${i}: ${o.kind}`);
    addresses += o.addresses.length;
    ttlSum += o.ttl;
  }
  // two A records each time and the TTL of the A records: proof the work was done, in XS too
  return { iterations: N, bytes, addresses, meanTtl: ttlSum / N };
});
