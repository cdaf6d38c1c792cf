/**
 * HTTP/1.1 server requests/s under a load generator: lwsx's HttpServer (a Context on the Node
 * host) against node:http, each in a child process of its own (bench/http-server.child.ts),
 * both answering 200 with a 13-byte body on kept-alive connections. The load is h2load from
 * nghttp2, the same for both: ROUNDS alternating runs of REQUESTS requests over CONNECTIONS
 * connections on one thread, one request in flight per connection, then again pipelined
 * PIPELINE deep. Each figure is the median of its rounds; ratio = lwsx ÷ node:http.
 * Without h2load the bench says why and skips.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { which } from '../test/peers/proc.js';

const REQUESTS = 100_000;
const CONNECTIONS = 50;
const PIPELINE = 16;
const ROUNDS = 3;

type Kind = 'lwsx' | 'node';

interface Server {
  port: number;
  child: ChildProcess;
}

function start(kind: Kind): Promise<Server> {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'http-server.child.js'), kind], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    let out = '';
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`${kind} server exited (${code}) before listening: ${out}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) ok({ port: Number(m[1]), child });
    });
  });
}

function stop(s: Server): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    s.child.once('exit', () => r());
    s.child.stdin?.end();
  });
}

/** One h2load run; resolves with requests/s, after checking every request got a 2xx. */
async function load(h2load: string, port: number, requests: number, pipeline: number): Promise<number> {
  const args = ['--h1', '-n', String(requests), '-c', String(CONNECTIONS), '-t', '1', '-m', String(pipeline), `http://127.0.0.1:${port}/`];
  const { stdout } = await promisify(execFile)(h2load, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  const rate = /finished in [^,]+, ([\d.]+) req\/s/.exec(stdout);
  const done = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  const codes = /status codes: (\d+) 2xx/.exec(stdout);
  if (!rate || !done || !codes) throw new Error(`h2load output not understood:\n${stdout}`);
  if (Number(done[3]) !== requests || Number(codes[1]) !== requests) throw new Error(`h2load: not every request succeeded with 2xx:\n${stdout}`);
  return Number(rate[1]);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const num = (x: number): string => Math.round(x).toLocaleString('en-US');

export async function main(): Promise<void> {
  console.log(`\nHTTP/1.1 server, 200 + 13-byte body, keep-alive: h2load --h1 -c ${CONNECTIONS} -t 1, ${num(REQUESTS)} requests, median of ${ROUNDS} (servers in child processes)`);
  const h2load = which('h2load');
  if (!h2load) {
    console.log('  skipped: h2load not found (Debian nghttp2-client; run: bash .ci/install-peers)');
    return;
  }
  const lwsx = await start('lwsx');
  const node = await start('node');
  try {
    console.log(`${'requests in flight'.padEnd(22)} ${'lwsx req/s'.padStart(12)} ${'node req/s'.padStart(12)} ${'lwsx ÷ node'.padStart(12)}`);
    for (const pipeline of [1, PIPELINE]) {
      // warm both up, so neither is measured while V8 still compiles it
      await load(h2load, lwsx.port, REQUESTS / 5, pipeline);
      await load(h2load, node.port, REQUESTS / 5, pipeline);
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        ours.push(await load(h2load, lwsx.port, REQUESTS, pipeline));
        theirs.push(await load(h2load, node.port, REQUESTS, pipeline));
      }
      const label = pipeline === 1 ? `1 per connection` : `${pipeline} pipelined`;
      const a = median(ours);
      const b = median(theirs);
      console.log(`${label.padEnd(22)} ${num(a).padStart(12)} ${num(b).padStart(12)} ${(a / b).toFixed(2).padStart(12)}`);
    }
  } finally {
    await Promise.all([stop(lwsx), stop(node)]);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
