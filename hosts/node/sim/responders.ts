/**
 * The simulator's own network, so a boot with no outside network still goes through real DNS
 * and SNTP exchanges: a small authoritative DNS server for the simulated zone (on dns-packet)
 * and an SNTP server that answers from this machine's clock, both on loopback ports the kernel
 * picks. Only the simulated device talks to them.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { wallClockUs } from '../clock.js';

export interface ZoneRecord {
  name: string;
  a?: string[];
  aaaa?: string[];
  cname?: string;
}

export interface Responders {
  dns: { address: string; port: number; queries: number };
  ntp: { address: string; port: number; requests: number };
  close(): Promise<void>;
}

const NTP_UNIX_OFFSET_S = 2_208_988_800;
const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 } as const;

function bind(sock: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve(sock.address().port));
  });
}

/** Answers A/AAAA/CNAME for names in `zone`; NXDOMAIN for other names in the zone's domain, REFUSED elsewhere. */
function answerDns(msg: Buffer, domain: string, zone: Map<string, ZoneRecord>, ttl: number): Buffer | undefined {
  let q: dnsPacket.Packet;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return undefined; // not DNS: say nothing, as a real server would
  }
  const question = q.questions?.[0];
  if (q.type !== 'query' || !question) return undefined;
  const name = question.name.toLowerCase();
  const inZone = name === domain || name.endsWith(`.${domain}`);
  const answers: dnsPacket.Answer[] = [];
  let rcode: keyof typeof RCODE = inZone ? 'NOERROR' : 'REFUSED';
  let cur = name;
  for (let depth = 0; inZone && depth < 8; depth++) {
    const rec = zone.get(cur);
    if (!rec) {
      if (depth === 0) rcode = 'NXDOMAIN';
      break;
    }
    if (rec.cname) {
      answers.push({ type: 'CNAME', class: 'IN', name: cur, ttl, data: rec.cname });
      cur = rec.cname.toLowerCase();
      continue;
    }
    if (question.type === 'A') for (const a of rec.a ?? []) answers.push({ type: 'A', class: 'IN', name: cur, ttl, data: a });
    if (question.type === 'AAAA') for (const a of rec.aaaa ?? []) answers.push({ type: 'AAAA', class: 'IN', name: cur, ttl, data: a });
    break;
  }
  const authorities: dnsPacket.Answer[] =
    inZone && (rcode === 'NXDOMAIN' || answers.length === 0)
      ? [{ type: 'SOA', class: 'IN', name: domain, ttl, data: { mname: `ns.${domain}`, rname: `hostmaster.${domain}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: ttl } }]
      : [];
  return dnsPacket.encode({
    id: q.id ?? 0,
    type: 'response',
    // dns-packet encodes the rcode only from the low bits of flags
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | RCODE[rcode],
    questions: q.questions ?? [],
    answers,
    authorities,
  } as dnsPacket.Packet);
}

/** Writes unix µs as an NTP timestamp (seconds since 1900 + 2^-32 fraction). */
function ntpTime(buf: Buffer, at: number, unixUs: number): void {
  const secs = Math.floor(unixUs / 1e6);
  const frac = Math.floor(((unixUs - secs * 1e6) / 1e6) * 2 ** 32);
  buf.writeUInt32BE((secs + NTP_UNIX_OFFSET_S) >>> 0, at);
  buf.writeUInt32BE(frac >>> 0, at + 4);
}

/** A server-mode SNTP reply to a client request, from this machine's clock (stratum 2). */
function answerNtp(req: Buffer): Buffer | undefined {
  if (req.length < 48 || (req[0]! & 0x07) !== 3) return undefined;
  const recvUs = wallClockUs();
  const r = Buffer.alloc(48);
  const vn = (req[0]! >> 3) & 0x07;
  r[0] = (0 << 6) | (vn << 3) | 4; // LI 0, client's version, mode 4
  r[1] = 2; // stratum 2: synchronised, below a primary
  r[2] = req[2]!; // poll
  r[3] = 0xec; // precision 2^-20 s
  r.writeUInt32BE(0x7f000001, 12); // reference id: the upstream's IPv4 (loopback here)
  ntpTime(r, 16, recvUs - 60_000_000); // reference time: last set a minute ago
  req.copy(r, 24, 40, 48); // originate = the client's transmit timestamp
  ntpTime(r, 32, recvUs);
  ntpTime(r, 40, wallClockUs());
  return r;
}

export async function startResponders(domain: string, records: ZoneRecord[], ttl = 60): Promise<Responders> {
  const zone = new Map(records.map((r) => [r.name.toLowerCase(), r]));
  const dnsSock = createSocket('udp4');
  const ntpSock = createSocket('udp4');
  const out: Responders = {
    dns: { address: '127.0.0.1', port: await bind(dnsSock), queries: 0 },
    ntp: { address: '127.0.0.1', port: await bind(ntpSock), requests: 0 },
    close: async () => {
      await Promise.all([new Promise<void>((r) => dnsSock.close(() => r())), new Promise<void>((r) => ntpSock.close(() => r()))]);
    },
  };
  dnsSock.on('message', (msg: Buffer, from: RemoteInfo) => {
    out.dns.queries++;
    const reply = answerDns(msg, domain.toLowerCase(), zone, ttl);
    if (reply) dnsSock.send(reply, from.port, from.address);
  });
  ntpSock.on('message', (msg: Buffer, from: RemoteInfo) => {
    out.ntp.requests++;
    const reply = answerNtp(msg);
    if (reply) ntpSock.send(reply, from.port, from.address);
  });
  // the simulator's lifetime is the device's: these sockets must not keep it alive alone
  dnsSock.unref();
  ntpSock.unref();
  return out;
}
