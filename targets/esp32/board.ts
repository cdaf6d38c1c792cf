/**
 * An ESP32 devkit running Moddable. Same core, other ops: reboot is the chip's restart, the
 * clock is the RTC (Time.set), and the boot walk waits in DHCP until the Wi-Fi station has an
 * address (lwIP's DHCP on ESP-IDF does the lease; the netif event releases the state).
 */
import System from 'embedded:io/system';
import Time from 'time';
import WiFi from 'wifi';
import Net from 'net';
import type { Board, BoardDescription, BoardDevice } from '../../src/system/board.js';
import type { InterfaceConfig, SystemOps } from '../../src/system/ops.js';

export const esp32Description: BoardDescription = {
  board: 'esp32',
  identity: {
    serial: 'ESP32-DEVKIT-0001',
    firmwareVersion: '0.1.0',
    deviceType: 'lwsx-esp32-devkitc',
  },
  ntpServer: 'pool.ntp.org',
  interfaces: 'dhcp',
  policy: '../../policies/esp32.json',
};

function stationConfig(): InterfaceConfig {
  const cfg: InterfaceConfig = { name: 'sta', address: { family: 'IPv4', address: Net.get('IP'), prefixLength: 24 } };
  const dns = Net.get('DNS');
  if (dns.length) cfg.dns = dns;
  return cfg;
}

export class Esp32Board implements Board {
  readonly description = esp32Description;
  readonly ops: SystemOps = {
    reboot: () => System.restart(),
    // the RTC keeps whole seconds; the sub-second part is lost, as on lws's ESP32 set_clock
    setClock: (wallUs: number) => Time.set(Math.floor(wallUs / 1e6)),
    wakeLatencyUs: 2000,
  };
  private readonly policyText: string;
  private readonly wifi: { ssid: string; password?: string };

  /**
   * `policy` is the policy JSON the firmware embeds; `wifi` the station credentials (from
   * Moddable's mc/config, i.e. `mcconfig ssid=… password=…`).
   */
  constructor(policy: string, wifi: { ssid: string; password?: string }) {
    this.policyText = policy;
    this.wifi = wifi;
  }

  loadPolicy(): Promise<string> {
    return Promise.resolve(this.policyText);
  }

  start(device: BoardDevice): void {
    new WiFi(this.wifi, (msg: string) => {
      if (msg === WiFi.gotIP) device.interfaceBound(stationConfig());
      else device.log(`wifi ${msg}`);
    });
  }
}
