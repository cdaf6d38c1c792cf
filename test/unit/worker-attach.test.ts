/**
 * The attach proof: a worker_thread, holding only the mailbox's SharedArrayBuffer and the
 * loop's wakeTarget(), asks for a callback with AttachClient + nodeWaker; the main thread's
 * NodeHost runs its loop because the wake datagram arrived (no timer is ever armed here), the
 * loop drains the mailbox and the handler runs on the main thread once the state is reached.
 */
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, threadId } from 'node:worker_threads';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { AttachMailbox } from '../../src/system/attach.js';
import { SysState } from '../../src/system/states.js';
import { bundleWorker } from '../fixtures/bundle-worker.js';
import type { BundledWorker } from '../fixtures/bundle-worker.js';
import { waitFor } from '../helpers/wait.js';

interface Call { channel: number; arg: number; mainThread: boolean; threadId: number; state: number; wakeRuns: number; timerRuns: number; timerArmed: boolean }

let bundle: BundledWorker;
beforeAll(() => {
  bundle = bundleWorker(fileURLToPath(new URL('../fixtures/attach-producer.ts', import.meta.url)));
});
afterAll(() => bundle.dispose());

/** A stand-in for the Context: a state, attach handlers per channel, and held requests. */
function miniLoop(host: NodeHost, box: AttachMailbox) {
  const loop = {
    state: 0,
    calls: [] as Call[],
    held: [] as Array<{ channel: number; targetState: number; arg: number }>,
    handlers: new Map<number, (arg: number) => void>(),
    run(): void {
      box.drain((channel, targetState, arg) => loop.held.push({ channel, targetState, arg }));
      // requests whose state has been reached run now, in order; the rest wait
      const due = loop.held.filter((r) => r.targetState <= loop.state);
      loop.held = loop.held.filter((r) => r.targetState > loop.state);
      for (const r of due) loop.handlers.get(r.channel)?.(r.arg);
    },
  };
  for (const channel of [1, 2]) {
    loop.handlers.set(channel, (arg) => loop.calls.push({
      channel, arg, mainThread: isMainThread, threadId, state: loop.state,
      wakeRuns: host.stats.wakeRuns, timerRuns: host.stats.timerRuns, timerArmed: host.wakeTimerUs !== undefined,
    }));
  }
  host.setLoopRunner(() => loop.run());
  return loop;
}

function runWorker(data: Record<string, unknown>): Promise<void> {
  const w = new Worker(bundle.file, { workerData: { mode: 'request', ...data } });
  return new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
  });
}

test('a worker asks; the wakeup datagram runs the loop; the handler runs on the main thread', async () => {
  const host = await NodeHost.open();
  try {
    const box = AttachMailbox.create(8);
    const loop = miniLoop(host, box);
    loop.state = 5;
    await runWorker({ sab: box.buffer, target: host.wakeTarget(), channel: 1, state: 3, arg: 1234 });
    await waitFor('the callback', () => loop.calls.length === 1);
    expect(loop.calls[0]).toEqual({ channel: 1, arg: 1234, mainThread: true, threadId: 0, state: 5, wakeRuns: 1, timerRuns: 0, timerArmed: false });
    expect(box.pending).toBe(0);
    expect(box.dropped).toBe(0);
  } finally {
    host.close();
  }
});

test('a request for a state not reached yet waits for it', async () => {
  const host = await NodeHost.open();
  try {
    const box = AttachMailbox.create(8);
    const loop = miniLoop(host, box);
    loop.state = 2;
    await runWorker({ sab: box.buffer, target: host.wakeTarget(), channel: 2, state: 7, arg: -5 });
    await waitFor('the wakeup', () => host.stats.wakeRuns === 1);
    expect(loop.calls).toEqual([]);
    expect(loop.held).toEqual([{ channel: 2, targetState: 7, arg: -5 }]);
    // the system reaches the state on the loop thread; the next loop run hands it over
    loop.state = 7;
    host.wakeup();
    await waitFor('the callback', () => loop.calls.length === 1);
    expect(loop.calls[0]).toMatchObject({ channel: 2, arg: -5, mainThread: true, state: 7, timerRuns: 0, timerArmed: false });
  } finally {
    host.close();
  }
});

test("the Context's own mailbox: a worker's request runs on the loop once the device is OPERATIONAL", async () => {
  const host = await NodeHost.open();
  let release: (t: string) => void = () => {};
  const ctx = new Context({
    host,
    board: {
      description: { board: 't', identity: { serial: 'W-1', firmwareVersion: '1', deviceType: 'w' }, interfaces: 'preconfigured' },
      ops: {},
      // the policy arrives only when the test says so: the request has to wait for it
      loadPolicy: () => new Promise<string>((r) => { release = r; }),
    },
  });
  try {
    const seen: Array<{ arg: number; state: string; mainThread: boolean }> = [];
    ctx.onAttach(9, (arg) => seen.push({ arg, state: ctx.system.state.stateName, mainThread: isMainThread }));
    await runWorker({ sab: ctx.attachMailbox.buffer, target: host.wakeTarget(), channel: 9, state: SysState.OPERATIONAL, arg: 77 });
    await waitFor('the wakeup', () => host.stats.wakeRuns >= 1 && ctx.system.state.stateName === 'CPD_POST_TIME');
    expect(seen).toEqual([]);
    release('{"s":[]}');
    await waitFor('the callback', () => seen.length === 1);
    expect(seen).toEqual([{ arg: 77, state: 'OPERATIONAL', mainThread: true }]);
  } finally {
    ctx.destroy();
  }
});
