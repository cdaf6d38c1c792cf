/**
 * A WebSocket on a wsi, either role: the WsConnection machine pumped by the wsi, its events
 * turned into callbacks, validity pings as WebSocket PINGs (a PONG is the proof of life).
 */
import type { Context } from '../../loop/context.js';
import type { Wsi, WsiMachine } from '../../loop/wsi.js';
import { UsageError } from '../../util/errors.js';
import type { LwsxError } from '../../util/errors.js';
import { WsConnection } from './connection.js';
import type { WsConnectionOptions, WsEvent } from './connection.js';

export interface WsHandlers {
  onOpen?(ws: WsSocket): void;
  onMessage?(ws: WsSocket, data: string | Uint8Array, binary: boolean): void;
  onPing?(ws: WsSocket, data: Uint8Array): void;
  onPong?(ws: WsSocket, data: Uint8Array): void;
  /**
   * The WebSocket is over: the close code and reason, and the error when it failed. `ws` is
   * undefined when it never opened (the connection or the handshake failed: code 1006).
   */
  onClose?(ws: WsSocket | undefined, code: number, reason: string, err: LwsxError | undefined): void;
}

/** The WsConnection as a wsi machine. */
class WsMachine implements WsiMachine<WsEvent> {
  constructor(readonly conn: WsConnection) {}
  receive(b: Uint8Array, now: number): WsEvent[] { return this.conn.receive(b, now); }
  pendingOutput(): Uint8Array[] { return this.conn.pendingOutput(); }
  nextDeadlineUs(): number | undefined { return this.conn.nextDeadlineUs(); }
  onTimer(now: number): WsEvent[] { return this.conn.onTimer(now); }
  validityPing(): void { this.conn.ping(); }
  get closed(): boolean { return this.conn.state === 'closed'; }
}

export class WsSocket {
  readonly conn: WsConnection;
  private readonly wsi: Wsi<WsEvent>;
  private readonly ctx: Context;
  private readonly h: WsHandlers;
  private closeReported = false;
  /**
   * Inside onEvents: sends only queue, and the wsi flushes once the batch is handled, so a
   * Close that came in the same read is answered after any reply to the messages before it
   */
  private dispatching = false;
  /** Pings are answered here, in event order, so a Pong never overtakes a reply to an earlier message */
  private readonly autoPong: boolean;
  private closeCode = 1006;
  private closeReason = '';

  /** Takes over `wsi` (after the handshake) and feeds it `rest`, the bytes that came with it. */
  constructor(ctx: Context, wsi: Wsi<unknown>, opts: WsConnectionOptions, handlers: WsHandlers, rest: Uint8Array) {
    this.ctx = ctx;
    this.h = handlers;
    this.autoPong = opts.autoPong ?? true;
    this.conn = new WsConnection({ ...opts, autoPong: false });
    this.wsi = wsi.switchProtocol(new WsMachine(this.conn), {
      onEvents: (_w, events) => this.onEvents(events),
      onClose: (_w, err) => this.report(err),
    });
    this.onEvents(this.conn.open(ctx.nowUs()));
    if (rest.length) this.onEvents(this.conn.receive(rest, ctx.nowUs()));
    this.wsi.flush();
  }

  get state(): WsConnection['state'] {
    return this.conn.state;
  }

  /** Bytes sent but not yet taken by the socket (as the browser's bufferedAmount): a slow peer shows here. */
  get bufferedAmount(): number {
    return this.wsi.backlogBytes;
  }

  /** Sends a message; after onClose (also a failure's, whose Close is still queued) ERR_WS_STATE. */
  send(data: string | Uint8Array): void {
    this.checkOpen();
    this.conn.send(data);
    if (!this.dispatching) this.wsi.flush();
  }

  ping(data?: Uint8Array | string): void {
    this.checkOpen();
    this.conn.ping(data);
    if (!this.dispatching) this.wsi.flush();
  }

  /** Starts the close handshake; the socket closes once the peer answers (or times out). */
  close(code = 1000, reason = ''): void {
    if (this.conn.state === 'closed' || this.conn.state === 'closing') return;
    this.conn.close(this.ctx.nowUs(), code, reason);
    this.wsi.flush();
  }

  /** Backpressure: stop reading until resume(). */
  pause(): void {
    this.wsi.pauseRx();
  }

  resume(): void {
    this.wsi.resumeRx();
  }

  private onEvents(events: WsEvent[]): void {
    const outer = this.dispatching;
    this.dispatching = true;
    try {
      this.dispatch(events);
    } finally {
      this.dispatching = outer;
    }
  }

  private dispatch(events: WsEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'open':
          this.h.onOpen?.(this);
          break;
        case 'message':
          this.h.onMessage?.(this, ev.data, ev.binary);
          break;
        case 'ping':
          if (this.autoPong && this.conn.canSend) this.conn.pong(ev.data);
          this.h.onPing?.(this, ev.data);
          break;
        case 'pong':
          this.wsi.validityConfirmed();
          this.h.onPong?.(this, ev.data);
          break;
        case 'close':
          this.closeCode = ev.code;
          this.closeReason = ev.reason;
          break;
        case 'error':
          this.report(ev.error);
          break;
      }
    }
  }

  /**
   * The connection still takes sends after a protocol failure until our Close is queued (so the
   * messages before the bad frame are answered), but once onClose has been reported nothing may
   * go out ahead of that Close.
   */
  private checkOpen(): void {
    if (this.closeReported) throw new UsageError('ERR_WS_STATE', 'cannot send: the WebSocket has closed', { state: this.conn.state });
  }

  private report(err: LwsxError | undefined): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.h.onClose?.(this, this.closeCode, this.closeReason, err);
  }
}
