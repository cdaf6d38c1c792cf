/**
 * The waker's end for a Moddable Worker (which cannot hold the loop's Host): wake() sends one
 * datagram from the Worker's own UDP socket to the loop's wakeTarget(), which the loop only
 * honours from 127.0.0.1. Pair it with AttachClient (src/system/attach.ts).
 */
import UDP from 'embedded:io/socket/udp';
import { UsageError } from '../../src/util/errors.js';
import { isIpLiteral } from './native.js';
import type { NativeUdp } from './native.js';

export interface Waker {
  wake(): void;
  close(): void;
}

const WAKE_BYTE = new Uint8Array([0x77]);

export function xsWaker(target: { address: string; port: number }): Waker {
  if (!isIpLiteral(target.address)) throw new UsageError('ERR_WAKE_TARGET', 'wake target address must be an IP literal', { address: target.address });
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new UsageError('ERR_WAKE_TARGET', 'wake target port must be 1..65535', { port: target.port });
  }
  // the datagram is copied into a pbuf before write() returns, so close() right after is safe
  const socket = new UDP({}) as unknown as NativeUdp;
  let closed = false;
  return {
    wake(): void {
      if (closed) throw new UsageError('ERR_SOCKET_CLOSED', 'wake() after close()');
      socket.write(target.address, target.port, WAKE_BYTE);
    },
    close(): void {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
