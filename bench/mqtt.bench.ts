/**
 * MQTT through one mosquitto on loopback, lwsx against mqtt.js measured in the same run:
 *
 * - throughput: 20,000 × 64-byte messages published by one client and received by a subscriber
 *   client in the same process, QoS 0 and QoS 1, MQTT 3.1.1 and 5.0; the clock runs from the first
 *   publish to the last message received. Each figure is the median of REPEATS runs. lwsx's two
 *   clients share one Context on a NodeHost; both sides publish everything at once (lwsx with a
 *   queue and in-flight window wide enough to hold it, as mqtt.js has no window) and 5.0
 *   subscribers take 65,535 unacknowledged messages (mqtt.js's default Receive Maximum).
 * - memory per idle connected client: N clients connected and idle, (heap + external) after
 *   gc, minus before, over N; in a child process run with --expose-gc, the same way for both,
 *   and for a bare node:net socket that did CONNECT (what both pay for their socket).
 * - the broker's own ceiling: the same flow through a client that does next to nothing (the
 *   PUBLISHes pre-encoded and written at once; the subscriber counts bytes at QoS 0, and at QoS 1
 *   walks the packets and answers each chunk's PUBACKs in one write), so what part of the time is
 *   mosquitto's shows: a client at 100 % of it costs the flow nothing.
 * - CPU per message: this process's CPU time (both clients, not the broker) over the messages,
 *   for lwsx and mqtt.js in the same runs: what the client costs whatever the broker's pace.
 *
 * Prints msg/s and bytes for each beside the ratio lwsx ÷ mqtt.js (throughput: above 1 is
 * faster; memory and CPU: below 1 is smaller). Without mosquitto it says why and skips. The
 * XS compute units to encode and parse a PUBLISH are in xs.bench.ts (bench/xs/mqtt.entry.ts).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { MqttClient as MqttJs } from 'mqtt';
import { NodeHost } from '../hosts/node/host.js';
import { Context } from '../src/loop/context.js';
import { MqttClient } from '../src/protocols/mqtt/mqtt-client.js';
import type { MqttClientHandlers, MqttClientOptions } from '../src/protocols/mqtt/mqtt-client.js';
import { encodePacket } from '../src/protocols/mqtt/encode.js';
import type { MqttPacket, MqttVersion, QoS } from '../src/protocols/mqtt/packet.js';
import { startMosquitto } from '../test/peers/mosquitto.js';
import { which } from '../test/peers/proc.js';

const board = { description: { board: 'bench', identity: { serial: 'b', firmwareVersion: '1', deviceType: 'bench' }, interfaces: 'preconfigured' as const }, ops: {} };
const TOTAL = 20_000;
const SIZE = 64;
const REPEATS = 5;
const IDLE_CLIENTS = 200;
const PAYLOAD = new Uint8Array(SIZE).fill(0x5a);
const PAYLOAD_BUF = Buffer.from(PAYLOAD);

let runs = 0;
const topic = (): string => `bench/${process.pid}/${++runs}`;

interface Run {
  /** messages per second, first publish to last message received */
  rate: number;
  /** this process's CPU time (user + system) per message, µs: both clients' work, not the broker's */
  cpuUs: number;
}

/** Starts the clock and the CPU meter for `total` messages. */
function measure(total: number): () => Run {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  return () => {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    return { rate: total / secs, cpuUs: (c.user + c.system) / total };
  };
}

/** A lost message would hang the bench: give up after a minute, saying how many arrived. */
function within(p: Promise<void>, got: () => number, total: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`mqtt bench: ${got()} of ${total} messages arrived in 60 s`)), 60_000);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

function lwsxClient(ctx: Context, port: number, version: MqttVersion, extra: Partial<MqttClientOptions>, h: MqttClientHandlers = {}): Promise<MqttClient> {
  return new Promise((ok, fail) => {
    const c = new MqttClient(ctx, { host: '127.0.0.1', port, version, keepAlive: 60, ...extra }, {
      ...h,
      onConnect: () => ok(c),
      onDisconnect: (_c, err) => fail(err ?? new Error('mqtt: disconnected')),
    });
  });
}

/** msg/s for lwsx: publisher and subscriber on one Context. */
async function lwsxRate(port: number, version: MqttVersion, qos: QoS, total: number): Promise<Run> {
  const ctx = new Context({ host: await NodeHost.open(), board });
  try {
    let got = 0;
    let done: (() => void) | undefined;
    let subscribed: (() => void) | undefined;
    const sub = await lwsxClient(ctx, port, version, version === 5 ? { receiveMaximum: 0xffff } : {}, {
      onMessage: () => {
        if (++got === total) done?.();
      },
      onSuback: () => subscribed?.(),
    });
    const pub = await lwsxClient(ctx, port, version, { queue: { max: total }, maxInflight: 0xffff });
    const t = topic();
    await new Promise<void>((ok) => {
      subscribed = ok;
      sub.subscribe(t, qos);
    });
    const received = new Promise<void>((ok) => (done = ok));
    const stop = measure(total);
    for (let i = 0; i < total; i++) pub.publish(t, PAYLOAD, { qos });
    await within(received, () => got, total);
    const run = stop();
    sub.end();
    pub.end();
    return run;
  } finally {
    ctx.destroy();
  }
}

