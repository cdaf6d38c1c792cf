/**
 * How the HTTP server's answers reach the socket (NodeHost, real loopback): a whole response
 * from reply() is one write whether the handler answers at once or later; pipelined requests
 * answered while one read is handled share one write; every byte arrives in order.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import type { NodeListenOptions } from '../../hosts/node/listener.js';
import { Context } from '../../src/loop/context.js';
import type { AcceptedTCP, Bytes, Listener, SocketCallbacks } from '../../src/net/host.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import type { HttpExchange } from '../../src/protocols/h1/http-server.js';
import { waitFor } from '../helpers/wait.js';

/** The Node host recording the size of every write on the connections its listeners accept. */
class TestHost extends NodeHost {
  readonly writes: number[] = [];
  override listener(opts: NodeListenOptions): ReturnType<NodeHost['listener']> {
    const l = super.listener(opts);
    const read = l.read.bind(l);
    (l as Listener).read = (): AcceptedTCP | undefined => {
      const a = read();
      if (!a) return a;
      return {
        adopt: (cb: SocketCallbacks) => {
          const s = a.adopt(cb);
          const write = s.write.bind(s);
          s.write = (d: Bytes): number => {
            this.writes.push(d.byteLength);
            return write(d);
          };
          return s;
        },
      };
    };
    return l;
  }
}

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let host: TestHost;
let ctx: Context;
let client: Socket | undefined;

afterEach(() => {
  client?.destroy();
  ctx.destroy();
});

async function serve(handler: (x: HttpExchange) => void): Promise<{ port: number }> {
  host = new TestHost();
  await host.ready();
  ctx = new Context({ host, board });
  const srv = new HttpServer(ctx, { listen: { address: '127.0.0.1', port: 0 }, mounts: [{ kind: 'callback', prefix: '/', handler }] });
  const port = await (srv.listener as unknown as { bound(): Promise<number> }).bound();
  return { port };
}

const RESPONSE = (path: string): string => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${path.length}\r\n\r\n${path}`;

async function exchange(port: number, requests: string): Promise<string> {
  let got = '';
  client = connect(port, '127.0.0.1');
  client.on('data', (d) => { got += d.toString('latin1'); });
  await new Promise<void>((r) => client?.once('connect', () => r()));
  client.write(requests);
  const want = requests.split('GET ').length - 1;
  await waitFor('the responses', () => got.split('HTTP/1.1 200').length - 1 === want);
  return got;
}

test('a reply given at once: one write per response; pipelined requests in one read: one write for all', async () => {
  const { port } = await serve((x) => x.reply(200, x.path, [['content-type', 'text/plain']]));
  const one = await exchange(port, 'GET /a HTTP/1.1\r\nhost: x\r\n\r\n');
  expect(one).toBe(RESPONSE('/a'));
  expect(host.writes).toEqual([RESPONSE('/a').length]);
  client?.destroy();
  host.writes.length = 0;
  const three = await exchange(port, ['/x', '/yy', '/zzz'].map((p) => `GET ${p} HTTP/1.1\r\nhost: x\r\n\r\n`).join(''));
  expect(three).toBe(RESPONSE('/x') + RESPONSE('/yy') + RESPONSE('/zzz'));
  expect(host.writes).toEqual([three.length]);
});

test('a reply given later (outside the read) is still one write: head and body together', async () => {
  const { port } = await serve((x) => { setTimeout(() => x.reply(200, x.path, [['content-type', 'text/plain']]), 5); });
  const got = await exchange(port, 'GET /later HTTP/1.1\r\nhost: x\r\n\r\n');
  expect(got).toBe(RESPONSE('/later'));
  expect(host.writes).toEqual([RESPONSE('/later').length]);
});
