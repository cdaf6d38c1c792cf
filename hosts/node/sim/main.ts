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
import type { SimEvent, SimNetwork, SimulatorOptions } from './simulator.js';
import type { WsClientNote } from './device-ws-client.js';
import type { MqttNote } from './device-mqtt.js';

const USAGE = `usage: npm start -- [options]
  --board NAME|FILE        board under targets/NAME/board.json, or a board file (default host-sim)
  --policy FILE            Secure Streams policy (default: the board's); SIGHUP re-reads it
                           and swaps it in at runtime (POLICY_INVALID, then back to OPERATIONAL)
  --log-level LEVEL        err, warn, notice, info or debug (default notice)
  --fault-injection RULES  drop datagrams, lws style: "dns/udp_tx_loss(30%),sntp/udp_rx_loss(.1100)"
  --fault-seed N           seed for the fault PRNGs, so a run replays exactly (default 1)
  --network KIND           where DNS and NTP come from: embedded (the simulator's own responders,
                           default), system (/etc/resolv.conf), dhcp (a lease on --ifname)
  --ifname IF              the interface DHCP runs on (--network dhcp)
  --ntp-server NAME        put NAME in the NTP_SERVER blob (it is resolved through DNS)
  --netns                  (root) boot inside a network namespace against real dnsmasq (DHCP,
                           DNS) and chrony (NTP) in a second one
  --http-port N            serve the device's status page (/), /status.json and its state stream
                           (ws /ws, subprotocol lws-state) on port N; 0 picks a free port, printed
                           in the timeline and as an "http" event, and kept across reboots
  --http-host ADDR         the address the web server listens on (default 127.0.0.1)
  --ws-connect URL         once OPERATIONAL, connect a ws client to URL (ws:// or wss://), log what
                           it receives, and reconnect on the policy's "default" retry table
  --ws-protocol NAME       the subprotocol the ws client asks for
  --ws-send TEXT           text the ws client sends each time it opens
  --ws-ca FILE             PEM or DER CA certificate(s) to trust for wss://, besides the system's
  --mqtt                   once OPERATIONAL, connect an MQTT client (to an embedded aedes broker on
                           127.0.0.1, its port printed, unless --mqtt-broker names one): retained
                           birth/will on lwsx/SERIAL/status, QoS 1 telemetry on lwsx/SERIAL/telemetry,
                           commands on lwsx/SERIAL/cmd/# (ping, reboot), replies on lwsx/SERIAL/reply
  --mqtt-broker URL        the broker: mqtt://, mqtts://, ws:// or wss:// (implies --mqtt)
  --mqtt-ca FILE           PEM or DER CA certificate(s) to trust for mqtts:// and wss://
  --mqtt-version V         3.1.1 or 5 (default 5 with --mqtt-broker; the embedded broker is 3.1.1)
  --telemetry-interval MS  ms between telemetry messages (default 5000)
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
      console.error(`lwsx: error ${e.code}: ${e.message}${where(e.detail)}`);
      break;
    case 'policy':
      if (e.result === 'replaced') console.log(`${pad(e.sinceBootMs)}  policy: replaced${e.release !== undefined ? ` (release ${e.release})` : ''}`);
      else console.error(`lwsx: policy refused, keeping the old one: ${e.code}: ${e.message}${where(e.detail)}`);
      break;
    case 'operational':
      console.log(`lwsx: OPERATIONAL after ${e.sinceBootMs.toFixed(2)} ms${exitWhenOperational ? '' : ' — idling, Ctrl-C to stop'}`);
      break;
    case 'destroyed':
      console.log('lwsx: device destroyed, bye');
      break;
    case 'http':
      console.log(`${pad(e.sinceBootMs)}  http: listening on ${e.url} (status page, /status.json, ws /ws)`);
      break;
    case 'ws-client':
      console.log(`${pad(e.sinceBootMs)}  ws-client: ${wsClientLine(e)}`);
      break;
    case 'mqtt':
      console.log(`${pad(e.sinceBootMs)}  mqtt: ${mqttLine(e)}`);
      break;
  }
}

/** " (FILE:LINE:COLUMN)" for an error that points into a file: a policy's typed errors. */
function where(detail: Record<string, unknown> | undefined): string {
  if (!detail || typeof detail['line'] !== 'number') return '';
  const file = typeof detail['file'] === 'string' ? `${detail['file']}:` : 'line ';
  return ` (${file}${detail['line']}:${detail['column'] as number})`;
}

const MAX_SHOWN = 200;

function wsClientLine(n: WsClientNote): string {
  switch (n.event) {
    case 'connecting':
      return `connecting to ${n.url}${n.attempt > 1 ? ` (attempt ${n.attempt})` : ''}`;
    case 'open':
      return 'open';
    case 'message': {
      const body = n.text ?? `(binary, base64) ${n.base64 ?? ''}`;
      return `message ${body.length > MAX_SHOWN ? `${body.slice(0, MAX_SHOWN)}… (${n.bytes} bytes)` : body}`;
    }
    case 'close':
      return `closed ${n.code}${n.reason ? ` "${n.reason}"` : ''}${n.errorCode ? ` ${n.errorCode}: ${n.error ?? ''}` : ''}`;
    case 'retry':
      return `retrying in ${n.delayMs} ms (failure ${n.failures})`;
    case 'failed':
      return `gave up: ${n.code}: ${n.message}`;
  }
}

function mqttLine(n: MqttNote): string {
  switch (n.event) {
    case 'broker':
      return `broker ${n.url}${n.embedded ? ' (embedded aedes, MQTT 3.1.1)' : ''}`;
    case 'connecting':
      return `connecting to ${n.url} as ${n.clientId} (MQTT ${n.version === 5 ? '5.0' : '3.1.1'})`;
    case 'connected':
      return `connected${n.attempt > 1 ? ` (attempt ${n.attempt})` : ''}${n.sessionPresent ? ', session resumed' : ''}`;
    case 'telemetry':
      return `telemetry #${n.seq} → ${n.topic}`;
    case 'command':
      return `command "${n.command}"${n.payload ? ` ${n.payload.length > MAX_SHOWN ? `${n.payload.slice(0, MAX_SHOWN)}…` : n.payload}` : ''}`;
    case 'reply':
      return `reply → ${n.topic} ${n.payload}`;
    case 'dropped':
      return `message ${n.id} dropped (${n.reason}): ${n.code}`;
    case 'disconnected':
      return `disconnected${n.errorCode ? ` ${n.errorCode}: ${n.error ?? ''}` : ''}${n.retryInMs !== undefined ? `; retrying in ${n.retryInMs} ms` : ''}`;
    case 'failed':
      return `gave up: ${n.code}: ${n.message}`;
    case 'closed':
      return 'closed';
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
        'http-port': { type: 'string' },
        'http-host': { type: 'string' },
        'ws-connect': { type: 'string' },
        'ws-protocol': { type: 'string' },
        'ws-send': { type: 'string' },
        'ws-ca': { type: 'string' },
        mqtt: { type: 'boolean', default: false },
        'mqtt-broker': { type: 'string' },
        'mqtt-ca': { type: 'string' },
        'mqtt-version': { type: 'string' },
        'telemetry-interval': { type: 'string' },
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
  const http = httpConfig(args);
  const wsClient = wsClientConfig(args);
  const mqtt = mqttConfig(args);
  if (typeof http === 'string' || typeof wsClient === 'string' || typeof mqtt === 'string') {
    console.error(`lwsx: error ${[http, wsClient, mqtt].find((x) => typeof x === 'string') as string}\n${USAGE}`);
    return 2;
  }
  exitWhenOperational = args['exit-when-operational'] as boolean;
  const json = args.json as boolean;
  const print = json ? (e: SimEvent) => console.log(JSON.stringify(e)) : printTimeline;

  const simOpts: SimulatorOptions = {
    boardFile: boardFile(args.board as string),
    ...(args.policy ? { policyFile: args.policy as string } : {}),
    logLevel: level as LogLevel,
    ...(args['fault-injection'] ? { faults: args['fault-injection'] as string } : {}),
    faultSeed,
    network,
    ...(args['ntp-server'] ? { ntpServer: args['ntp-server'] as string } : {}),
    ...(http ? { http } : {}),
    ...(wsClient ? { wsClient } : {}),
    ...(mqtt ? { mqtt } : {}),
    onEvent: (e) => {
      print(e);
      if (e.type === 'error') {
        // a boot step failed for good: the device cannot become operational
        sim.stop();
        process.exitCode = 1;
      } else if (e.type === 'operational' && exitWhenOperational) sim.stop();
    },
  };
  let sim: Simulator;
  try {
    sim = new Simulator(simOpts);
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
  // as a daemon reloads its configuration: re-read the policy file and swap it in
  process.on('SIGHUP', () => void sim.replacePolicy());
  return undefined;
}

