// Socket numbers: address families, socket types and IP protocols, and their names.

// include/linux/socket.h
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

const FAMILY_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'unspec'],
  [AF_UNIX, 'unix'],
  [AF_INET, 'inet'],
  [3, 'ax25'],
  [4, 'ipx'],
  [5, 'appletalk'],
  [AF_INET6, 'inet6'],
  [AF_NETLINK, 'netlink'],
  [17, 'packet'],
  [29, 'can'],
  [31, 'bluetooth'],
  [38, 'alg'],
  [40, 'vsock'],
  [44, 'xdp'],
  [45, 'mctp'],
]);

export function familyName(family: number): string {
  return FAMILY_NAMES.get(family) ?? `af_${family}`;
}

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

/** What socket() with protocol 0 selects for an inet socket (net/ipv4/af_inet.c inetsw_array). */
export function effectiveProtocol(family: number, type: number, protocol: number): number {
  if (protocol !== 0 || (family !== AF_INET && family !== AF_INET6)) return protocol;
  if (type === SOCK_STREAM) return 6;
  if (type === SOCK_DGRAM) return 17;
  if (type === SOCK_SEQPACKET) return 132;
  return protocol;
}

export const socketType = (rawType: number): number => rawType & SOCK_TYPE_MASK;
