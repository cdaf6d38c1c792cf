/**
 * The simulated device's MQTT client against real brokers: the simulator's embedded aedes
 * broker and mosquitto, with mqtt.js (an independent client) as the operator watching
 * telemetry, sending commands and seeing the birth and will; and the CLI end to end.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient as MqttJs } from 'mqtt';
import { Simulator } from '../../hosts/node/sim/simulator.js';
import type { SimEvent, SimulatorOptions } from '../../hosts/node/sim/simulator.js';
import { checkMqttConfig, parseMqttUrl } from '../../hosts/node/sim/device-mqtt.js';
import type { MqttNote } from '../../hosts/node/sim/device-mqtt.js';
import { BlobType } from '../../src/system/blob.js';
import { UsageError } from '../../src/util/errors.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { bundleProgram, repoRoot } from '../helpers/bundle.js';
import { waitFor } from '../helpers/wait.js';
import { startMosquitto } from '../peers/mosquitto.js';
import type { Mosquitto } from '../peers/mosquitto.js';
import { requirePeers } from '../peers/peers.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';

const boardFile = join(repoRoot, 'targets/host-sim/board.json');
const SERIAL = 'SIM-000001';
const T = `lwsx/${SERIAL}`;
const sims: Simulator[] = [];
const observers: MqttJs[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const o of observers.splice(0)) o.end(true);
  for (const s of sims.splice(0)) s.stop();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

type MqttEvent = Extract<SimEvent, { type: 'mqtt' }>;

interface Sim {
  sim: Simulator;
  events: SimEvent[];
  notes(): MqttEvent[];
  until(pred: (e: MqttEvent) => boolean, what: string): Promise<MqttEvent>;
}

function simulator(mqttConfig: SimulatorOptions['mqtt']): Sim {
  const events: SimEvent[] = [];
  const sim = new Simulator({ boardFile, logLevel: 'err', ...(mqttConfig ? { mqtt: mqttConfig } : {}), onEvent: (e) => events.push(e) });
  sims.push(sim);
  const notes = (): MqttEvent[] => events.filter((e): e is MqttEvent => e.type === 'mqtt');
  const until = async (pred: (e: MqttEvent) => boolean, what: string): Promise<MqttEvent> => {
    await waitFor(what, () => notes().some(pred), 15_000);
    return notes().find(pred) as MqttEvent;
  };
  return { sim, events, notes, until };
}

interface Got {
  topic: string;
  text: string;
  retain: boolean;
  correlation?: string;
}

interface Observer {
  c: MqttJs;
  got: Got[];
  on(topic: string): Got[];
}

/** An mqtt.js client subscribed to `filters`, resolving once the subscription is granted. */
async function observe(url: string, version: 4 | 5, filters: string[], opts: mqtt.IClientOptions = {}): Promise<Observer> {
  const c = mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0, ...opts });
  observers.push(c);
  const got: Got[] = [];
  c.on('message', (topic, payload, packet) => {
    const g: Got = { topic, text: payload.toString(), retain: packet.retain };
    const cd = packet.properties?.correlationData;
    if (cd) g.correlation = cd.toString();
    got.push(g);
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => c.subscribe(filters, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  return { c, got, on: (topic) => got.filter((g) => g.topic === topic) };
}

const publish = (c: MqttJs, topic: string, payload: string, opts: mqtt.IClientPublishOptions = {}): Promise<void> =>
  new Promise((resolve, reject) => c.publish(topic, payload, { qos: 1, ...opts }, (err) => (err ? reject(err) : resolve())));

interface Telemetry {
  seq: number;
  boot: number;
  uptimeMs: number;
  state: string;
  heapUsed?: number;
}

const telemetry = (o: Observer): Telemetry[] => o.on(`${T}/telemetry`).map((g) => JSON.parse(g.text) as Telemetry);

/** Boots a simulator with the embedded broker; resolves once its client is connected. */
async function embedded(intervalMs = 50): Promise<Sim & { url: string }> {
  const s = simulator({ telemetryIntervalMs: intervalMs });
  await s.sim.start();
  const b = (await s.until((e) => e.event === 'broker', 'the broker note')) as Extract<MqttNote, { event: 'broker' }>;
  await s.until((e) => e.event === 'connected', 'connected');
  return { ...s, url: b.url };
}

describe('with the embedded broker', () => {
  test('telemetry at QoS 1, the retained birth, ping → pong and an unknown command, as mqtt.js sees them', async () => {
    const d = await embedded();
    expect(d.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(d.sim.broker?.url).toBe(d.url);
    expect(d.notes().find((e) => e.event === 'broker')).toMatchObject({ embedded: true });
    expect(d.notes().find((e) => e.event === 'connecting')).toMatchObject({ clientId: SERIAL, version: 4, url: d.url });
    const o = await observe(d.url, 4, [`${T}/#`]);
    await waitFor('the retained birth', () => o.on(`${T}/status`).length > 0);
    expect(o.on(`${T}/status`)[0]).toEqual({ topic: `${T}/status`, text: 'online', retain: true });
    await waitFor('three telemetry messages', () => telemetry(o).length >= 3);
    const t = telemetry(o);
    for (const m of t) expect(m).toMatchObject({ boot: 1, state: 'OPERATIONAL' });
    expect(typeof t[0]?.heapUsed).toBe('number');
    // in order, none missing, uptime never going back
    for (let i = 1; i < t.length; i++) {
      expect(t[i]!.seq).toBe(t[i - 1]!.seq + 1);
      expect(t[i]!.uptimeMs).toBeGreaterThanOrEqual(t[i - 1]!.uptimeMs);
    }

    await publish(o.c, `${T}/cmd/ping`, 'are you there');
    await publish(o.c, `${T}/cmd/selfdestruct`, '');
    await waitFor('two replies', () => o.on(`${T}/reply`).length === 2);
    expect(o.on(`${T}/reply`).map((g) => JSON.parse(g.text))).toEqual([
      { cmd: 'ping', reply: 'pong' },
      { cmd: 'selfdestruct', error: 'unknown command' },
    ]);
    const cmds = d.notes().filter((e) => e.event === 'command');
    expect(cmds).toMatchObject([
      { command: 'ping', payload: 'are you there', topic: `${T}/cmd/ping` },
      { command: 'selfdestruct', payload: '' },
    ]);
    expect(d.notes().filter((e) => e.event === 'reply')).toHaveLength(2);
    // the device's telemetry is acknowledged (QoS 1 PUBACKs from aedes)
    await waitFor('acks', () => ((d.sim.mqtt?.status()['telemetryAcked'] as number) ?? 0) >= 3);
  });

  test('the broker cuts the device off: the will says offline, the device reconnects and is online again', async () => {
    const d = await embedded(1000);
    const o = await observe(d.url, 4, [`${T}/status`]);
    await waitFor('birth', () => o.got.length === 1);
    const aedes = d.sim.broker!.aedes as unknown as { clients: Record<string, { close(): void }> };
    const cut = aedes.clients[SERIAL];
    expect(cut).toBeDefined();
    // no DISCONNECT from the device: the broker publishes its will
    cut!.close();
    await waitFor('the will', () => o.got.length === 2);
    expect(o.got[1]).toMatchObject({ text: 'offline' });
    const disc = await d.until((e) => e.event === 'disconnected', 'the disconnect note');
    expect((disc as Extract<MqttNote, { event: 'disconnected' }>).retryInMs).toBeGreaterThan(0);
    await d.until((e) => e.event === 'connected' && e.attempt === 2, 'reconnected');
    await waitFor('online again', () => o.got.length === 3);
    expect(o.got.map((g) => g.text)).toEqual(['online', 'offline', 'online']);
  });

  test('the reboot command: a reply, the board reboots, the device goes offline and comes back on the same broker', async () => {
    const d = await embedded(100);
    const o = await observe(d.url, 4, [`${T}/#`]);
    await waitFor('birth', () => o.on(`${T}/status`).length === 1);
    await publish(o.c, `${T}/cmd/reboot`, '');
    await waitFor('the reply', () => o.on(`${T}/reply`).length === 1);
    expect(JSON.parse(o.on(`${T}/reply`)[0]!.text)).toEqual({ cmd: 'reboot', reply: 'rebooting' });
    await waitFor('boot 2 telemetry', () => telemetry(o).some((t) => t.boot === 2));
    expect(d.events.some((e) => e.type === 'board' && e.what === 'reboot')).toBe(true);
    expect(d.sim.boots).toBe(2);
    // offline said by the device itself before its DISCONNECT, then the new boot's birth
    await waitFor('online again', () => o.on(`${T}/status`).length === 3);
    expect(o.on(`${T}/status`).map((g) => g.text)).toEqual(['online', 'offline', 'online']);
    const boot2 = d.notes().filter((e) => e.boot === 2);
    expect(boot2.map((e) => e.event)).toEqual(expect.arrayContaining(['broker', 'connecting', 'connected']));
    expect(boot2.find((e) => e.event === 'broker')).toMatchObject({ url: d.url, embedded: true });
    // boot 2 counts from 1 again
    expect(telemetry(o).find((t) => t.boot === 2)?.seq).toBe(1);
  });

  test('the MQTT_CLIENT_ID blob names the client instead of the serial', async () => {
    const s = simulator({ telemetryIntervalMs: 1000 });
    const ctx = await s.sim.start();
    // the boot runs from the next loop turn: the blob is in place before OPERATIONAL
    ctx.system.blobs.get(BlobType.MQTT_CLIENT_ID).setDirect(utf8Encode('lwsx-blob-id'));
    await s.until((e) => e.event === 'connected', 'connected');
    expect(s.notes().find((e) => e.event === 'connecting')).toMatchObject({ clientId: 'lwsx-blob-id' });
    const aedes = s.sim.broker!.aedes as unknown as { clients: Record<string, unknown> };
    expect(Object.keys(aedes.clients)).toEqual(['lwsx-blob-id']);
  });

  test('stop() ends the client and closes the embedded broker', async () => {
    const d = await embedded(1000);
    const port = Number(new URL(d.url).port);
    d.sim.stop();
    await d.until((e) => e.event === 'closed', 'closed');
    expect(d.sim.broker).toBeUndefined();
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 2000 });
    const err = await new Promise<Error>((r) => c.once('error', r));
    c.end(true);
    expect((err as Error & { code?: string }).code).toBe('ECONNREFUSED');
  });
});

describe('bad MQTT options are typed usage errors before anything opens', () => {
  const cases: Array<[SimulatorOptions['mqtt'], string]> = [
    [{ version: 5 }, 'ERR_MQTT_VERSION'],
    [{ version: 3 as unknown as 4 }, 'ERR_MQTT_VERSION'],
    [{ broker: 'http://127.0.0.1/' }, 'ERR_MQTT_URL'],
    [{ broker: 'mqtt://' }, 'ERR_MQTT_URL'],
    [{ broker: 'not a url' }, 'ERR_MQTT_URL'],
    [{ broker: 'mqtt://127.0.0.1/some/path' }, 'ERR_MQTT_URL'],
    [{ broker: 'mqtt://a%ZZ@127.0.0.1' }, 'ERR_MQTT_URL'],
    [{ broker: 'mqtt://u:p%E0%A4@127.0.0.1' }, 'ERR_MQTT_URL'],
    [{ broker: 'mqtt://127.0.0.1', caFile: '/etc/hostname' }, 'ERR_MQTT_OPTION'],
    [{ caFile: '/etc/hostname' }, 'ERR_MQTT_OPTION'],
    [{ broker: 'mqtts://localhost', caFile: '/nonexistent/ca.pem' }, 'ERR_MQTT_CA'],
    [{ broker: 'wss://localhost', caFile: '/etc/hostname' }, 'ERR_MQTT_CA'],
    [{ telemetryIntervalMs: 5 }, 'ERR_MQTT_INTERVAL'],
    [{ telemetryIntervalMs: 1.5e3 + 0.5 }, 'ERR_MQTT_INTERVAL'],
    [{ telemetryIntervalMs: 86_400_001 }, 'ERR_MQTT_INTERVAL'],
  ];
  test.each(cases)('%j → %s', (config, code) => {
    let err: unknown;
    try {
      new Simulator({ boardFile, mqtt: config, onEvent: () => {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe(code);
  });

  test('broker URLs: default ports and paths, credentials, IPv6, the version default', () => {
    expect(parseMqttUrl('mqtt://broker.lws.test')).toEqual({ url: 'mqtt://broker.lws.test', transport: 'tcp', host: 'broker.lws.test', port: 1883 });
    expect(parseMqttUrl('mqtts://u%40x:p%3Aw@[::1]')).toMatchObject({ transport: 'tls', host: '::1', port: 8883, username: 'u@x', password: 'p:w' });
    expect(parseMqttUrl('ws://127.0.0.1')).toMatchObject({ transport: 'ws', port: 80, path: '/mqtt' });
    expect(parseMqttUrl('wss://h:9001/broker?x=1')).toMatchObject({ transport: 'wss', port: 9001, path: '/broker?x=1' });
    expect(checkMqttConfig({}).version).toBe(4);
    expect(checkMqttConfig({ broker: 'mqtt://h' }).version).toBe(5);
    expect(checkMqttConfig({ broker: 'mqtt://h', version: 4 })).toMatchObject({ version: 4, intervalMs: 5000, trust: undefined });
  });
});

const { ok, peerTest } = requirePeers('simulator mqtt ↔ mosquitto', ['mosquitto', 'openssl']);

describe('against mosquitto', () => {
  let broker: Mosquitto;
  let pki: Pki;
  beforeAll(async () => {
    if (!ok) return;
    pki = await makePki();
    broker = await startMosquitto({ pki, tls: true, ws: true });
  }, 30_000);
  afterAll(async () => {
    await broker?.stop();
    pki?.cleanup();
  });

  describe.each([4, 5] as const)('MQTT %s', (version) => {
    peerTest('telemetry, birth and ping → pong over TCP', async () => {
      const url = `mqtt://127.0.0.1:${broker.ports.plain}`;
      const s = simulator({ broker: url, version, telemetryIntervalMs: 50 });
      await s.sim.start();
      await s.until((e) => e.event === 'connected', 'connected');
      expect(s.sim.broker).toBeUndefined();
      expect(s.notes().find((e) => e.event === 'connecting')).toMatchObject({ version, clientId: SERIAL });
      const o = await observe(url, version, [`${T}/#`]);
      await waitFor('telemetry', () => telemetry(o).length >= 2);
      // an earlier test's device may have left "offline" retained: the birth replaces it
      await waitFor('online', () => o.on(`${T}/status`).some((g) => g.text === 'online'));
      await publish(o.c, `${T}/cmd/ping`, '');
      await waitFor('pong', () => o.on(`${T}/reply`).length === 1);
      expect(JSON.parse(o.on(`${T}/reply`)[0]!.text)).toEqual({ cmd: 'ping', reply: 'pong' });
    });
  });

  peerTest('MQTT 5.0 request / response: the reply goes to the Response Topic with the Correlation Data', async () => {
    const url = `mqtt://127.0.0.1:${broker.ports.plain}`;
    const s = simulator({ broker: url, telemetryIntervalMs: 1000 });
    await s.sim.start();
    await s.until((e) => e.event === 'connected', 'connected');
    const o = await observe(url, 5, ['operator/answers']);
    await publish(o.c, `${T}/cmd/ping`, '', { properties: { responseTopic: 'operator/answers', correlationData: Buffer.from('req-7') } });
    await waitFor('the answer', () => o.got.length === 1);
    expect(o.got[0]).toMatchObject({ topic: 'operator/answers', text: '{"cmd":"ping","reply":"pong"}', correlation: 'req-7' });
  });

  peerTest('over mqtts:// with --mqtt-ca and over ws://', async () => {
    const viaTls = simulator({ broker: `mqtts://localhost:${broker.ports.tls}`, caFile: pki.ca.certFile, telemetryIntervalMs: 50 });
    await viaTls.sim.start();
    // "localhost" goes through the device's DNS (the hosts file it was given)
    await viaTls.until((e) => e.event === 'connected', 'connected over TLS');
    const o = await observe(`mqtt://127.0.0.1:${broker.ports.plain}`, 5, [`${T}/telemetry`]);
    await waitFor('telemetry over TLS', () => o.got.length >= 2);
    viaTls.sim.stop();
    await viaTls.until((e) => e.event === 'closed', 'closed');

    const before = o.got.length;
    const viaWs = simulator({ broker: `ws://127.0.0.1:${broker.ports.ws}`, version: 4, telemetryIntervalMs: 50 });
    await viaWs.sim.start();
    await viaWs.until((e) => e.event === 'connected', 'connected over ws');
    expect(viaWs.notes().find((e) => e.event === 'connecting')).toMatchObject({ url: `ws://127.0.0.1:${broker.ports.ws}/` });
    await waitFor('telemetry over ws', () => o.got.length >= before + 2);
  });

  peerTest('a TLS broker whose CA is not trusted: the device reports it and retries', async () => {
    const s = simulator({ broker: `mqtts://localhost:${broker.ports.tls}`, telemetryIntervalMs: 1000 });
    await s.sim.start();
    const d = (await s.until((e) => e.event === 'disconnected', 'the failed attempt')) as Extract<MqttNote, { event: 'disconnected' }>;
    expect(d.errorCode).toBe('ERR_CONNECT_TLS');
    expect(d.retryInMs).toBeGreaterThan(0);
    expect(s.notes().some((e) => e.event === 'connected')).toBe(false);
  });

  describe('the CLI', () => {
    let cli = '';
    beforeAll(() => {
      cli = bundleProgram('hosts/node/sim/main.ts', 'sim-mqtt.mjs');
    });

    function start(args: string[]): { child: ChildProcessWithoutNullStreams; events(): SimEvent[]; out(): string; exited: Promise<number | null> } {
      const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot });
      children.push(child);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const events = (): SimEvent[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SimEvent);
      return { child, events, out: () => out, exited };
    }

    test('--mqtt: the embedded broker is printed, mqtt.js talks to the device through it, Ctrl-C exits 0', async () => {
      const p = start(['--json', '--mqtt', '--telemetry-interval', '50']);
      await waitFor('the broker event', () => p.events().some((e) => e.type === 'mqtt' && e.event === 'broker'), 20_000);
      const b = p.events().find((e) => e.type === 'mqtt' && e.event === 'broker') as MqttEvent & { url: string };
      const o = await observe(b.url, 4, [`${T}/#`]);
      await waitFor('telemetry', () => telemetry(o).length >= 2);
      await publish(o.c, `${T}/cmd/ping`, 'x');
      await waitFor('pong', () => o.on(`${T}/reply`).length === 1);
      await waitFor('the command event', () => p.events().some((e) => e.type === 'mqtt' && e.event === 'command'));
      p.child.kill('SIGINT');
      expect(await p.exited).toBe(0);
    });

    peerTest('--mqtt-broker mosquitto: the timeline shows the client; SIGKILL makes mosquitto publish the will', async () => {
      const url = `mqtt://127.0.0.1:${broker.ports.plain}`;
      const p = start(['--mqtt-broker', url, '--mqtt-version', '3.1.1', '--telemetry-interval', '50']);
      const o = await observe(url, 4, [`${T}/status`, `${T}/telemetry`]);
      await waitFor('online', () => o.on(`${T}/status`).some((g) => g.text === 'online'), 20_000);
      await waitFor('telemetry', () => o.on(`${T}/telemetry`).length >= 1);
      expect(p.out()).toMatch(new RegExp(`mqtt: connecting to mqtt://127\\.0\\.0\\.1:${broker.ports.plain} as ${SERIAL} \\(MQTT 3\\.1\\.1\\)`));
      expect(p.out()).toMatch(/mqtt: connected/);
      expect(p.out()).toMatch(/mqtt: telemetry #1 → lwsx\/SIM-000001\/telemetry/);
      // no DISCONNECT, no "offline" from the device: only the broker can say it
      p.child.kill('SIGKILL');
      await p.exited;
      await waitFor('the will', () => o.on(`${T}/status`).at(-1)?.text === 'offline');
    });

    test('bad MQTT options exit 2 with their error code', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['--mqtt-broker', 'http://127.0.0.1/'], /error ERR_MQTT_URL: --mqtt-broker "http:\/\/127\.0\.0\.1\/": scheme must be mqtt, mqtts, ws or wss/],
        [['--mqtt-version', '5'], /error ERR_MQTT_OPTION: --mqtt-version needs --mqtt or --mqtt-broker/],
        [['--mqtt', '--mqtt-version', '6'], /error ERR_MQTT_VERSION: --mqtt-version must be 3\.1\.1 or 5, not "6"/],
        [['--mqtt', '--mqtt-version', '5'], /error ERR_MQTT_VERSION: the embedded broker \(aedes\) speaks MQTT 3\.1\.1 only/],
        [['--mqtt', '--telemetry-interval', '1e3'], /error ERR_MQTT_INTERVAL/],
        [['--mqtt', '--telemetry-interval', '0'], /error ERR_MQTT_INTERVAL/],
        [['--mqtt-broker', 'mqtts://localhost', '--mqtt-ca', '/nonexistent/ca.pem'], /error ERR_MQTT_CA/],
      ];
      for (const [args, msg] of cases) {
        const p = start(args);
        expect(await p.exited).toBe(2);
        expect(p.out()).toMatch(msg);
      }
    });
  });
});
