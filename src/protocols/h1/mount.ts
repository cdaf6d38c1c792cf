/**
 * The HTTP mount table, as lws's lws_http_mount: a URL prefix maps to a callback, a directory
 * of files (through the board's file source: on host-sim, the desktop's file system), or a
 * redirect. The longest matching prefix wins.
 */
import type { WsConnectionOptions } from '../ws/connection.js';
import type { DeflateOptions } from '../ws/extensions.js';
import type { WsHandlers } from '../ws/ws-socket.js';
import type { HttpExchange } from './http-server.js';

/** Where static files come from: bytes for a path under the mount's origin, or undefined. */
export interface FileSource {
  read(path: string): Promise<Uint8Array | undefined>;
}

export type Mount =
  | { kind: 'callback'; prefix: string; handler: (x: HttpExchange) => void }
  | { kind: 'files'; prefix: string; source: FileSource; defaultFile?: string }
  | { kind: 'redirect'; prefix: string; location: string; status?: 301 | 302 | 307 | 308 }
  /** a WebSocket endpoint: upgrade requests become WsSockets driven by `handlers` */
  | {
      kind: 'ws';
      prefix: string;
      protocols?: readonly string[];
      /** accept permessage-deflate within these limits (only when the host can compress) */
      deflate?: DeflateOptions;
      connection?: Omit<WsConnectionOptions, 'role' | 'random' | 'protocol' | 'extensions' | 'deflater'>;
      handlers: (x: HttpExchange) => WsHandlers;
    };

/** The mount for `path`: the longest prefix that matches at a segment boundary. */
export function matchMount(mounts: readonly Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const p = m.prefix;
    const hit = path === p || (path.startsWith(p) && (p.endsWith('/') || path[p.length] === '/'));
    if (hit && (!best || p.length > best.prefix.length)) best = m;
  }
  return best;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css',
  js: 'application/javascript',
  mjs: 'application/javascript',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  ico: 'image/x-icon',
  wasm: 'application/wasm',
};

export function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot >= 0 && TYPES[path.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}

/**
 * The file a request under a files mount names, relative to the mount, or undefined when the
 * path tries to leave it (".." segments; the parser already refused %00 and bad escapes).
 */
export function mountRelativePath(mountPrefix: string, path: string, defaultFile = 'index.html'): string | undefined {
  let rest = path.slice(mountPrefix.length);
  if (rest === '' || rest.endsWith('/')) rest += defaultFile;
  const parts: string[] = [];
  for (const seg of rest.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' || seg.includes('\\')) return undefined;
    parts.push(seg);
  }
  return parts.join('/');
}
