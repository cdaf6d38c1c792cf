/**
 * The simulator's own MQTT broker: aedes on 127.0.0.1 (an ephemeral port unless one is asked
 * for), in the simulator process, so `--mqtt` works with no outside network. It is a peer of
 * the device, like the embedded DNS and SNTP responders: it outlives reboots (the device's
 * client reconnects to it) and goes when the simulator stops. aedes speaks MQTT 3.1.1 only.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  readonly aedes: Aedes;
  readonly address: string;
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(opts: { host?: string; port?: number } = {}): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  const address = opts.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, address, () => resolve());
    });
  } catch (e) {
    await new Promise<void>((r) => aedes.close(() => r()));
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    aedes,
    address,
    port,
    url: `mqtt://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close();
        // aedes closes its clients first; then whatever is left of the sockets goes
        aedes.close(() => {
          for (const s of sockets) s.destroy();
          resolve();
        });
      })),
  };
}
