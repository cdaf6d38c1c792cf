/**
 * The waker's end of the wakeup pair, for threads that cannot hold the Host (worker_threads):
 * each wake() sends one datagram to the loop's wakeTarget(). The loop coalesces them, so
 * calling wake() often is cheap for the loop; it costs this thread one send each.
 *
 * The socket is unref'd: it never keeps a worker alive by itself, while a send in progress
 * does (libuv keeps the loop running for pending requests). close() waits for sends still in
 * progress, so a worker may wake() and close() back to back without losing the wakeup.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { UsageError } from '../../src/util/errors.js';

export interface Waker {
  wake(): void;
  close(): void;
}

const WAKE_BYTE = new Uint8Array([0x77]);

export function nodeWaker(target: { address: string; port: number }): Waker {
  const family = isIP(target.address);
  if (family === 0) throw new UsageError('ERR_WAKE_TARGET', 'wake target address must be an IP literal', { address: target.address });
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new UsageError('ERR_WAKE_TARGET', 'wake target port must be 1..65535', { port: target.port });
  }
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  socket.unref();
  // a lost datagram is a lost wakeup, but the waker has nobody to tell: the loop also runs on
  // its own timers, and the attach record stays queued for that run
  socket.on('error', () => {});
  let inFlight = 0;
  let closing = false;
  let closed = false;
  const finish = (): void => {
    if (closing && inFlight === 0 && !closed) {
      closed = true;
      socket.close();
    }
  };
  return {
    wake(): void {
      if (closing) throw new UsageError('ERR_SOCKET_CLOSED', 'wake() after close()');
      inFlight++;
      socket.send(WAKE_BYTE, target.port, target.address, () => {
        inFlight--;
        finish();
      });
    },
    close(): void {
      closing = true;
      finish();
    },
  };
}
