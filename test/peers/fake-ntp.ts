/**
 * A small NTP server on 127.0.0.1 for what chrony will not do: Kiss-o'-Death (RATE, DENY,
 * RSTR), unsynchronised replies (leap 3, stratum 0 "INIT", stratum 16) and replies that are not
 * ours (a wrong origin). Replies are built here byte by byte with Buffer, independently of the
 * codec under test, from this machine's clock.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';

const NTP_UNIX_OFFSET_S = 2_208_988_800;

export type FakeBehaviour =
  | { kind: 'time'; leap?: number; stratum?: number }
  | { kind: 'kod'; code: string }
  | { kind: 'bogus-origin' }
  | { kind: 'silent' };

export interface FakeNtp {
  address: string;
  port: number;
  /** requests received so far */
  requests: number;
  /** what the next requests get (changeable mid-test) */
  behaviour: FakeBehaviour;
  close(): Promise<void>;
}

function writeTime(b: Buffer, at: number, unixUs: number): void {
  const secs = Math.floor(unixUs / 1e6);
  b.writeUInt32BE((secs + NTP_UNIX_OFFSET_S) >>> 0, at);
  b.writeUInt32BE(Math.floor(((unixUs - secs * 1e6) * 2 ** 32) / 1e6) >>> 0, at + 4);
}

function reply(req: Buffer, how: FakeBehaviour): Buffer | undefined {
  if (how.kind === 'silent' || req.length < 48 || (req[0]! & 7) !== 3) return undefined;
  const r = Buffer.alloc(48);
  const nowUs = Date.now() * 1000;
  const vn = (req[0]! >> 3) & 7;
  if (how.kind === 'kod') {
    r[0] = (3 << 6) | (vn << 3) | 4; // KoD: leap 3, stratum 0, the code in the reference id
    r[1] = 0;
    r.write(how.code.padEnd(4, ' ').slice(0, 4), 12, 'latin1');
  } else {
    r[0] = ((how.kind === 'time' ? (how.leap ?? 0) : 0) << 6) | (vn << 3) | 4;
    r[1] = how.kind === 'time' ? (how.stratum ?? 2) : 2;
    r.writeUInt32BE(0x7f000001, 12);
    writeTime(r, 16, nowUs - 60_000_000);
    writeTime(r, 32, nowUs);
    writeTime(r, 40, nowUs);
  }
  r[2] = req[2]!;
  r[3] = 0xec;
  if (how.kind === 'bogus-origin') {
    req.copy(r, 24, 40, 48);
    r[31] ^= 0x5a; // an origin we never sent
  } else {
    req.copy(r, 24, 40, 48);
  }
  return r;
}

export async function startFakeNtp(behaviour: FakeBehaviour): Promise<FakeNtp> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const fake: FakeNtp = {
    address: '127.0.0.1',
    port: sock.address().port,
    requests: 0,
    behaviour,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    fake.requests++;
    const r = reply(msg, fake.behaviour);
    if (r) sock.send(r, from.port, from.address);
  });
  return fake;
}