type Args = Record<string, string | boolean | undefined>;

/** --http-*: the web server's config, none, or `CODE: why` (the Simulator checks ranges). */
function httpConfig(args: Args): SimulatorOptions['http'] | string {
  const port = args['http-port'] as string | undefined;
  const host = args['http-host'] as string | undefined;
  if (port === undefined) return host === undefined ? undefined : 'ERR_HTTP_OPTION: --http-host needs --http-port';
  // parsed strictly: Number('') is 0 and Number('0x50') is 80
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  return host === undefined ? { port: n } : { port: n, host };
}

/** --ws-*: the ws client's config, none, or `CODE: why` (the Simulator checks the URL and CA). */
function wsClientConfig(args: Args): SimulatorOptions['wsClient'] | string {
  const url = args['ws-connect'] as string | undefined;
  if (url === undefined) {
    const stray = ['ws-protocol', 'ws-send', 'ws-ca'].find((k) => args[k] !== undefined);
    return stray ? `ERR_WS_OPTION: --${stray} needs --ws-connect` : undefined;
  }
  const c: NonNullable<SimulatorOptions['wsClient']> = { url };
  if (args['ws-protocol'] !== undefined) c.protocol = args['ws-protocol'] as string;
  if (args['ws-send'] !== undefined) c.send = args['ws-send'] as string;
  if (args['ws-ca'] !== undefined) c.caFile = args['ws-ca'] as string;
  return c;
}

