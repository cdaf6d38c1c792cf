/** UDP transactions: retransmit on the retry policy's schedule, a reply stops it, give up typed. */
import { Context } from '../../src/loop/context.js';
import { makeRetryPolicy } from '../../src/loop/retry.js';
import { UdpTimeoutError, UdpTransaction } from '../../src/net/udp-transaction.js';
import { VirtualHost } from '../vectors/virtual-host.js';

function make() {
  const host = new VirtualHost();
  const ctx = new Context({
    host,
    board: { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' }, ops: {} },
  });
  return { host, ctx };
}

// jitter 1 %: small and deterministic enough to read the schedule off the table
const policy = makeRetryPolicy({ table: [300, 500, 700], conceal: 3, jitterPercent: 1 });

test('retransmits per the table, then fails with ERR_UDP_TIMEOUT after the last wait', async () => {
  const { host, ctx } = make();
  await host.run();
  const sentAt: number[] = [];
  const errors: UdpTimeoutError[] = [];
  const t0 = host.nowUs();
  const txn = new UdpTransaction(ctx, policy, () => sentAt.push(host.nowUs() - t0), (e) => errors.push(e), 'test query');
  txn.start();
  await host.run();
  // conceal 3: three retransmissions after the first send, then one last wait
  expect(sentAt.length).toBe(4);
  expect(txn.transmissions).toBe(4);
  const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] as number));
  [300, 500, 700].forEach((ms, i) => {
    expect(gaps[i]).toBeGreaterThanOrEqual(ms * 1000);
    expect(gaps[i]).toBeLessThan(ms * 1010 + 1);
  });
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(UdpTimeoutError);
  expect(errors[0]?.code).toBe('ERR_UDP_TIMEOUT');
  expect(errors[0]?.detail).toEqual({ what: 'test query', transmissions: 4 });
  expect(txn.active).toBe(false);
});

test('a reply (done) stops retransmission and the timeout', async () => {
  const { host, ctx } = make();
  let sends = 0;
  const errors: unknown[] = [];
  const txn = new UdpTransaction(ctx, policy, () => { sends++; if (sends === 2) txn.done(); }, (e) => errors.push(e), 'q');
  txn.start();
  await host.run();
  expect(sends).toBe(2);
  expect(errors).toEqual([]);
  expect(host.wakeAt).toBeUndefined();
});

test('a restarted transaction starts its retry count afresh', async () => {
  const { host, ctx } = make();
  let sends = 0;
  let fails = 0;
  const txn = new UdpTransaction(ctx, policy, () => { sends++; }, () => { fails++; }, 'q');
  txn.start();
  await host.run();
  txn.start();
  await host.run();
  expect(sends).toBe(8);
  expect(fails).toBe(2);
});
