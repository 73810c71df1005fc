// Sockaddr: decodes a SOCKADDR record's `saddr` (the hex of the sockaddr the process passed,
// as many bytes as its addrlen said). sa_family is in host byte order (little-endian on the
// x86_64 and aarch64 kernels this runs on); ports and IPv4/IPv6 addresses in network order.
// Never throws: bad input gives a typed error.

import { ipv4Text, ipv6Text, isIpv4Mapped } from '../linux/ip-text.js';
import { AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, familyName } from '../linux/socket.js';

export type Sockaddr =
  | { family: 'inet'; addr: string; port: number; bytes: Buffer }
  | {
      family: 'inet6';
      /** RFC 5952 text; an IPv4-mapped address (::ffff:a.b.c.d) is given as the IPv4 text. */
      addr: string;
      port: number;
      flowinfo: number;
      /** sin6_scope_id, or undefined when the caller passed the 24-byte RFC 2133 form. */
      scopeId: number | undefined;
      ipv4Mapped: boolean;
      /** The address bytes: 4 for an IPv4-mapped address, else 16. */
      bytes: Buffer;
    }
  | { family: 'unix'; kind: 'path' | 'abstract' | 'unnamed'; path: string }
  | { family: 'netlink'; portId: number; groups: number }
  | { family: 'other'; number: number; name: string; data: Buffer };

export type SockaddrErrorKind = 'empty' | 'not-hex' | 'too-short';

export interface SockaddrError {
  kind: SockaddrErrorKind;
  /** The family, when at least its two bytes could be read. */
  family: number | undefined;
  detail: string;
}

export type SockaddrResult = { ok: true; value: Sockaddr } | { ok: false; error: SockaddrError };

// The kernel logs the caller's bytes before checking them (net/socket.c move_addr_to_kernel
// → audit_sockaddr), so a record can be shorter than the struct. These are the bytes each
// decode reads: family, port and address of include/uapi/linux/in.h sockaddr_in; up to the
// address of include/uapi/linux/in6.h sockaddr_in6 (SIN6_LEN_RFC2133 = 24, scope id after);
// family, pad, pid and groups of include/uapi/linux/netlink.h sockaddr_nl.
const MIN_INET = 8;
const MIN_INET6 = 24;
const MIN_NETLINK = 12;

const fail = (kind: SockaddrErrorKind, family: number | undefined, detail: string): SockaddrResult => ({ ok: false, error: { kind, family, detail } });

export function decodeSockaddrHex(hex: string): SockaddrResult {
  if (hex.length === 0) return fail('empty', undefined, 'saddr is empty');
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return fail('not-hex', undefined, `saddr is not hex: ${hex.slice(0, 64)}`);
  return decodeSockaddr(Buffer.from(hex, 'hex'));
}

export function decodeSockaddr(bytes: Buffer): SockaddrResult {
  if (bytes.length < 2) return fail('too-short', undefined, `${bytes.length} bytes, the family needs 2`);
  const family = bytes.readUInt16LE(0);
  switch (family) {
    case AF_INET:
      if (bytes.length < MIN_INET) return fail('too-short', family, `AF_INET needs ${MIN_INET} bytes, got ${bytes.length}`);
      return { ok: true, value: { family: 'inet', port: bytes.readUInt16BE(2), addr: ipv4Text(bytes.subarray(4, 8)), bytes: Buffer.from(bytes.subarray(4, 8)) } };
    case AF_INET6: {
      if (bytes.length < MIN_INET6) return fail('too-short', family, `AF_INET6 needs ${MIN_INET6} bytes, got ${bytes.length}`);
      const address = bytes.subarray(8, 24);
      const mapped = isIpv4Mapped(address);
      return {
        ok: true,
        value: {
          family: 'inet6',
          port: bytes.readUInt16BE(2),
          flowinfo: bytes.readUInt32BE(4),
          scopeId: bytes.length >= 28 ? bytes.readUInt32LE(24) : undefined,
          ipv4Mapped: mapped,
          addr: mapped ? ipv4Text(address.subarray(12)) : ipv6Text(address),
          bytes: Buffer.from(mapped ? address.subarray(12) : address),
        },
      };
    }
    case AF_UNIX: {
      // include/uapi/linux/un.h: sun_path; an addrlen of 2 is an unnamed socket, a leading
      // NUL an abstract name whose length is the addrlen (man 7 unix).
      const path = bytes.subarray(2);
      if (path.length === 0) return { ok: true, value: { family: 'unix', kind: 'unnamed', path: '' } };
      if (path[0] === 0) return { ok: true, value: { family: 'unix', kind: 'abstract', path: '@' + path.subarray(1).toString('utf8') } };
      const end = path.indexOf(0);
      return { ok: true, value: { family: 'unix', kind: 'path', path: path.subarray(0, end === -1 ? path.length : end).toString('utf8') } };
    }
    case AF_NETLINK:
      // include/uapi/linux/netlink.h struct sockaddr_nl: family, pad, pid, groups.
      if (bytes.length < MIN_NETLINK) return fail('too-short', family, `AF_NETLINK needs ${MIN_NETLINK} bytes, got ${bytes.length}`);
      return { ok: true, value: { family: 'netlink', portId: bytes.readUInt32LE(4), groups: bytes.readUInt32LE(8) } };
    default:
      return { ok: true, value: { family: 'other', number: family, name: familyName(family), data: Buffer.from(bytes.subarray(2)) } };
  }
}

/** The family name of a decoded sockaddr (`inet`, `unix`, `af_40`...). */
export function sockaddrFamily(value: Sockaddr): string {
  return value.family === 'other' ? value.name : value.family;
}

