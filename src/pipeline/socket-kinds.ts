// Socket kinds: the socket types and protocols a flow names, and the shapes the socket
// table and the /proc resolver share.
import { AF_INET, AF_INET6 } from './sockaddr.js';

// include/linux/net.h enum sock_type, and SOCK_TYPE_MASK (the flags SOCK_NONBLOCK = 0x800
// and SOCK_CLOEXEC = 0x80000 of include/linux/net.h sit above it).
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
const SOCK_TYPE_MASK = 0xf;

// IANA protocol numbers (include/uapi/linux/in.h IPPROTO_*); MPTCP's 262 is Linux's own.
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'icmp'],
  [2, 'igmp'],
  [6, 'tcp'],
  [17, 'udp'],
  [33, 'dccp'],
  [47, 'gre'],
  [58, 'ipv6-icmp'],
  [132, 'sctp'],
  [136, 'udplite'],
  [255, 'raw'],
  [262, 'mptcp'],
]);

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES.get(protocol) ?? `proto_${protocol}`;
}

export interface Endpoint {
  addr: string;
  port: number;
  /** Raw address bytes (4 or 16), for the Community ID. */
  bytes: Buffer;
}

export interface SocketInfo {
  family: number;
  /** SOCK_STREAM, SOCK_DGRAM, ... with the flag bits removed. */
  type: number;
  /** The IP protocol in effect: socket()'s protocol, or the one its type selects when 0. */
  protocol: number;
  local: Endpoint | undefined;
  /** The connected peer: from the socket's connect, or from /proc. */
  remote: Endpoint | undefined;
  source: 'socket' | 'proc';
}

/** What socket() with protocol 0 selects for an inet socket (net/ipv4/af_inet.c inetsw_array). */
export function effectiveProtocol(family: number, type: number, protocol: number): number {
  if (protocol !== 0 || (family !== AF_INET && family !== AF_INET6)) return protocol;
  if (type === SOCK_STREAM) return 6;
  if (type === SOCK_DGRAM) return 17;
  if (type === SOCK_SEQPACKET) return 132;
  return protocol;
}

export const socketType = (rawType: number): number => rawType & SOCK_TYPE_MASK;

/** What the events already say about a socket: the resolver looks where such a socket is listed. */
export type SocketHint = Pick<SocketInfo, 'family' | 'type' | 'protocol'>;

/** Finds a socket through /proc; the live daemon passes procSocketResolver, replay nothing. */
export type SocketResolver = (pid: number, fd: number, hint?: SocketHint) => SocketInfo | undefined;

