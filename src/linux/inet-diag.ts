// sock_diag's view of an inet socket: a SOCK_DIAG_BY_FAMILY message (a destroy broadcast, or a dump
// reply) → its ends, owner and, for TCP, the counters of struct tcp_info. Layouts from
// include/uapi/linux/inet_diag.h (struct inet_diag_msg, the INET_DIAG_* attributes) and
// include/uapi/linux/tcp.h (struct tcp_info). Never throws: a message too short for what it claims
// is an outcome the caller counts.
import { ipv4Text, ipv6Text } from './ip-text.js';
import { AF_INET, AF_INET6 } from './socket.js';

// include/uapi/linux/sock_diag.h
export const NETLINK_SOCK_DIAG = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
/** Multicast groups of destroyed sockets (enum sknetlink_groups); bind with 1 << (group - 1). */
export const SKNLGRP_INET_TCP_DESTROY = 1;
export const SKNLGRP_INET_UDP_DESTROY = 2;
export const SKNLGRP_INET6_TCP_DESTROY = 3;
export const SKNLGRP_INET6_UDP_DESTROY = 4;

const NLMSG_HDRLEN = 16;
const INET_DIAG_MSG_BYTES = 72;
// enum inet_diag_attr: INET_DIAG_INFO carries struct tcp_info for TCP; INET_DIAG_PROTOCOL the IP protocol (u8).
const INET_DIAG_INFO = 2;
const INET_DIAG_PROTOCOL = 10;
// struct tcp_info offsets; the struct only grows, so a shorter one (an older kernel) lacks the later fields.
const TCPI = { rtt: 68, totalRetrans: 100, bytesAcked: 120, bytesReceived: 128, segsOut: 136, segsIn: 140, dataSegsIn: 152, dataSegsOut: 156, bytesSent: 200, bytesRetrans: 208 } as const;

export interface TcpCounters {
  /** tcpi_bytes_sent (Linux 5.5): payload bytes sent, retransmissions included. */
  bytesSent: number | null;
  bytesRetrans: number | null;
  /** tcpi_bytes_acked: payload acknowledged by the peer, plus one for each of our SYN and FIN it acknowledged. */
  bytesAcked: number;
  /** tcpi_bytes_received: payload received, plus one when the peer's FIN arrived before the socket went. */
  bytesReceived: number;
  segsOut: number;
  segsIn: number;
  dataSegsOut: number;
  dataSegsIn: number;
  totalRetrans: number;
  /** Smoothed RTT, µs. */
  rttUs: number;
}

export interface InetDiagSocket {
  family: typeof AF_INET | typeof AF_INET6;
  /** TCP state (include/net/tcp_states.h: 7 = TCP_CLOSE, as every destroyed socket is). */
  state: number;
  protocol: number | null;
  localAddr: string;
  localPort: number;
  /** Unspecified (0.0.0.0 / ::, port 0) for an unconnected socket. */
  remoteAddr: string;
  remotePort: number;
  uid: number;
  /** 0 in a destroy broadcast (the inode is gone by then). */
  inode: number;
  /** The socket's cookie, unique while the host runs (as 16 hex digits). */
  cookie: string;
  tcp: TcpCounters | null;
}

export type InetDiagResult = { ok: true; socket: InetDiagSocket } | { ok: false; reason: 'not-sock-diag' | 'truncated' | 'family' };

/** One netlink message (header included) → the socket it describes. */
export function parseInetDiag(message: Buffer): InetDiagResult {
  if (message.length < NLMSG_HDRLEN) return { ok: false, reason: 'truncated' };
  if (message.readUInt16LE(4) !== SOCK_DIAG_BY_FAMILY) return { ok: false, reason: 'not-sock-diag' };
  const length = Math.min(message.readUInt32LE(0), message.length);
  if (length < NLMSG_HDRLEN + INET_DIAG_MSG_BYTES) return { ok: false, reason: 'truncated' };
  const m = message.subarray(NLMSG_HDRLEN, length);
  const family = m[0] as number;
  if (family !== AF_INET && family !== AF_INET6) return { ok: false, reason: 'family' };
  const address = (at: number): string => (family === AF_INET ? ipv4Text(m.subarray(at, at + 4)) : ipv6Text(m.subarray(at, at + 16)));
  let protocol: number | null = null;
  let tcp: TcpCounters | null = null;
  for (let at = INET_DIAG_MSG_BYTES; at + 4 <= m.length; ) {
    const attrLength = m.readUInt16LE(at);
    if (attrLength < 4 || at + attrLength > m.length) return { ok: false, reason: 'truncated' };
    const value = m.subarray(at + 4, at + attrLength);
    const type = m.readUInt16LE(at + 2);
    if (type === INET_DIAG_PROTOCOL && value.length >= 1) protocol = value[0] as number;
    if (type === INET_DIAG_INFO) tcp = tcpCounters(value);
    at += (attrLength + 3) & ~3;
  }
  return {
    ok: true,
    socket: {
      family,
      state: m[1] as number,
      protocol,
      localPort: m.readUInt16BE(4),
      remotePort: m.readUInt16BE(6),
      localAddr: address(8),
      remoteAddr: address(24),
      uid: m.readUInt32LE(64),
      inode: m.readUInt32LE(68),
      cookie: m.toString('hex', 44, 52),
      tcp,
    },
  };
}

function tcpCounters(info: Buffer): TcpCounters | null {
  if (info.length < TCPI.dataSegsOut + 4) return null;
  const u64 = (at: number): number | null => (info.length >= at + 8 ? Number(info.readBigUInt64LE(at)) : null);
  return {
    bytesSent: u64(TCPI.bytesSent),
    bytesRetrans: u64(TCPI.bytesRetrans),
    bytesAcked: u64(TCPI.bytesAcked) ?? 0,
    bytesReceived: u64(TCPI.bytesReceived) ?? 0,
    segsOut: info.readUInt32LE(TCPI.segsOut),
    segsIn: info.readUInt32LE(TCPI.segsIn),
    dataSegsOut: info.readUInt32LE(TCPI.dataSegsOut),
    dataSegsIn: info.readUInt32LE(TCPI.dataSegsIn),
    totalRetrans: info.readUInt32LE(TCPI.totalRetrans),
    rttUs: info.readUInt32LE(TCPI.rtt),
  };
}
