/**
 * What the client sends (RFC 2131 table 5), as bytes: one function, no state. Every message
 * carries the client identifier (61: hardware type 1 and the MAC); DISCOVER and REQUEST also
 * carry the parameter request list (and the hostname, if any); the caller passes the fields
 * the state calls for (requested IP 50 and server id 54 when selecting, ciaddr when renewing…).
 * The BOOTP broadcast flag is set unless `flags` says otherwise (DECLINE and RELEASE use 0).
 */
import { DHCP_PARAMETER_REQUEST_LIST, DhcpMessageType } from './options.js';
import type { DhcpOptions } from './options.js';
import { BOOTP_FLAG_BROADCAST, BOOTREQUEST, HTYPE_ETHERNET, encodeDhcp } from './packet.js';

export interface ClientIdentity {
  /** 6 bytes */
  mac: Uint8Array;
  hostname?: string;
}

export interface RequestFields {
  xid: number;
  /** seconds since the acquisition or renewal began (clamped to 0..65535) */
  secs: number;
  ciaddr?: number;
  requestedIp?: number;
  serverId?: number;
  flags?: number;
}

/** Option 61 for an Ethernet MAC (RFC 2132 §9.14). */
export function clientIdFor(mac: Uint8Array): Uint8Array {
  const id = new Uint8Array(1 + mac.length);
  id[0] = HTYPE_ETHERNET;
  id.set(mac, 1);
  return id;
}

export function buildClientMessage(type: DhcpMessageType, me: ClientIdentity, f: RequestFields): Uint8Array {
  const options: DhcpOptions = { messageType: type, clientId: clientIdFor(me.mac) };
  if (f.requestedIp !== undefined) options.requestedIp = f.requestedIp;
  if (f.serverId !== undefined) options.serverId = f.serverId;
  if (type === DhcpMessageType.DISCOVER || type === DhcpMessageType.REQUEST) {
    options.parameterRequestList = DHCP_PARAMETER_REQUEST_LIST.slice();
    if (me.hostname !== undefined) options.hostname = me.hostname;
  }
  return encodeDhcp({
    op: BOOTREQUEST,
    xid: f.xid,
    secs: Math.max(0, Math.min(0xffff, Math.floor(f.secs))),
    flags: f.flags ?? BOOTP_FLAG_BROADCAST,
    ciaddr: f.ciaddr ?? 0,
    chaddr: me.mac,
    options,
  });
}
