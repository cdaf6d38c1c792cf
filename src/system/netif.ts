/**
 * The interface notifier: IFACE_COLDPLUG enumerates the host's interfaces; DHCP passes at once
 * for boards whose interfaces come up configured, and otherwise holds until something (the DHCP
 * client, or the board's own platform stack) reports a bound interface with `bound()`.
 */
import type { Host, NetIf } from '../net/host.js';
import type { InterfaceConfig } from './ops.js';
import type { StateManager } from './state.js';
import { SysState } from './states.js';
import type { System } from './system.js';

export class NetifNotifier {
  readonly name = 'netif';
  interfaces: NetIf[] = [];
  binding: InterfaceConfig | undefined;
  private readonly system: System;
  private readonly host: Host;

  constructor(system: System, host: Host) {
    this.system = system;
    this.host = host;
  }

  notify(_mgr: StateManager, current: number, target: number): 'ok' | 'hold' {
    if (current === target) return 'ok';
    if (target === SysState.IFACE_COLDPLUG) {
      this.interfaces = this.host.interfaces();
      return 'ok';
    }
    if (target === SysState.DHCP && this.system.board.description.interfaces === 'dhcp' && !this.binding) return 'hold';
    return 'ok';
  }

  /** An interface got its address: apply it through the board and let the boot walk go on. */
  bound(cfg: InterfaceConfig): void {
    this.binding = cfg;
    this.system.board.ops.configureInterface?.(cfg);
    if (this.system.state.state === SysState.IFACE_COLDPLUG) this.system.resumeLater();
  }

  /** The interface lost its address: take it off through the board. */
  unbound(name: string): void {
    if (this.binding?.name === name) this.binding = undefined;
    this.system.board.ops.deconfigureInterface?.(name);
  }
}