function jsClient(port: number, version: MqttVersion): Promise<MqttJs> {
  return new Promise((ok, fail) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: version, reconnectPeriod: 0, keepalive: 60 });
    c.once('connect', () => ok(c));
    c.once('error', fail);
  });
}

/** msg/s for mqtt.js: publisher and subscriber clients in this process. */
async function jsRate(port: number, version: MqttVersion, qos: QoS, total: number): Promise<Run> {
  const sub = await jsClient(port, version);
  const pub = await jsClient(port, version);
  const t = topic();
  await new Promise<void>((ok, fail) => sub.subscribe(t, { qos }, (err) => (err ? fail(err) : ok())));
  let got = 0;
  const received = new Promise<void>((ok) => sub.on('message', () => {
    if (++got === total) ok();
  }));
  const stop = measure(total);
  for (let i = 0; i < total; i++) pub.publish(t, PAYLOAD_BUF, { qos });
  await within(received, () => got, total);
  const run = stop();
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  return run;
}

/** A bare TCP client: CONNECT (clean, keep-alive 60) written, resolves once the CONNACK is in. */
function rawClient(port: number, version: MqttVersion, clientId: string): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect(port, '127.0.0.1', () => {
      s.setNoDelay(true);
      s.write(encodePacket({ type: 'connect', version, clientId, cleanStart: true, keepAlive: 60 } as MqttPacket, version));
      s.once('data', () => ok(s));
    });
    s.once('error', fail);
  });
}

/** msg/s through mosquitto with a client that does next to nothing: the broker's ceiling. */
async function ceilingRate(port: number, version: MqttVersion, qos: QoS, total: number): Promise<Run> {
  const t = topic();
  const sub = await rawClient(port, version, `ceil-s-${process.pid}-${runs}`);
  const pub = await rawClient(port, version, `ceil-p-${process.pid}-${runs}`);
  sub.write(encodePacket({ type: 'subscribe', packetId: 1, subscriptions: [{ filter: t, qos }] } as MqttPacket, version));
  await new Promise((r) => sub.once('data', r));
  const packets: Uint8Array[] = [];
  for (let i = 0; i < total; i++) packets.push(encodePacket({ type: 'publish', topic: t, payload: PAYLOAD, qos, retain: false, dup: false, ...(qos ? { packetId: (i % 0xffff) + 1 } : {}) } as MqttPacket, version));
  const all = Buffer.concat(packets);
  // the subscriber gets the same bytes: same topic, payload and QoS, the packet ids aside
  const expectBytes = all.length;
  let got = 0;
  let bytes = 0;
  let rest: Buffer = Buffer.alloc(0);
  const received = new Promise<void>((ok) => {
    sub.on('data', (d: Buffer) => {
      if (qos === 0) {
        bytes += d.length;
        got = Math.floor((bytes * total) / expectBytes);
        if (bytes >= expectBytes) ok();
        return;
      }
      const b = rest.length ? Buffer.concat([rest, d]) : d;
      const acks: number[] = [];
      let at = 0;
      for (;;) {
        // fixed header: type, remaining length (≤ 2 bytes here)
        if (at + 2 > b.length) break;
        let rem = (b[at + 1] as number) & 0x7f;
        let hdr = 2;
        if ((b[at + 1] as number) & 0x80) {
          if (at + 3 > b.length) break;
          rem |= ((b[at + 2] as number) & 0x7f) << 7;
          hdr = 3;
        }
        if (at + hdr + rem > b.length) break;
        if ((b[at] as number) >> 4 === 3) {
          const tl = b.readUInt16BE(at + hdr);
          acks.push(b.readUInt16BE(at + hdr + 2 + tl));
          got++;
        }
        at += hdr + rem;
      }
      rest = b.subarray(at);
      if (acks.length) {
        const out = Buffer.alloc(acks.length * 4);
        acks.forEach((id, i) => {
          out[i * 4] = 0x40;
          out[i * 4 + 1] = 2;
          out.writeUInt16BE(id, i * 4 + 2);
        });
        sub.write(out);
      }
      if (got === total) ok();
    });
  });
  pub.on('data', () => {});
  const stop = measure(total);
  pub.write(all);
  await within(received, () => got, total);
  const run = stop();
  sub.destroy();
  pub.destroy();
  return run;
}

