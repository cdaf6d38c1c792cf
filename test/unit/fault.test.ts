/** Datagram fault injection: the lws rule syntax, seeded replay, patterns, typed errors. */
import { FaultInjector, FaultSpecError, parseFaultRules } from '../../src/net/fault.js';

test('parses lws-style rules', () => {
  expect(parseFaultRules('dns/udp_tx_loss(30%), sntp/udp_rx_loss(.1100),*/udp_tx_loss')).toEqual([
    { socket: 'dns', fault: 'udp_tx_loss', percent: 30 },
    { socket: 'sntp', fault: 'udp_rx_loss', pattern: [true, true, false, false] },
    { socket: '*', fault: 'udp_tx_loss', percent: 100 },
  ]);
});

test.each(['dns/udp_tx_loss(101%)', 'dns/tcp_loss(5%)', 'udp_tx_loss(5%)', 'dns/udp_rx_loss(.12)', 'dns/udp_rx_loss(5)'])(
  '%s is refused with ERR_FAULT_SPEC',
  (spec) => {
    expect(() => parseFaultRules(spec)).toThrow(FaultSpecError);
    try {
      parseFaultRules(spec);
    } catch (e) {
      expect((e as FaultSpecError).code).toBe('ERR_FAULT_SPEC');
    }
  },
);

test('a pattern repeats exactly', () => {
  const f = new FaultInjector('sntp/udp_rx_loss(.110)');
  expect(Array.from({ length: 7 }, () => f.drop('sntp', 'udp_rx_loss'))).toEqual([true, true, false, true, true, false, true]);
  expect(f.drop('sntp', 'udp_tx_loss')).toBe(false);
  expect(f.drop('dns', 'udp_rx_loss')).toBe(false);
});

test('percentages: the same seed replays the same drops, per socket, whatever else happens', () => {
  const a = new FaultInjector('*/udp_tx_loss(30%)', 42);
  const b = new FaultInjector('*/udp_tx_loss(30%)', 42);
  const seqA = Array.from({ length: 200 }, () => a.drop('dns', 'udp_tx_loss'));
  // b interleaves another socket's traffic: dns's stream must not change
  const seqB = Array.from({ length: 200 }, () => (b.drop('dhcp', 'udp_tx_loss'), b.drop('dns', 'udp_tx_loss')));
  expect(seqB).toEqual(seqA);
  const dropped = seqA.filter(Boolean).length;
  expect(dropped).toBeGreaterThan(30);
  expect(dropped).toBeLessThan(90);
  expect(a.stats()['dns/udp_tx_loss']).toEqual({ seen: 200, dropped });
  const c = new FaultInjector('*/udp_tx_loss(30%)', 43);
  expect(Array.from({ length: 200 }, () => c.drop('dns', 'udp_tx_loss'))).not.toEqual(seqA);
});

test('a rule naming the socket wins over "*"; no rules means nothing is dropped', () => {
  const f = new FaultInjector('*/udp_tx_loss, dns/udp_tx_loss(0%)');
  expect(f.drop('dns', 'udp_tx_loss')).toBe(false);
  expect(f.drop('sntp', 'udp_tx_loss')).toBe(true);
  const none = new FaultInjector();
  expect(none.active).toBe(false);
  expect(none.drop('dns', 'udp_tx_loss')).toBe(false);
});
