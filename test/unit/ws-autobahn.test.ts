/**
 * The conformance suite modelled on the Autobahn testsuite (sections 1-7 and 9: the cases are in
 * ws-autobahn-cases.ts), run in memory against our machine in both roles: as the server under
 * test (Autobahn's fuzzingclient: the peer sends masked frames) and as the client under test
 * (fuzzingserver: unmasked frames). As in Autobahn the machine is an echo peer; every case is
 * fed whole, one frame per receive() and one byte per receive(): the events must be the same
 * each way, and what the machine sends must be what Autobahn expects.
 *
 * Where a case expects a failure, the machine must report a typed error with the close code
 * and send exactly that Close. Autobahn's "non-strict" outcomes (a close code other than the
 * best one) are not accepted here: the code must be the one the RFC names.
 * test/interop/ws-autobahn.test.ts runs the same cases over loopback TCP.
 */
import { describe, expect, test } from '@jest/globals';
import type { WsRole } from '../../src/protocols/ws/connection.js';
import { autobahnSections, type Case, failFastCases, outFrames } from './ws-autobahn-cases.js';
import { chop, concat, echoRun, norm, rawFrame, show, TEXT, type Chop } from './ws-harness.js';

function runCase(role: WsRole, c: Case): void {
  const wire = c.frames.map((f) => rawFrame(f, role));
  const opts = c.maxMessageSize ? { maxMessageSize: c.maxMessageSize } : {};
  const modes: Chop[] = c.noOctets ? ['whole', 'frames'] : ['whole', 'frames', 'octets'];
  const runs = modes.map((m) => echoRun(role, chop(wire, m), opts));
  if (c.chunk) {
    const all = concat(wire);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += c.chunk) pieces.push(all.subarray(i, i + c.chunk));
    runs.push(echoRun(role, pieces, opts));
  }
  const first = runs[0]!;
  const events = norm(first.events);
  for (const r of runs.slice(1)) expect(norm(r.events)).toEqual(events);
  const failure = c.expect.find((o) => 'fail' in o) as { fail: number } | undefined;
  const errors = first.events.filter((e) => e.type === 'error');
  if (failure) {
    expect(errors.map((e) => e.type === 'error' && e.error.closeCode)).toEqual([failure.fail]);
    expect(first.events[first.events.length - 1]).toEqual({ type: 'close', code: failure.fail, reason: '', wasClean: false });
  } else expect(errors).toEqual([]);
  // Autobahn's peer waits for each frame's effect: compare what was sent when fed frame by frame
  // or byte by byte (fed in bigger pieces, the echo harness answers only after the whole piece)
  for (const r of runs.slice(1, modes.length)) {
    const sent = r.frames.map((f) => ({ op: f.op, payload: show(f.payload) }));
    expect(sent).toEqual(outFrames(c.expect));
    for (const f of r.frames) expect([f.fin, f.rsv]).toEqual([true, 0]);
  }
}

function section(n: string, title: string, cases: Record<string, Case>): void {
  describe.each<WsRole>(['server', 'client'])(`${n} ${title} (%s under test)`, (role) => {
    test.each(Object.entries(cases))('%s', (_id, c) => runCase(role, c));
  });
}

const sections = autobahnSections();
for (const s of sections) section(s.n, s.title, s.cases);

const utf8 = sections.find((s) => s.n === '6')!.cases;

/**
 * 6.4.x fail fast: the error must come out of the receive() that delivers the first bad byte,
 * before the rest of the frame or message arrives.
 */
describe.each<WsRole>(['server', 'client'])('6.4 fail fast on invalid UTF-8 (%s under test)', (role) => {
  test.each(failFastCases(role))('%s', (_id, chunks) => {
    const r = echoRun(role, chunks.slice(0, 2));
    expect(r.events.map((e) => e.type)).toEqual(['error', 'close']);
    expect(r.events[0]).toMatchObject({ type: 'error', error: { code: 'ERR_WS_UTF8', closeCode: 1007 } });
    expect(norm(echoRun(role, chunks).events)).toEqual(norm(r.events));
  });

  test('every invalid case of section 6 fails exactly at the byte where a streaming decoder does', () => {
    const oracleBad = (p: Uint8Array): number => {
      for (let k = 1; k <= p.length; k++) {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(0, k), { stream: true });
        } catch {
          return k - 1;
        }
      }
      return -1; // only truncated at the end
    };
    let checked = 0;
    for (const c of Object.values(utf8)) {
      if (!('fail' in c.expect[0]!) || c.frames.length !== 1) continue;
      const p = c.frames[0]!.payload as Uint8Array;
      const wire = rawFrame({ op: TEXT, payload: p }, role);
      const start = wire.length - p.length;
      const r = echoRun(role, [wire.subarray(0, start), ...Array.from(wire.subarray(start), (x) => Uint8Array.of(x))]);
      const bad = oracleBad(p);
      const at = r.events.findIndex((e) => e.type === 'error');
      // with one receive() per payload byte, event k belongs to byte k (no other events precede)
      expect(at).toBe(0);
      const detail = (r.events[0] as unknown as { error: { detail: { offset: number } } }).error.detail;
      expect(detail.offset).toBe(bad >= 0 ? bad : p.length);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });
});