/** Child mode: connects `n` idle clients of `impl` and prints the (heap + external) bytes each costs. */
async function memChild(impl: string, n: number, port: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const used = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const keep: unknown[] = [];
  let ctx: Context | undefined;
  // what the clients need anyway (the loop, mqtt.js's modules) is in place before the baseline
  const one = (j: number | string): Promise<unknown> =>
    ctx ? lwsxClient(ctx, port, 4, { clientId: `idle-${process.pid}-${j}` }) : impl === 'socket' ? rawClient(port, 4, `raw-${process.pid}-${j}`) : jsClient(port, 4);
  if (impl === 'lwsx') ctx = new Context({ host: await NodeHost.open(), board });
  keep.push(await one('warm'));
  await new Promise((r) => setTimeout(r, 50));
  const before = used();
  const clients: unknown[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(one(j));
    clients.push(...(await Promise.all(batch)));
  }
  // let connects settle (buffers released, timers armed) before measuring
  await new Promise((r) => setTimeout(r, 200));
  const after = used();
  process.stdout.write(`${JSON.stringify({ perClient: (after - before) / n, clients: clients.length })}\n`);
  process.exit(0);
}

function memoryPerClient(impl: 'lwsx' | 'mqtt.js' | 'socket', port: number): Promise<number> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), 'mem-child', impl, String(IDLE_CLIENTS), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`memory child (${impl}) exited ${String(code)}`));
      ok((JSON.parse(out) as { perClient: number }).perClient);
    });
  });
}

const num = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function main(): Promise<void> {
  console.log(`\nMQTT through mosquitto on loopback: ${num(TOTAL)} × ${SIZE}-byte messages, publisher and subscriber in one process (median of ${REPEATS})`);
  if (!which('mosquitto')) {
    console.log('  skipped: mosquitto is not installed (run: bash .ci/install-peers)');
    return;
  }
  const broker = await startMosquitto();
  const port = broker.ports.plain;
  try {
    console.log(`${'version'.padEnd(8)} ${'QoS'.padEnd(4)} ${'lwsx msg/s'.padStart(12)} ${'mqtt.js msg/s'.padStart(14)} ${'lwsx ÷ mqtt.js'.padStart(15)}   ${'broker ceiling'.padStart(14)} ${'lwsx'.padStart(6)} ${'mqtt.js'.padStart(8)}   ${'lwsx µs'.padStart(9)} ${'mqtt.js'.padStart(9)} ${'ratio'.padStart(7)}`);
    console.log(`${''.padEnd(60)}(% of the ceiling)        (client CPU per message, both clients)`);
    for (const version of [4, 5] as const) {
      for (const qos of [0, 1] as const) {
        // warm both up first, so neither is measured while V8 still compiles it
        await lwsxRate(port, version, qos, 2000);
        await jsRate(port, version, qos, 2000);
        await ceilingRate(port, version, qos, 2000);
        const ours: Run[] = [];
        const theirs: Run[] = [];
        const ceiling: Run[] = [];
        // interleaved, so a slow patch of the machine hits all three
        for (let i = 0; i < REPEATS; i++) {
          ours.push(await lwsxRate(port, version, qos, TOTAL));
          theirs.push(await jsRate(port, version, qos, TOTAL));
          ceiling.push(await ceilingRate(port, version, qos, TOTAL));
        }
        const a = median(ours.map((r) => r.rate));
        const b = median(theirs.map((r) => r.rate));
        const c = median(ceiling.map((r) => r.rate));
        const ca = median(ours.map((r) => r.cpuUs));
        const cb = median(theirs.map((r) => r.cpuUs));
        const pc = (x: number): string => `${Math.round((100 * x) / c)} %`;
        console.log(
          `${(version === 5 ? '5.0' : '3.1.1').padEnd(8)} ${String(qos).padEnd(4)} ${num(a).padStart(12)} ${num(b).padStart(14)} ${(a / b).toFixed(2).padStart(15)}   ${num(c).padStart(14)} ${pc(a).padStart(6)} ${pc(b).padStart(8)}   ${ca.toFixed(1).padStart(9)} ${cb.toFixed(1).padStart(9)} ${(ca / cb).toFixed(2).padStart(7)}`,
        );
      }
    }
    const ours = await memoryPerClient('lwsx', port);
    const theirs = await memoryPerClient('mqtt.js', port);
    const floor = await memoryPerClient('socket', port);
    console.log(`memory per idle connected client (${IDLE_CLIENTS} clients, heap + external after gc): lwsx ${num(ours)} B, mqtt.js ${num(theirs)} B, lwsx ÷ mqtt.js ${(ours / theirs).toFixed(2)}`);
    console.log(`  of which both pay a node:net socket: ${num(floor)} B (a bare socket that did CONNECT); above it: lwsx ${num(ours - floor)} B, mqtt.js ${num(theirs - floor)} B, ratio ${((ours - floor) / (theirs - floor)).toFixed(2)}`);
  } finally {
    await broker.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  if (process.argv[2] === 'mem-child') await memChild(process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5]));
  else await main();
}
