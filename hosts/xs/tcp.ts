/**
 * Client and adopted TCP streams on embedded:io/socket/tcp. Moddable's lwIP socket dials an
 * address only (there is no resolver behind it), so a name must have been resolved by the
 * core's DNS first; an address-shaped `host` is accepted as the address.
 */
import TCP from 'embedded:io/socket/tcp';
import type { SocketCallbacks, TcpOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { isIpLiteral } from './native.js';
import type { NativeStream } from './native.js';
import { XsStream } from './stream.js';

/** The literal address and port to dial, or a usage error saying why there is none. */
export function dialAddress(opts: TcpOptions): { address: string; port: number } {
  const address = opts.address ?? (opts.host !== undefined && isIpLiteral(opts.host) ? opts.host : undefined);
  if (address === undefined || !isIpLiteral(address)) {
    throw new UsageError('ERR_TCP_ADDRESS', 'the XS host dials IP addresses only: resolve the name first', { address: opts.address, host: opts.host });
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new UsageError('ERR_TCP_PORT', 'tcp: port must be 1..65535', { port: opts.port });
  }
  return { address, port: opts.port };
}

export function connectTcp(opts: TcpOptions): XsStream {
  const { address, port } = dialAddress(opts);
  const stream = new XsStream(opts, false);
  const native = new TCP({
    address,
    port,
    ...(opts.nodelay !== undefined ? { nodelay: opts.nodelay } : {}),
    ...stream.nativeCallbacks(),
  });
  return stream.attach(native as unknown as NativeStream);
}

/** Takes over a connection a Listener handed out (ECMA-419's `from`). */
export function adoptTcp(from: TCP, callbacks: SocketCallbacks): XsStream {
  const stream = new XsStream(callbacks, false);
  const native = new TCP({ from, ...stream.nativeCallbacks() });
  return stream.attach(native as unknown as NativeStream);
}
