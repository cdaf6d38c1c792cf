/**
 * The wsi's write path and validity timer on real loopback sockets (NodeHost): what a handler
 * queues while one read's events are handled leaves in one socket write, in order, also when
 * the handler closes the wsi or the machine finishes; sends outside a handler go out at once.
 * Validity: the timer is not moved on every read, so it may fire before a postponed deadline;
 * the ping and the hang-up must still come exactly when due (driven by a skewed host clock, so
 * nothing here depends on how fast the machine is).
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { Wsi } from '../../src/loop/wsi.js';
import type { WsiCallbacks, WsiMachine } from '../../src/loop/wsi.js';
import type { Bytes, TCP, TcpOptions } from '../../src/net/host.js';
import type { LwsxError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/wait.js';

/** Sends what it is given; each received chunk is one event; `closed` when told to finish. */
class RawMachine implements WsiMachine<Uint8Array> {
  out: Uint8Array[] = [];
  pings = 0;
  closed = false;
  send(s: string): void { this.out.push(new Uint8Array(Buffer.from(s, 'latin1'))); }
  receive(bytes: Uint8Array): Uint8Array[] { return [bytes.slice()]; }
  pendingOutput(): Uint8Array[] { return this.out.splice(0); }
  nextDeadlineUs(): number | undefined { return undefined; }
  onTimer(): Uint8Array[] { return []; }
  validityPing(): void { this.pings++; this.send('P'); }
}

/** The Node host with a clock that can be pushed forward, and a record of every socket write. */
class TestHost extends NodeHost {
  skewUs = 0;
  readonly writes: number[] = [];
  override nowUs(): number {
    return super.nowUs() + this.skewUs;
  }
  override tcp(opts: TcpOptions): ReturnType<NodeHost['tcp']> {
    const s = super.tcp(opts);
    const write = s.write.bind(s);
    s.write = (d: Bytes): number => {
      this.writes.push(d.byteLength);
      return write(d);
    };
    return s;
  }
}

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let host: TestHost;
let ctx: Context;
let srv: Server;
let peer: Socket | undefined;
let got = '';
let ended = false;

beforeEach(async () => {
  host = new TestHost();
  await host.ready();
  ctx = new Context({ host, board });
  got = '';
  ended = false;
  peer = undefined;
  srv = createServer((c) => {
    peer = c;
    c.on('data', (d) => { got += d.toString('latin1'); });
    c.on('end', () => { ended = true; c.end(); });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
});
afterEach(async () => {
  ctx.destroy();
  peer?.destroy();
  await new Promise((r) => srv.close(r));
});

function connect(onEvents: WsiCallbacks<Uint8Array>['onEvents'], m = new RawMachine(), validity?: { secsSinceValidPing: number; secsSinceValidHangup: number }) {
  const closes: Array<LwsxError | undefined> = [];
  let up = false;
  const port = (srv.address() as { port: number }).port;
  const w = Wsi.connect(ctx, { host: '127.0.0.1', port, machine: m, ...(validity ? { validity } : {}), callbacks: { onConnected: () => { up = true; }, onEvents, onClose: (_w, e) => { closes.push(e); } } });
  return { w, m, closes, isUp: () => up && peer !== undefined };
}

test('what a handler sends while one read is handled leaves in one write, in order', async () => {
  const c = connect((w, _ev) => {
    const m = c.m;
    let queued = 0;
    for (const piece of ['one,', 'two,', 'three']) {
      m.send(piece);
      w.flush();
      // queued, not yet written: the handler is still running
      queued += piece.length;
      expect(w.backlogBytes).toBe(queued);
    }
  });
  await waitFor('connected', c.isUp);
  const before = host.writes.length;
  (peer as Socket).write('go');
  await waitFor('the reply', () => got === 'one,two,three');
  expect(host.writes.slice(before)).toEqual([13]);
  expect(c.w.backlogBytes).toBe(0);
});

test('sends outside a handler go out at once, one write each', async () => {
  const c = connect(() => {});
  await waitFor('connected', c.isUp);
  const before = host.writes.length;
  c.m.send('a');
  c.w.flush();
  expect(c.w.backlogBytes).toBe(0);
  c.m.send('bc');
  c.w.flush();
  expect(host.writes.slice(before)).toEqual([1, 2]);
  await waitFor('both', () => got === 'abc');
});

test('a handler that queues and then closes the wsi: the queued bytes reach the peer before FIN', async () => {
  const c = connect((w) => {
    c.m.send('bye');
    w.flush();
    w.close();
  });
  await waitFor('connected', c.isUp);
  (peer as Socket).write('x');
  await waitFor('FIN', () => ended);
  expect(got).toBe('bye');
  expect(c.closes).toEqual([undefined]);
});

test('a handler that sends without flushing and then closes the wsi: the reply still reaches the peer', async () => {
  // as a ws.send() inside a message handler: it only queues in the machine, the wsi flushes after
  const c = connect((w) => {
    c.m.send('reply');
    w.close();
  });
  await waitFor('connected', c.isUp);
  (peer as Socket).write('x');
  await waitFor('FIN', () => ended);
  expect(got).toBe('reply');
  expect(c.closes).toEqual([undefined]);
});

test('a machine that finishes inside a handler is closed once its last output is written', async () => {
  const c = connect((w) => {
    c.m.send('last words');
    c.m.closed = true;
    w.flush();
    expect(w.isClosed).toBe(false);
  });
  await waitFor('connected', c.isUp);
  (peer as Socket).write('x');
  await waitFor('FIN', () => ended);
  expect(got).toBe('last words');
  expect(c.closes).toEqual([undefined]);
});

/** Moves the host clock forward and runs the loop once, as the wake timer would. */
async function advance(us: number): Promise<void> {
  host.skewUs += us;
  const runs = host.stats.wakeRuns;
  host.wakeup();
  await waitFor('a loop run', () => host.stats.wakeRuns > runs);
}

test('validity: proof of life postpones the ping, also when the timer was armed for the earlier deadline; ping and hang-up come when due', async () => {
  const c = connect(() => {}, new RawMachine(), { secsSinceValidPing: 10, secsSinceValidHangup: 20 });
  await waitFor('connected', c.isUp);
  // count what reaches the machine, to know a read has happened
  let reads = 0;
  const receive = c.m.receive.bind(c.m);
  c.m.receive = (b: Uint8Array): Uint8Array[] => { reads++; return receive(b); };
  const rx = async (s: string): Promise<void> => {
    const n = reads;
    (peer as Socket).write(s);
    await waitFor('the read', () => reads > n);
  };
  await rx('a'); // proof at T
  await advance(6_000_000);
  await rx('b'); // proof at T+6 s: the ping is now due at T+16 s
  await advance(5_000_000); // T+11 s: past the first deadline, not the new one
  expect(c.m.pings).toBe(0);
  await advance(6_000_000); // T+17 s
  expect(c.m.pings).toBe(1);
  await waitFor('the ping at the peer', () => got.includes('P'));
  await advance(8_000_000); // T+25 s: pinged, not yet the hang-up (T+6+20 s)
  expect(c.closes).toEqual([]);
  await advance(2_000_000); // T+27 s
  await waitFor('hang-up', () => c.closes.length === 1);
  expect(c.closes[0]).toMatchObject({ code: 'ERR_VALIDITY_TIMEOUT' });
  expect(c.m.pings).toBe(1);
});
