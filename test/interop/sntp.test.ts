/**
 * The SNTP client against chrony on loopback (`-x`: it never touches the system clock), and
 * against a small fake server for what chrony will not send (Kiss-o'-Death, unsynchronised
 * replies, replies that are not ours). The device runs on a real NodeHost with a board that
 * keeps its clock as an offset from the machine's and records every setClock.
 *
 * Numbers here are checked against bounds, never timed: the offset measured against a server
 * serving this machine's own clock must be within 50 ms of zero (or of an error we put in).
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { makeRetryPolicy } from '../../src/loop/retry.js';
import { FaultInjector } from '../../src/net/fault.js';
import { SntpClient } from '../../src/services/sntp/client.js';
import type { SntpClientOptions } from '../../src/services/sntp/client.js';
import { TimeValidNotifier } from '../../src/services/sntp/notifier.js';
import { BlobType } from '../../src/system/blob.js';
import type { Board } from '../../src/system/board.js';
import { SysState } from '../../src/system/states.js';
import type { LwsxError } from '../../src/util/errors.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { waitFor } from '../helpers/wait.js';
import { startChrony } from '../peers/chrony.js';
import type { Chrony } from '../peers/chrony.js';
import { startFakeNtp } from '../peers/fake-ntp.js';
import type { FakeBehaviour, FakeNtp } from '../peers/fake-ntp.js';
import { requirePeers } from '../peers/peers.js';

const { ok, peerTest } = requirePeers('sntp interop (chrony)', ['chronyd']);

/** short exchanges so a lost datagram costs 100–200 ms, not lws's 1–5 s */
const FAST_EXCHANGE = makeRetryPolicy({ table: [100, 150, 200], conceal: 10, jitterPercent: 10 });
const MS = 1000;

let chrony: Chrony;
let limited: Chrony;
const fakes: FakeNtp[] = [];

beforeAll(async () => {
  if (!ok) return;
  chrony = await startChrony();
  limited = await startChrony({ ratelimit: 'interval 2 burst 1' });
});

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await chrony?.stop();
  await limited?.stop();
});

interface DeviceOpts {
  /** the device clock's error at start, µs (negative: behind) */
  clockErrorUs?: number;
  blob?: string;
  faults?: FaultInjector;
  client: SntpClientOptions;
}

async function device(o: DeviceOpts) {
  const host = await NodeHost.open();
  let offsetUs = o.clockErrorUs ?? 0;
  const setClocks: Array<{ setUs: number; machineUs: number }> = [];
  const board: Board = {
    description: { board: 'interop', identity: { serial: 'I-1', firmwareVersion: '1', deviceType: 'interop' }, interfaces: 'preconfigured' },
    ops: {
      setClock: (us) => {
        setClocks.push({ setUs: us, machineUs: host.wallUs() });
        offsetUs = us - host.wallUs();
      },
      wallUs: () => host.wallUs() + offsetUs,
    },
  };
  const ctx = new Context(o.faults ? { host, board, faults: o.faults } : { host, board });
  if (o.blob) ctx.system.blobs.get(BlobType.NTP_SERVER).setDirect(utf8Encode(o.blob));
  const errors: Array<{ code: string; kiss?: unknown; server: string | undefined }> = [];
  const client = new SntpClient(ctx, {
    defaultServer: '',
    exchangePolicy: FAST_EXCHANGE,
    onError: (e: LwsxError, server) => errors.push({ code: e.code, kiss: e.detail?.['code'], server }),
    ...o.client,
  });
  const notifier = new TimeValidNotifier(ctx, { client });
  ctx.system.register(notifier);
  return { host, ctx, client, notifier, errors, setClocks, boardOffsetUs: () => offsetUs };
}

async function fake(how: FakeBehaviour): Promise<FakeNtp> {
  const f = await startFakeNtp(how);
  fakes.push(f);
  return f;
}

