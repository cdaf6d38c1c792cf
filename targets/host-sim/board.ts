/**
 * The host-sim board: a device simulated on the desktop. Its ops never touch the machine:
 * setClock keeps an offset from the host's wall clock, reboot restarts the simulated device
 * in-process (the simulator passes what "restart" means), and its identity comes from its
 * board file.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Host } from '../../src/net/host.js';
import { BoardError, parseBoardFile } from '../../src/system/board.js';
import type { Board, BoardDescription } from '../../src/system/board.js';
import { CpdResult } from '../../src/system/ops.js';
import type { InterfaceConfig, MetricPub, SystemOps } from '../../src/system/ops.js';
import { PolicyError } from '../../src/system/policy-load.js';
import { linuxConfigureInterface, linuxDeconfigureInterface } from '../../hosts/node/linux-netif.js';

export interface HostSimBoardOptions {
  host: Host;
  /** path of the board file */
  boardFile: string;
  /** overrides the board file's policy */
  policyFile?: string;
  /** what reboot means here: the simulator tears the device down and boots a new one */
  onReboot?: () => void;
  /**
   * "dhcp": the device owns a real interface (the simulator's --network dhcp, inside a network
   * namespace): its interfaces are not preconfigured, and configureInterface really applies the
   * lease with iproute2.
   */
  interfaces?: 'preconfigured' | 'dhcp';
  /** where configureInterface, metrics and cpd requests are reported */
  onEvent?: (what: string, fields: Record<string, unknown>) => void;
}

export class HostSimBoard implements Board {
  readonly description: BoardDescription;
  readonly ops: SystemOps;
  readonly policyPath: string | undefined;
  /** µs added to the host's wall clock: what setClock changed */
  clockOffsetUs = 0;
  /** present only when the board has a policy, as the core expects */
  readonly loadPolicy?: () => Promise<string>;

  constructor(opts: HostSimBoardOptions) {
    let text: string;
    try {
      text = readFileSync(opts.boardFile, 'utf8');
    } catch (e) {
      throw new BoardError('ERR_BOARD_MISSING', `board file ${opts.boardFile} cannot be read: ${(e as Error).message}`, { source: opts.boardFile }, e);
    }
    const desc = parseBoardFile(text, opts.boardFile);
    this.description = opts.interfaces ? { ...desc, interfaces: opts.interfaces } : desc;
    this.policyPath = opts.policyFile
      ? resolve(opts.policyFile)
      : this.description.policy
        ? resolve(dirname(opts.boardFile), this.description.policy)
        : undefined;
    const host = opts.host;
    const owns = opts.interfaces === 'dhcp';
    const event = opts.onEvent ?? (() => {});
    this.ops = {
      reboot: () => {
        event('reboot', {});
        opts.onReboot?.();
      },
      setClock: (wallUs: number) => {
        this.clockOffsetUs = wallUs - host.wallUs();
        event('setClock', { offsetUs: this.clockOffsetUs });
      },
      wallUs: () => host.wallUs() + this.clockOffsetUs,
      captivePortalDetectRequest: (report) => {
        // a desktop simulator sits behind no captive portal
        event('cpd', { result: 'INTERNET_OK' });
        report(CpdResult.INTERNET_OK);
      },
      metricReport: (m: MetricPub) => {
        event('metric', { ...m });
        return false;
      },
      configureInterface: (cfg: InterfaceConfig) => {
        // on the desktop the OS owns the interfaces: only record what the device would apply
        if (owns) linuxConfigureInterface(cfg);
        event('configureInterface', { ...cfg });
      },
      deconfigureInterface: (name: string) => {
        if (owns) linuxDeconfigureInterface(name);
        event('deconfigureInterface', { name });
      },
    };
    const path = this.policyPath;
    if (path !== undefined) this.loadPolicy = () => readPolicy(path);
  }
}

async function readPolicy(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PolicyError('ERR_POLICY_MISSING', `policy file ${path} cannot be read: ${(e as Error).message}`, { path }, e);
  }
}
