/**
 * The simulated device's own web server: an HttpServer vhost on the device's Context serving
 *  - `GET /`: a small status page (identity, current state, the transition timeline);
 *  - `GET /status.json`: the same as JSON;
 *  - `/ws` (subprotocol `lws-state`, or none): a snapshot on open, then one JSON text message
 *    per system state change and per other SMD message, for as long as the client stays.
 *
 * A slow ws client must not make the device buffer without bound: once more than
 * `wsBacklogCap` bytes wait for it (past what the host socket took), it gets no more messages
 * and is closed with 1008. The close frame queues behind that backlog, so a client that catches
 * up reads everything and then the 1008; one that does not is dropped at the close timeout.
 * Clients past `maxWsClients` are closed at once with 1013 (try again later).
 *
 * At CONTEXT_DESTROYING (stop or reboot) every client hears that state, then a 1001 close.
 */
import type { Context } from '../../../src/loop/context.js';
import type { HttpExchange } from '../../../src/protocols/h1/http-server.js';
import { HttpServer } from '../../../src/protocols/h1/http-server.js';
import type { WsSocket } from '../../../src/protocols/ws/ws-socket.js';
import type { BoardDescription } from '../../../src/system/board.js';
import { SMD_CLASS_SYSTEM_STATE } from '../../../src/system/smd.js';
import type { SmdPeer } from '../../../src/system/smd.js';
import type { TransitionRecord } from '../../../src/system/state.js';
import { SysState } from '../../../src/system/states.js';
import { UsageError } from '../../../src/util/errors.js';
import { utf8Decode } from '../../../src/util/utf8.js';
import type { NodeListener } from '../listener.js';

export const WS_STATE_PROTOCOL = 'lws-state';
export const DEFAULT_WS_BACKLOG_CAP = 64 * 1024;
export const DEFAULT_MAX_WS_CLIENTS = 32;
/** clients only listen: anything bigger they send is refused with 1009 */
const WS_MAX_INBOUND = 4096;

export interface DeviceHttpConfig {
  /** 0: any free port (kept across reboots once bound) */
  port: number;
  /** default 127.0.0.1 */
  host?: string;
  /** bytes a ws client may fall behind before it is closed with 1008 */
  wsBacklogCap?: number;
  /** ws clients served at once; more are closed with 1013 */
  maxWsClients?: number;
}

/** Checks a config before anything is opened: UsageError ERR_HTTP_PORT / ERR_HTTP_HOST / ERR_HTTP_OPTION. */
export function checkHttpConfig(c: DeviceHttpConfig): void {
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) {
    throw new UsageError('ERR_HTTP_PORT', `--http-port must be an integer 0..65535 (0: any free port), not ${String(c.port)}`, { port: c.port });
  }
  if (c.host !== undefined && (typeof c.host !== 'string' || !/^[\w.:-]{1,253}$/.test(c.host))) {
    throw new UsageError('ERR_HTTP_HOST', `--http-host must be an address or a host name, not "${String(c.host)}"`, { host: c.host });
  }
  for (const k of ['wsBacklogCap', 'maxWsClients'] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError('ERR_HTTP_OPTION', `${k} must be a positive integer`, { [k]: v });
  }
}

export interface TimelineEntry {
  sinceBootMs: number;
  kind: TransitionRecord['kind'];
  from: string;
  state: string;
  heldBy?: string;
  error?: string;
}

export interface DeviceStatus {
  board: string;
  serial: string;
  firmwareVersion: string;
  deviceType: string;
  host: string;
  boot: number;
  state: string;
  uptimeMs: number;
  /** the device's wall clock (SNTP sets it), ISO 8601 */
  wallTime: string;
  /** the state manager's recent records (holds included), oldest first */
  timeline: TimelineEntry[];
  wsClients: number;
  [more: string]: unknown;
}

export interface DeviceHttpOptions extends DeviceHttpConfig {
  boot: number;
  /** the host's name, for the status */
  hostName: string;
  /** more status fields (the ws client's) */
  extraStatus?: () => Record<string, unknown>;
}