/** --mqtt*: the MQTT client's config, none, or `CODE: why` (the Simulator checks URL, CA, ranges). */
function mqttConfig(args: Args): SimulatorOptions['mqtt'] | string {
  const broker = args['mqtt-broker'] as string | undefined;
  if (!args['mqtt'] && broker === undefined) {
    const stray = ['mqtt-ca', 'mqtt-version', 'telemetry-interval'].find((k) => args[k] !== undefined);
    return stray ? `ERR_MQTT_OPTION: --${stray} needs --mqtt or --mqtt-broker` : undefined;
  }
  const c: NonNullable<SimulatorOptions['mqtt']> = {};
  if (broker !== undefined) c.broker = broker;
  if (args['mqtt-ca'] !== undefined) c.caFile = args['mqtt-ca'] as string;
  const v = args['mqtt-version'] as string | undefined;
  if (v !== undefined) {
    if (v === '3.1.1' || v === '4') c.version = 4;
    else if (v === '5' || v === '5.0') c.version = 5;
    else return `ERR_MQTT_VERSION: --mqtt-version must be 3.1.1 or 5, not "${v}"`;
  }
  const ms = args['telemetry-interval'] as string | undefined;
  if (ms !== undefined) {
    // parsed strictly, as --http-port (the Simulator checks the range)
    if (!/^\d{1,9}$/.test(ms)) return `ERR_MQTT_INTERVAL: --telemetry-interval must be a whole number of ms, not "${ms}"`;
    c.telemetryIntervalMs = Number(ms);
  }
  return c;
}

const rc = await main();
if (rc !== undefined) process.exitCode = rc;
