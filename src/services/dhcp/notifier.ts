/**
 * Ties a DhcpClient to the system state machine, as lws's DHCP client is tied to
 * LWS_SYSTATE_DHCP: asked to enter DHCP, it starts the client and holds the boot walk until a
 * lease is bound (the client's `ctx.netif.bound()` then resumes it); when the context goes to
 * CONTEXT_DESTROYING it gives the lease back (RELEASE) and closes the socket.
 *
 * Register it after the context exists: `ctx.system.register(new DhcpNotifier(client))`. It is
 * asked before the netif notifier, so the hold is reported as "held by dhcp".
 */
import type { Notifier, StateManager } from '../../system/state.js';
import { SysState } from '../../system/states.js';
import type { DhcpClient } from './client.js';

export class DhcpNotifier implements Notifier {
  readonly name = 'dhcp';

  constructor(private readonly client: DhcpClient) {}

  notify(_mgr: StateManager, current: number, target: number): 'ok' | 'hold' {
    if (target === SysState.CONTEXT_DESTROYING) {
      // asked, and told again on arrival: release() is idempotent
      this.client.release();
      return 'ok';
    }
    if (current === target || target !== SysState.DHCP) return 'ok';
    if (this.client.lease) return 'ok';
    this.client.start();
    return 'hold';
  }
}