export class DeviceHttp {
  readonly server: HttpServer;
  readonly stats = { wsOpened: 0, slowClosed: 0, busyClosed: 0 };
  private readonly ctx: Context;
  private readonly board: BoardDescription;
  private readonly opts: DeviceHttpOptions;
  private readonly clients = new Set<WsSocket>();
  private readonly backlogCap: number;
  private readonly maxClients: number;
  private readonly smdPeer: SmdPeer;

  constructor(ctx: Context, board: BoardDescription, opts: DeviceHttpOptions) {
    checkHttpConfig(opts);
    this.ctx = ctx;
    this.board = board;
    this.opts = opts;
    this.backlogCap = opts.wsBacklogCap ?? DEFAULT_WS_BACKLOG_CAP;
    this.maxClients = opts.maxWsClients ?? DEFAULT_MAX_WS_CLIENTS;
    this.server = new HttpServer(ctx, {
      name: 'device',
      listen: { address: opts.host ?? '127.0.0.1', port: opts.port },
      mounts: [
        { kind: 'callback', prefix: '/', handler: (x) => this.page(x) },
        {
          kind: 'ws',
          prefix: '/ws',
          protocols: [WS_STATE_PROTOCOL],
          connection: { maxMessageSize: WS_MAX_INBOUND },
          handlers: () => ({
            onOpen: (ws) => this.opened(ws),
            onClose: (ws) => {
              if (ws) this.clients.delete(ws);
            },
          }),
        },
      ],
      onError: (e) => ctx.logger.info('vhost', `device: ${e.message}`, { code: e.code }),
    });
    ctx.system.onTransitionRecord((rec) => this.onTransition(rec));
    // every class but the system state's, which comes from the records (they include the
    // CONTEXT_DESTROYING step that SMD never delivers)
    this.smdPeer = ctx.smd.register(~SMD_CLASS_SYSTEM_STATE >>> 0, (cls, ts, payload) => {
      this.publish({ type: 'smd', boot: opts.boot, sinceBootMs: this.ms(ts), cls, payload: utf8Decode(payload) });
    }, 'status-ws');
  }

  /** Resolves with the bound port; rejects with the listener's typed ERR_LISTEN. */
  bound(): Promise<number> {
    // the simulator's host is always the Node host
    return (this.server.listener as NodeListener).bound();
  }

  get port(): number {
    return this.server.port;
  }

  get wsClients(): number {
    return this.clients.size;
  }

  status(): DeviceStatus {
    const id = this.board.identity;
    const sys = this.ctx.system.state;
    const timeline = sys.log.map((r) => {
      const e: TimelineEntry = { sinceBootMs: this.ms(r.atUs), kind: r.kind, from: r.fromName, state: r.toName };
      if (r.heldBy !== undefined) e.heldBy = r.heldBy;
      if (r.error !== undefined) e.error = r.error.message;
      return e;
    });
    return {
      board: this.board.board,
      serial: id.serial,
      firmwareVersion: id.firmwareVersion,
      deviceType: id.deviceType,
      host: this.opts.hostName,
      boot: this.opts.boot,
      state: sys.stateName,
      uptimeMs: this.ms(this.ctx.nowUs()),
      wallTime: new Date(Math.floor(this.ctx.wallUs() / 1000)).toISOString(),
      timeline,
      wsClients: this.clients.size,
      ...this.opts.extraStatus?.(),
    };
  }

