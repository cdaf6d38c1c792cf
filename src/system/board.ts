/**
 * A board: identity, HAL ops and where its policy comes from. Customising a device means
 * writing a Board, never changing the core. The description is plain data (a board file);
 * `parseBoardFile` validates it with typed errors naming the offending field.
 */
import { LwsxError } from '../util/errors.js';
import type { InterfaceConfig, SystemOps } from './ops.js';

export class BoardError extends LwsxError {}

export interface BoardIdentity {
  serial: string;
  firmwareVersion: string;
  deviceType: string;
}

export interface BoardDescription {
  /** board name, e.g. "host-sim" */
  board: string;
  identity: BoardIdentity;
  /** NTP server for the NTP_SERVER blob */
  ntpServer?: string;
  /** "preconfigured": interfaces come up configured (desktop); "dhcp": a DHCP client must bind one */
  interfaces: 'preconfigured' | 'dhcp';
  /** policy file path, relative to the board file */
  policy?: string;
}

export interface Board {
  readonly description: BoardDescription;
  readonly ops: SystemOps;
  /** The board's Secure Streams policy as JSON text; absent means the device runs without one. */
  loadPolicy?(): Promise<string>;
  /** Called once the context exists, before boot: hook platform events to the device. */
  start?(device: BoardDevice): void;
}

/** What a board may do to the device it runs (the context, narrowed). */
export interface BoardDevice {
  /** an interface got its address (a DHCP lease, a platform netif event) */
  interfaceBound(cfg: InterfaceConfig): void;
  log(msg: string, fields?: Record<string, unknown>): void;
}

function fail(source: string, path: string, expected: string, got?: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  throw new BoardError('ERR_BOARD_FILE', `${source}: ${path} must be ${expected} (got ${shown})`, {
    source,
    path,
    expected,
  });
}

function str(o: Record<string, unknown>, key: string, path: string, source: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 128) fail(source, path, 'a string of 1 to 128 characters', v);
  return v;
}

/** JSON.parse's message carries the position; keep it, with a stable code. */
function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BoardError('ERR_BOARD_JSON', `${source}: not valid JSON: ${(e as Error).message}`, { source }, e);
  }
}

const KNOWN_KEYS = ['board', 'identity', 'ntpServer', 'interfaces', 'policy', '$comment'];

export function parseBoardFile(text: string, source = 'board file'): BoardDescription {
  const root = parseJson(text, source);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) fail(source, '$', 'an object', root);
  const o = root as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN_KEYS.includes(k)) fail(source, k, `one of the known keys (${KNOWN_KEYS.join(', ')})`, k);
  const board = str(o, 'board', 'board', source) as string;
  const id = o['identity'];
  if (typeof id !== 'object' || id === null || Array.isArray(id)) fail(source, 'identity', 'an object', id);
  const ido = id as Record<string, unknown>;
  const identity: BoardIdentity = {
    serial: str(ido, 'serial', 'identity.serial', source) as string,
    firmwareVersion: str(ido, 'firmwareVersion', 'identity.firmwareVersion', source) as string,
    deviceType: str(ido, 'deviceType', 'identity.deviceType', source) as string,
  };
  const interfaces = o['interfaces'] ?? 'preconfigured';
  if (interfaces !== 'preconfigured' && interfaces !== 'dhcp') fail(source, 'interfaces', '"preconfigured" or "dhcp"', interfaces);
  const desc: BoardDescription = { board, identity, interfaces };
  const ntp = str(o, 'ntpServer', 'ntpServer', source, true);
  if (ntp !== undefined) desc.ntpServer = ntp;
  const policy = str(o, 'policy', 'policy', source, true);
  if (policy !== undefined) desc.policy = policy;
  return desc;
}
