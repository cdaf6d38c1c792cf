/**
 * The host simulator: one simulated device (a Context on a NodeHost with the host-sim board),
 * rebooted in-process when its board's reboot op runs. Events go to one listener, so the CLI
 * can print a timeline and tests can watch the same stream.
 */
import { Context } from '../../../src/loop/context.js';
import type { LogLevel, LogRecord } from '../../../src/loop/log.js';
import type { TransitionRecord } from '../../../src/system/state.js';
import { SysState } from '../../../src/system/states.js';
import { LwsxError } from '../../../src/util/errors.js';
import { PolicyParseError } from '../../../src/ss/policy/errors.js';
import { PolicyError } from '../../../src/system/policy-load.js';
import { HostSimBoard } from '../../../targets/host-sim/board.js';
import { FaultInjector } from '../../../src/net/fault.js';
import { readFileSync } from 'node:fs';
import { BlobType } from '../../../src/system/blob.js';
import { utf8Encode } from '../../../src/util/utf8.js';
import { parseHosts } from '../../../src/services/dns/hosts.js';
import { parseResolvConf } from '../../../src/services/dns/resolv-conf.js';
import { SystemServices } from '../../../src/services/system-services.js';
import type { SystemServicesOptions } from '../../../src/services/system-services.js';
import { NodeHost } from '../host.js';
import { startResponders } from './responders.js';
import type { Responders } from './responders.js';
import { checkHttpConfig, DeviceHttp } from './device-http.js';
import type { DeviceHttpConfig } from './device-http.js';
import { checkWsClientConfig, DeviceWsClient } from './device-ws-client.js';
import type { WsClientConfig, WsClientNote } from './device-ws-client.js';
import { checkMqttConfig, DeviceMqtt } from './device-mqtt.js';
import type { CheckedMqttConfig, MqttConfig, MqttNote } from './device-mqtt.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import type { EmbeddedBroker } from './embedded-broker.js';

export type SimEvent =
  | { type: 'boot'; boot: number; board: string; serial: string; firmwareVersion: string; deviceType: string; host: string }
  | { type: 'state'; boot: number; sinceBootMs: number; kind: TransitionRecord['kind']; from: string; state: string; heldBy?: string; error?: string }
  | { type: 'log'; boot: number; sinceBootMs: number; level: LogLevel; subsystem: string; msg: string; fields?: Record<string, unknown> }
  | { type: 'board'; boot: number; what: string; fields: Record<string, unknown> }
  | { type: 'error'; boot: number; code: string; message: string; detail?: Record<string, unknown> }
  | { type: 'operational'; boot: number; sinceBootMs: number }
  /** the device's web server is listening */
  | { type: 'http'; boot: number; sinceBootMs: number; address: string; port: number; url: string }
  /** the device's ws client (--ws-connect) */
  | ({ type: 'ws-client'; boot: number; sinceBootMs: number } & WsClientNote)
  /** the device's MQTT client (--mqtt, --mqtt-broker) */
  | ({ type: 'mqtt'; boot: number; sinceBootMs: number } & MqttNote)
  | { type: 'destroyed'; boot: number; sinceBootMs: number }
  /** a runtime policy replacement (replacePolicy, SIGHUP): in force, or refused with nothing changed */
  | { type: 'policy'; boot: number; sinceBootMs: number; result: 'replaced'; release?: string; product?: string }
  | { type: 'policy'; boot: number; sinceBootMs: number; result: 'refused'; code: string; message: string; detail?: Record<string, unknown> };

/**
 * Where the device's DNS and NTP come from:
 * - "embedded" (default): the simulator's own DNS and SNTP responders on loopback;
 * - "system": this machine's /etc/resolv.conf servers, and the board's NTP server on port 123;
 * - "dhcp": everything from a DHCP lease on `ifname` (run inside a network namespace).
 */
export type SimNetwork = { kind: 'embedded' } | { kind: 'system' } | { kind: 'dhcp'; ifname: string; mac: string };

/** The simulated zone the embedded DNS serves: the NTP server's name resolves to the embedded SNTP. */
export const SIM_DOMAIN = 'lws.test';

export interface SimulatorOptions {
  network?: SimNetwork;
  /** put in the NTP_SERVER blob: SNTP asks it first (a name goes through DNS) */
  ntpServer?: string;
  boardFile: string;
  /** lws-style datagram faults, e.g. "dns/udp_tx_loss(30%)" */
  faults?: string;
  faultSeed?: number;
  policyFile?: string;
  logLevel?: LogLevel;
  /** run the device's web server (status page, status.json, ws state stream) */
  http?: DeviceHttpConfig;
  /** run a ws client once the device is OPERATIONAL */
  wsClient?: WsClientConfig;
  /** run the MQTT client once the device is OPERATIONAL (no broker: an embedded one) */
  mqtt?: MqttConfig;
  onEvent(e: SimEvent): void;
}