  /** Sends `msg` as JSON text to every ws client (the device's own events can use it too). */
  publish(msg: Record<string, unknown>): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(msg);
    for (const ws of [...this.clients]) this.sendTo(ws, text);
  }

  private ms(us: number): number {
    return Math.round((us - this.ctx.createdUs) / 10) / 100;
  }

  private opened(ws: WsSocket): void {
    if (this.clients.size >= this.maxClients) {
      this.stats.busyClosed++;
      ws.close(1013, 'too many clients');
      return;
    }
    this.stats.wsOpened++;
    this.clients.add(ws);
    this.ctx.logger.info('vhost', 'status ws client joined', { clients: this.clients.size });
    this.sendTo(ws, JSON.stringify({ type: 'snapshot', ...this.status() }));
  }

  private sendTo(ws: WsSocket, text: string): void {
    if (ws.state !== 'open') {
      this.clients.delete(ws);
      return;
    }
    ws.send(text);
    const backlog = ws.bufferedAmount;
    if (backlog > this.backlogCap) {
      // stop feeding it: what is queued plus the close frame is all it will cost
      this.clients.delete(ws);
      this.stats.slowClosed++;
      this.ctx.logger.warn('vhost', 'status ws client too slow, closing it (1008)', { backlog, cap: this.backlogCap });
      ws.close(1008, 'too slow');
    }
  }

  private onTransition(rec: TransitionRecord): void {
    if (rec.kind === 'held' || rec.kind === 'error') return;
    this.publish({ type: 'state', boot: this.opts.boot, sinceBootMs: this.ms(rec.atUs), kind: rec.kind, from: rec.fromName, state: rec.toName });
    if (rec.to !== SysState.CONTEXT_DESTROYING) return;
    this.ctx.smd.unregister(this.smdPeer);
    // the context closes the connections right after: the close frames go out first
    for (const ws of [...this.clients]) ws.close(1001, 'device going away');
    this.clients.clear();
  }

  private page(x: HttpExchange): void {
    const path = x.path;
    if (path !== '/' && path !== '/index.html' && path !== '/status.json') {
      x.reply(404, 'not found\n', [['content-type', 'text/plain; charset=utf-8']]);
      return;
    }
    if (x.head.method !== 'GET' && x.head.method !== 'HEAD') {
      x.reply(405, 'method not allowed\n', [['allow', 'GET, HEAD'], ['content-type', 'text/plain; charset=utf-8']]);
      return;
    }
    const s = this.status();
    const nocache: [string, string] = ['cache-control', 'no-store'];
    if (path === '/status.json') x.reply(200, JSON.stringify(s) + '\n', [['content-type', 'application/json'], nocache]);
    else x.reply(200, statusPage(s), [['content-type', 'text/html; charset=utf-8'], nocache]);
  }
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ESC[c] as string);
}

function row(e: TimelineEntry): string {
  const note = e.heldBy !== undefined ? `${e.kind === 'error' ? 'refused by' : 'held by'} ${esc(e.heldBy)}${e.error ? `: ${esc(e.error)}` : ''}` : '';
  return `<tr><td class=t>+${e.sinceBootMs.toFixed(2)} ms</td><td>${esc(e.state)}</td><td>${note}</td></tr>`;
}

/** The status page: no external assets; a few lines of script follow /ws live. */
function statusPage(s: DeviceStatus): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>lwsx ${esc(s.board)} ${esc(s.serial)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}td{padding:1px 10px 1px 0}td.t{text-align:right;font-variant-numeric:tabular-nums}</style></head>
<body><h1>${esc(s.board)} ${esc(s.serial)}</h1>
<p>${esc(s.deviceType)}, firmware ${esc(s.firmwareVersion)}, on the ${esc(s.host)} host, boot #${s.boot}</p>
<p>state <b id=state>${esc(s.state)}</b> &middot; up ${s.uptimeMs.toFixed(0)} ms &middot; clock ${esc(s.wallTime)} &middot; <span id=live>${s.wsClients} live viewer(s)</span></p>
<table><tbody id=tl>
${s.timeline.map(row).join('\n')}
</tbody></table>
<p><a href="/status.json">status.json</a> &middot; state stream: ws <code>/ws</code> (${WS_STATE_PROTOCOL})</p>
<script>
const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws', '${WS_STATE_PROTOCOL}');
ws.onmessage = (m) => {
  const e = JSON.parse(m.data);
  if (e.type !== 'state') return;
  document.getElementById('state').textContent = e.state;
  const tr = document.getElementById('tl').insertRow();
  tr.insertCell().textContent = '+' + e.sinceBootMs.toFixed(2) + ' ms';
  tr.insertCell().textContent = e.state;
};
ws.onclose = () => { document.getElementById('live').textContent = 'disconnected, reloading'; setTimeout(() => location.reload(), 2000); };
</script>
</body></html>
`;
}
