/**
 * `npm start`: boot a simulated device and print its timeline; Ctrl-C steps it to
 * CONTEXT_DESTROYING and exits. No outside network, no root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { logLevelFromName } from '../../../src/loop/log.js';
import type { LogLevel } from '../../../src/loop/log.js';
import { LwsxError } from '../../../src/util/errors.js';
import { runInNetns } from './netns-run.js';
import { Simulator } from './simulator.js';
import type { SimEvent, SimNetwork } from './simulator.js';

const USAGE = `usage: npm start -- [options]
  --board NAME|FILE        board under targets/NAME/board.json, or a board file (default host-sim)
  --policy FILE            Secure Streams policy (default: the board's)
  --log-level LEVEL        err, warn, notice, info or debug (default notice)
  --fault-injection RULES  drop datagrams, lws style: "dns/udp_tx_loss(30%),sntp/udp_rx_loss(.1100)"
  --fault-seed N           seed for the fault PRNGs, so a run replays exactly (default 1)
  --network KIND           where DNS and NTP come from: embedded (the simulator's own responders,
                           default), system (/etc/resolv.conf), dhcp (a lease on --ifname)
  --ifname IF              the interface DHCP runs on (--network dhcp)
  --ntp-server NAME        put NAME in the NTP_SERVER blob (it is resolved through DNS)
  --netns                  (root) boot inside a network namespace against real dnsmasq (DHCP,
                           DNS) and chrony (NTP) in a second one
  --json                   one JSON event per line instead of the timeline
  --exit-when-operational  exit 0 once the device reaches OPERATIONAL
  -h, --help               this text`;

/** The repo root: the first folder above this file holding package.json (works from dist/ too). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the lwsx repository root');
    dir = up;
  }
  return dir;
}

function boardFile(arg: string): string {
  if (arg.endsWith('.json') || arg.includes('/')) return resolve(arg);
  return resolve(repoRoot(), 'targets', arg, 'board.json');
}

function pad(ms: number): string {
  return `+${ms.toFixed(2)} ms`.padStart(13);
}

function printTimeline(e: SimEvent): void {
  switch (e.type) {
    case 'boot':
      console.log(`lwsx: booting ${e.board} ${e.serial} (${e.deviceType}, firmware ${e.firmwareVersion}) on the ${e.host} host${e.boot > 1 ? ` — boot #${e.boot}` : ''}`);
      break;
    case 'state':
      if (e.kind === 'held') console.log(`${pad(e.sinceBootMs)}  ${e.state.padEnd(20)} held by ${e.heldBy}`);
      else if (e.kind === 'error') console.log(`${pad(e.sinceBootMs)}  ${e.state.padEnd(20)} refused: ${e.error}`);
      else console.log(`${pad(e.sinceBootMs)}  ${e.state}`);
      break;
    case 'log':
      console.log(`${pad(e.sinceBootMs)}  [${e.level}] ${e.subsystem}: ${e.msg}${e.fields ? ' ' + JSON.stringify(e.fields) : ''}`);
      break;
    case 'board':
      console.log(`               board op ${e.what} ${JSON.stringify(e.fields)}`);
      break;
    case 'error':
      console.error(`lwsx: error ${e.code}: ${e.message}`);
      break;
    case 'operational':
      console.log(`lwsx: OPERATIONAL after ${e.sinceBootMs.toFixed(2)} ms${exitWhenOperational ? '' : ' — idling, Ctrl-C to stop'}`);
      break;
    case 'destroyed':
      console.log('lwsx: device destroyed, bye');
      break;
  }
}

let exitWhenOperational = false;

/** The --network choice, or why it is wrong. */
function simNetwork(kind: string, ifname: string | undefined): SimNetwork | string {
  if (kind === 'embedded' || kind === 'system') return { kind };
  if (kind !== 'dhcp') return '--network must be embedded, system or dhcp';
  if (!ifname || !/^[\w.-]{1,15}$/.test(ifname)) return '--network dhcp needs --ifname IF';
  let mac: string;
  try {
    mac = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  } catch {
    return `interface ${ifname} does not exist here`;
  }
  return { kind: 'dhcp', ifname, mac };
}

async function main(): Promise<number | undefined> {
  let args;
  try {
    args = parseArgs({
      options: {
        board: { type: 'string', default: 'host-sim' },
        policy: { type: 'string' },
        'log-level': { type: 'string', default: 'notice' },
        'fault-injection': { type: 'string' },
        'fault-seed': { type: 'string', default: '1' },
        network: { type: 'string', default: 'embedded' },
        ifname: { type: 'string' },
        'ntp-server': { type: 'string' },
        netns: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'exit-when-operational': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`lwsx: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const level = logLevelFromName(args['log-level'] as string);
  if (!level) {
    console.error(`lwsx: error ERR_LOG_LEVEL: --log-level must be err, warn, notice, info or debug\n${USAGE}`);
    return 2;
  }
  const faultSeed = Number(args['fault-seed']);
  if (!Number.isInteger(faultSeed) || faultSeed < 0 || faultSeed > 0xffffffff) {
    console.error(`lwsx: error ERR_FAULT_SEED: --fault-seed must be an integer 0..4294967295\n${USAGE}`);
    return 2;
  }
  if (args.netns) {
    // everything but --netns is passed on to the simulator run inside the namespace
    const passOn = process.argv.slice(2).filter((a) => a !== '--netns');
    return runInNetns(fileURLToPath(import.meta.url), passOn);
  }
  const network = simNetwork(args.network as string, args.ifname as string | undefined);
  if (typeof network === 'string') {
    console.error(`lwsx: error ERR_NETWORK: ${network}\n${USAGE}`);
    return 2;
  }
  exitWhenOperational = args['exit-when-operational'] as boolean;
  const json = args.json as boolean;
  const print = json ? (e: SimEvent) => console.log(JSON.stringify(e)) : printTimeline;

  const sim = new Simulator({
    boardFile: boardFile(args.board as string),
    ...(args.policy ? { policyFile: args.policy as string } : {}),
    logLevel: level as LogLevel,
    ...(args['fault-injection'] ? { faults: args['fault-injection'] as string } : {}),
    faultSeed,
    network,
    ...(args['ntp-server'] ? { ntpServer: args['ntp-server'] as string } : {}),
    onEvent: (e) => {
      print(e);
      if (e.type === 'error') {
        // a boot step failed for good: the device cannot become operational
        sim.stop();
        process.exitCode = 1;
      } else if (e.type === 'operational' && exitWhenOperational) sim.stop();
    },
  });
  try {
    await sim.start();
  } catch (e) {
    if (e instanceof LwsxError) {
      console.error(`lwsx: error ${e.code}: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const stop = (): void => sim.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}

const rc = await main();
if (rc !== undefined) process.exitCode = rc;