export class Simulator {
  ctx: Context | undefined;
  board: HostSimBoard | undefined;
  /** how many times the device has booted (1 after start) */
  boots = 0;
  services: SystemServices | undefined;
  responders: Responders | undefined;
  /** the running boot's web server and ws client, when configured */
  http: DeviceHttp | undefined;
  wsClient: DeviceWsClient | undefined;
  mqtt: DeviceMqtt | undefined;
  /** the embedded MQTT broker (--mqtt without --mqtt-broker): it outlives reboots */
  broker: EmbeddedBroker | undefined;
  private readonly mqttConfig: CheckedMqttConfig | undefined;
  /** the port the web server bound first: later boots listen there again, as a device would */
  private httpPort: number | undefined;
  private readonly opts: SimulatorOptions;

  /** Bad http or ws client options are UsageErrors (ERR_HTTP_*, ERR_WS_*) here, before anything opens. */
  constructor(opts: SimulatorOptions) {
    if (opts.http) checkHttpConfig(opts.http);
    if (opts.wsClient) checkWsClientConfig(opts.wsClient);
    this.mqttConfig = opts.mqtt ? checkMqttConfig(opts.mqtt) : undefined;
    this.opts = opts;
  }

  /** Boots the device; rejects with the board file's typed error if it is malformed. */
  async start(): Promise<Context> {
    const network = this.opts.network ?? { kind: 'embedded' };
    if (network.kind === 'embedded' && !this.responders) {
      this.responders = await startResponders(SIM_DOMAIN, [
        { name: `ntp.${SIM_DOMAIN}`, cname: `time.${SIM_DOMAIN}` },
        { name: `time.${SIM_DOMAIN}`, a: ['127.0.0.1'] },
      ]);
    }
    if (this.mqttConfig && !this.mqttConfig.target && !this.broker) this.broker = await startEmbeddedBroker();
    return this.boot(network);
  }

  private boot(network: SimNetwork): Context {
    // a bad fault rule is the caller's typed error, before anything is opened
    const faults = new FaultInjector(this.opts.faults ?? '', this.opts.faultSeed ?? 1);
    // a device loop runs until it is destroyed: the host keeps the process alive until then
    const host = new NodeHost({ keepAlive: true });
    const boot = ++this.boots;
    const emit = this.opts.onEvent;
    let board: HostSimBoard;
    try {
      board = new HostSimBoard({
        host,
        boardFile: this.opts.boardFile,
        ...(this.opts.policyFile ? { policyFile: this.opts.policyFile } : {}),
        onReboot: () => this.reboot(),
        // DHCP on a real interface: the board's interfaces are not preconfigured any more
        ...(network.kind === 'dhcp' ? { interfaces: 'dhcp' as const } : {}),
        onEvent: (what, fields) => emit({ type: 'board', boot, what, fields }),
      });
    } catch (e) {
      host.close();
      throw e;
    }
    this.board = board;
    const ms = (us: number): number => Math.round((us - ctx.createdUs) / 10) / 100;
    const ctx: Context = new Context({
      host,
      board,
      faults,
      logLevel: this.opts.logLevel ?? 'notice',
      log: (r: LogRecord) => {
        // transitions are reported as state events, not twice
        if (r.subsystem === 'state') return;
        const e: SimEvent = { type: 'log', boot, sinceBootMs: ms(r.atUs), level: r.level, subsystem: r.subsystem, msg: r.msg };
        if (r.fields) e.fields = r.fields;
        emit(e);
      },
      onError: (err: LwsxError) => {
        const e: SimEvent = { type: 'error', boot, code: err.code, message: err.message };
        if (err.detail) e.detail = { ...err.detail };
        // a policy error points into the policy file, so an editor can jump there
        if (err instanceof PolicyParseError && board.policyPath) e.detail = { ...e.detail, file: board.policyPath };
        emit(e);
      },
    });
    this.ctx = ctx;
    if (this.opts.ntpServer) ctx.system.blobs.get(BlobType.NTP_SERVER).setDirect(utf8Encode(this.opts.ntpServer));
    this.services = new SystemServices(ctx, this.servicesFor(network));
    const id = board.description.identity;
    emit({ type: 'boot', boot, board: board.description.board, serial: id.serial, firmwareVersion: id.firmwareVersion, deviceType: id.deviceType, host: host.name });
    ctx.system.onTransitionRecord((rec) => {
      const e: SimEvent = { type: 'state', boot, sinceBootMs: ms(rec.atUs), kind: rec.kind, from: rec.fromName, state: rec.toName };
      if (rec.heldBy) e.heldBy = rec.heldBy;
      if (rec.error) e.error = rec.error.message;
      emit(e);
      if (rec.kind !== 'held' && rec.kind !== 'error' && rec.to === SysState.OPERATIONAL) emit({ type: 'operational', boot, sinceBootMs: ms(rec.atUs) });
      if (rec.kind !== 'held' && rec.kind !== 'error' && rec.to === SysState.CONTEXT_DESTROYING) emit({ type: 'destroyed', boot, sinceBootMs: ms(rec.atUs) });
    });
    this.wsClient = this.opts.wsClient ? this.startWsClient(ctx, boot, ms) : undefined;
    this.mqtt = this.mqttConfig ? this.startMqtt(ctx, board, boot, ms) : undefined;
    this.http = this.opts.http ? this.startHttp(ctx, board, boot, ms) : undefined;
    return ctx;
  }