describe('chrony', () => {
  peerTest('a sync measures an offset within 50 ms of the machine clock, and TIME_VALID is held until it', async () => {
    const d = await device({ client: { defaultServer: `127.0.0.1:${chrony.port}` } });
    try {
      await waitFor('OPERATIONAL', () => d.ctx.system.state.state === SysState.OPERATIONAL);
      const s = d.client.last!;
      process.stdout.write(`sntp vs chrony: offset ${(s.offsetUs / MS).toFixed(3)} ms, delay ${(s.delayUs / MS).toFixed(3)} ms, stratum ${s.stratum}\n`);
      expect(Math.abs(s.offsetUs)).toBeLessThan(50 * MS);
      expect(s.delayUs).toBeGreaterThanOrEqual(-1 * MS);
      expect(s.delayUs).toBeLessThan(50 * MS);
      expect(s.stratum).toBe(8); // chrony serving its own clock at "local stratum 8"
      expect(d.setClocks).toHaveLength(1);
      expect(Math.abs(d.setClocks[0]!.setUs - d.setClocks[0]!.machineUs)).toBeLessThan(50 * MS);
      const held = d.ctx.system.state.log.filter((r) => r.kind === 'held').map((r) => `${r.toName}:${r.heldBy}`);
      expect(held).toEqual(['TIME_VALID:sntp']);
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest('a device clock 3 s behind is corrected through setClock', async () => {
    const d = await device({ clockErrorUs: -3000 * MS, client: { defaultServer: `127.0.0.1:${chrony.port}` } });
    try {
      await waitFor('sync', () => d.client.synced);
      const s = d.client.last!;
      expect(Math.abs(s.offsetUs - 3000 * MS)).toBeLessThan(50 * MS);
      expect(Math.abs(d.boardOffsetUs())).toBeLessThan(50 * MS);
      expect(Math.abs(s.stepUs - 3000 * MS)).toBeLessThan(50 * MS);
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest('rate-limited drops (ratelimit interval 2 burst 1) are retransmitted until answered', async () => {
    const d = await device({ client: { defaultServer: `127.0.0.1:${limited.port}` } });
    try {
      // six back-to-back syncs: chrony leaks one dropped request in four, so all six going through undropped is a 1-in-4096 chance
      const syncs = 6;
      for (let i = 0; i < syncs; i++) {
        if (i > 0) d.client.resync();
        await waitFor(`sync ${i + 1}`, () => d.client.stats.syncs === i + 1, 20_000);
      }
      const { transmissions } = d.client.stats;
      const timeouts = d.errors.length;
      process.stdout.write(
        `sntp vs rate-limited chrony: ${syncs} syncs took ${transmissions} transmissions (${transmissions - syncs} dropped by chrony); ` +
          `${timeouts} exchanges ran out of retransmissions and the round retried\n`,
      );
      expect(transmissions).toBeGreaterThan(syncs);
      // an exchange may use up its 11 transmissions (chrony leaks one in four at random): the round's retry covers it
      expect(d.errors.every((e) => e.code === 'ERR_UDP_TIMEOUT')).toBe(true);
      expect(Math.abs(d.client.last!.offsetUs)).toBeLessThan(50 * MS);
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest('30 % loss each way (sntp/udp_tx_loss, sntp/udp_rx_loss): 100 of 100 seeded runs converge', async () => {
    const perRun: number[] = [];
    const dropped = { tx: 0, rx: 0 };
    let converged = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const faults = new FaultInjector('sntp/udp_tx_loss(30%),sntp/udp_rx_loss(30%)', seed);
      const d = await device({ faults, client: { defaultServer: `127.0.0.1:${chrony.port}` } });
      try {
        d.client.start();
        await waitFor(`seed ${seed} sync`, () => d.client.synced, 20_000);
        converged++;
        perRun.push(d.client.stats.transmissions);
        const st = faults.stats();
        dropped.tx += st['sntp/udp_tx_loss']?.dropped ?? 0;
        dropped.rx += st['sntp/udp_rx_loss']?.dropped ?? 0;
        expect(Math.abs(d.client.last!.offsetUs)).toBeLessThan(50 * MS);
      } finally {
        d.ctx.destroy();
      }
    }
    const total = perRun.reduce((a, b) => a + b, 0);
    process.stdout.write(
      `sntp fault run vs chrony: ${converged}/100 converged; transmissions total ${total}, mean ${(total / 100).toFixed(2)}, max ${Math.max(...perRun)}; ` +
        `dropped ${dropped.tx} sent, ${dropped.rx} received\n`,
    );
    expect(converged).toBe(100);
  });
});

describe("Kiss-o'-Death and bad replies (fake server), with chrony as the next source", () => {
  peerTest.each(['DENY', 'RSTR'])('%s: the server is struck off, chrony gives the time, a resync never asks it again', async (code) => {
    const f = await fake({ kind: 'kod', code });
    const d = await device({ blob: `127.0.0.1:${f.port}`, client: { defaultServer: `127.0.0.1:${chrony.port}` } });
    try {
      d.client.start();
      await waitFor('sync', () => d.client.synced);
      expect(d.errors).toEqual([{ code: 'ERR_SNTP_KOD', kiss: code, server: `127.0.0.1:${f.port}` }]);
      expect(d.client.last?.server).toBe(`127.0.0.1:${chrony.port}`);
      d.client.resync();
      await waitFor('second sync', () => d.client.stats.syncs === 2);
      expect(f.requests).toBe(1);
      expect(d.client.sources.refusedBy(`127.0.0.1:${f.port}`)).toBe(code);
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest('RATE: the server is left alone for its penalty while chrony is used', async () => {
    const f = await fake({ kind: 'kod', code: 'RATE' });
    const d = await device({ blob: `127.0.0.1:${f.port}`, client: { defaultServer: `127.0.0.1:${chrony.port}` } });
    try {
      d.client.start();
      await waitFor('sync', () => d.client.synced);
      expect(d.errors).toEqual([{ code: 'ERR_SNTP_KOD', kiss: 'RATE', server: `127.0.0.1:${f.port}` }]);
      d.client.resync();
      await waitFor('second sync', () => d.client.stats.syncs === 2);
      expect(f.requests).toBe(1);
      expect(d.client.sources.notBefore(`127.0.0.1:${f.port}`)).toBeGreaterThan(d.host.nowUs());
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest.each<[string, FakeBehaviour, string]>([
    ['leap indicator 3 (unsynchronised)', { kind: 'time', leap: 3 }, 'ERR_SNTP_UNSYNC'],
    ['stratum 0 without a kiss code we act on (INIT)', { kind: 'kod', code: 'INIT' }, 'ERR_SNTP_UNSYNC'],
    ['stratum 16', { kind: 'time', stratum: 16 }, 'ERR_SNTP_UNSYNC'],
  ])('%s: rejected, and the time comes from chrony', async (_what, how, code) => {
    const f = await fake(how);
    const d = await device({ blob: `127.0.0.1:${f.port}`, client: { defaultServer: `127.0.0.1:${chrony.port}` } });
    try {
      d.client.start();
      await waitFor('sync', () => d.client.synced);
      expect(d.errors.map((e) => [e.code, e.server])).toEqual([[code, `127.0.0.1:${f.port}`]]);
      expect(d.setClocks).toHaveLength(1);
      expect(d.client.last?.server).toBe(`127.0.0.1:${chrony.port}`);
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest('a reply whose origin is not ours is ignored until the exchange times out', async () => {
    const f = await fake({ kind: 'bogus-origin' });
    const d = await device({ blob: `127.0.0.1:${f.port}`, client: { defaultServer: `127.0.0.1:${chrony.port}` } });
    try {
      d.client.start();
      await waitFor('sync', () => d.client.synced);
      const codes = d.errors.map((e) => e.code);
      expect(codes.filter((c) => c === 'ERR_SNTP_BOGUS').length).toBe(f.requests);
      expect(codes[codes.length - 1]).toBe('ERR_UDP_TIMEOUT');
      expect(d.client.last?.server).toBe(`127.0.0.1:${chrony.port}`);
    } finally {
      d.ctx.destroy();
    }
  });

  peerTest('an unsynchronised server alone: no time, TIME_VALID stays held', async () => {
    const f = await fake({ kind: 'time', leap: 3 });
    const d = await device({ blob: `127.0.0.1:${f.port}`, client: {} });
    try {
      await waitFor('three refusals', () => d.errors.length >= 3);
      expect(d.client.synced).toBe(false);
      expect(d.setClocks).toHaveLength(0);
      expect(d.ctx.system.state.state).toBe(SysState.CPD_PRE_TIME);
      expect(d.notifier.isHolding).toBe(true);
    } finally {
      d.ctx.destroy();
    }
  });
});