  private startWsClient(ctx: Context, boot: number, ms: (us: number) => number): DeviceWsClient {
    return new DeviceWsClient(ctx, {
      ...(this.opts.wsClient as WsClientConfig),
      dns: (this.services as SystemServices).dns,
      onNote: (n) => this.opts.onEvent({ type: 'ws-client', boot, sinceBootMs: ms(ctx.nowUs()), ...n }),
    });
  }

  private startMqtt(ctx: Context, board: HostSimBoard, boot: number, ms: (us: number) => number): DeviceMqtt {
    return new DeviceMqtt(ctx, {
      config: this.mqttConfig as CheckedMqttConfig,
      ...(this.broker ? { embeddedUrl: this.broker.url } : {}),
      serial: board.description.identity.serial,
      boot,
      dns: (this.services as SystemServices).dns,
      heapUsed: () => process.memoryUsage().heapUsed,
      onNote: (n) => this.opts.onEvent({ type: 'mqtt', boot, sinceBootMs: ms(ctx.nowUs()), ...n }),
    });
  }

  private startHttp(ctx: Context, board: HostSimBoard, boot: number, ms: (us: number) => number): DeviceHttp {
    const cfg = this.opts.http as DeviceHttpConfig;
    const ws = this.wsClient;
    const mqtt = this.mqtt;
    const http = new DeviceHttp(ctx, board.description, {
      ...cfg,
      port: this.httpPort ?? cfg.port,
      boot,
      hostName: ctx.host.name,
      ...(ws || mqtt ? { extraStatus: () => ({ ...(ws ? { wsClient: ws.status() } : {}), ...(mqtt ? { mqtt: mqtt.status() } : {}) }) } : {}),
    });
    http.bound().then(
      (port) => {
        this.httpPort = port;
        const address = cfg.host ?? '127.0.0.1';
        const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
        this.opts.onEvent({ type: 'http', boot, sinceBootMs: ms(ctx.nowUs()), address, port, url });
      },
      (err: LwsxError) => {
        // a device stopped before its listener bound is not a failure
        if (ctx.isDestroyed) return;
        const e: SimEvent = { type: 'error', boot, code: err.code, message: err.message };
        if (err.detail) e.detail = { ...err.detail };
        this.opts.onEvent(e);
      },
    );
    return http;
  }

  /**
   * Re-reads the board's policy file (--policy, or the board file's) and swaps it in at runtime,
   * as lws' policy swap: POLICY_INVALID, then back up to OPERATIONAL. A policy that cannot be
   * read or fails validation is refused (a 'policy' event with the typed error) and the device
   * keeps the policy it has.
   */
  async replacePolicy(): Promise<void> {
    const ctx = this.ctx;
    const board = this.board;
    if (!ctx || !board || ctx.isDestroyed) return;
    const boot = this.boots;
    const ms = (): number => Math.round((ctx.nowUs() - ctx.createdUs) / 10) / 100;
    try {
      if (!board.loadPolicy) throw new PolicyError('ERR_POLICY_MISSING', 'the board has no policy file to re-read', {});
      const text = await board.loadPolicy();
      if (ctx.isDestroyed) return;
      const p = ctx.policyLoader.replace(text);
      const e: SimEvent = { type: 'policy', boot, sinceBootMs: ms(), result: 'replaced' };
      if (p.release !== undefined) e.release = p.release;
      if (p.product !== undefined) e.product = p.product;
      this.opts.onEvent(e);
    } catch (err) {
      if (!(err instanceof LwsxError)) throw err;
      const e: SimEvent = { type: 'policy', boot, sinceBootMs: ms(), result: 'refused', code: err.code, message: err.message };
      if (err.detail) e.detail = { ...err.detail };
      if (err instanceof PolicyParseError && board.policyPath) e.detail = { ...e.detail, file: board.policyPath };
      this.opts.onEvent(e);
    }
  }

  /** The board's reboot: the running device goes away and a fresh one boots in this process. */
  reboot(): void {
    const old = this.ctx;
    // let the reboot op return before the context it was called from is torn down
    queueMicrotask(() => {
      old?.destroy();
      void this.start();
    });
  }

  /** Steps the device to CONTEXT_DESTROYING and releases its host and the simulated network. */
  stop(): void {
    this.ctx?.destroy();
    void this.responders?.close();
    this.responders = undefined;
    void this.broker?.close();
    this.broker = undefined;
  }

  private servicesFor(network: SimNetwork): SystemServicesOptions {
    // the desktop's own names stay resolvable, as on any host-sim device
    const hosts = parseHosts(readTextOr('/etc/hosts'));
    switch (network.kind) {
      case 'embedded': {
        const r = this.responders as Responders;
        return { dns: { servers: [`${r.dns.address}:${r.dns.port}`], hosts }, sntp: { port: r.ntp.port } };
      }
      case 'system':
        return { dns: { servers: parseResolvConf(readTextOr('/etc/resolv.conf')), hosts } };
      case 'dhcp':
        return { dns: { hosts }, dhcp: { ifname: network.ifname, mac: network.mac } };
    }
  }
}

function readTextOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
