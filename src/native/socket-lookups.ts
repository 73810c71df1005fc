// The early socket lookups the addon makes on its own thread, microseconds after it read a SYSCALL
// record, and hands to JavaScript with the batch that holds the record (native/socket_lookup.cc).
// One fixed-size little-endian entry per lookup, so reading them allocates nothing:
//
//   offset  size  field
//        0     4  record   index of the SYSCALL record in the batch (its meta words start at record * 6)
//        4     4  pid      the process the record names
//        8     4  fd       the descriptor looked up (a0, or an accept's exit value), signed
//       12     4  status   0 = found; otherwise the errno that stopped it (ESRCH: process gone, EBADF:
//                          fd gone, ENOTSOCK: not a socket, EPERM, ENOSYS), positive
//       16     2  family   SO_DOMAIN (AF_INET 2, AF_INET6 10, ...)
//       18     2  type     SO_TYPE (SOCK_STREAM 1, SOCK_DGRAM 2, ...), flags masked off
//       20     2  protocol SO_PROTOCOL (IPPROTO_TCP 6, IPPROTO_UDP 17, ...)
//       22     1  flags    bit 0: family/type/protocol came from the socket() record the addon saw (checked)
//       23     1  (zero)
//       24     4  local length    getsockname's address length (0: none)
//       28    28  local sockaddr  struct sockaddr_in or sockaddr_in6 (28 bytes, include/uapi/linux/in6.h)
//       56     4  remote length   getpeername's address length (0: not connected)
//       60    28  remote sockaddr
//       88     8  read at  when the ends were read: CLOCK_REALTIME in microseconds, a float64 (exact:
//                          under 2^53); 0 when the socket was not reached
//
// Total 96 bytes per entry.
/** What the addon does on reading the SYSCALL record of a call named in `lookupCalls` (its kind). */
export const LookupKind = {
  /** socket(): (pid, exit fd) -> (a0 domain, a1 type & 0xf, a2 protocol) is remembered, no lookup. */
  socket: 0,
  /** The socket is fd a0 (connect, bind, sendto, sendmsg). */
  fdInA0: 1,
  /** The socket is the exit value when success=yes and exit >= 0 (accept, accept4). */
  fdInExit: 2,
} as const;

export const LOOKUP_ENTRY_BYTES = 96;
export const LOOKUP_SOCKADDR_BYTES = 28;

export const LookupOffset = {
  record: 0,
  pid: 4,
  fd: 8,
  status: 12,
  family: 16,
  type: 18,
  protocol: 20,
  flags: 22,
  localLength: 24,
  local: 28,
  remoteLength: 56,
  remote: 60,
  readAt: 88,
} as const;

/** `flags` bit: the family, type and protocol are the socket() record's (SO_DOMAIN and SO_TYPE were checked against them). */
export const LOOKUP_FROM_SOCKET_RECORD = 1;

/** How many entries a lookups buffer holds. */
export function lookupCount(lookups: Buffer | null | undefined): number {
  return lookups === null || lookups === undefined ? 0 : Math.floor(lookups.length / LOOKUP_ENTRY_BYTES);
}

/** Entry `index`'s record index in its batch. */
export const lookupRecord = (lookups: Buffer, index: number): number => lookups.readUInt32LE(index * LOOKUP_ENTRY_BYTES + LookupOffset.record);

/** Writes one entry: the addon's layout, for tests and for the kernel-free benchmark's feeder. */
export interface LookupEntry {
  record: number;
  pid: number;
  fd: number;
  status: number;
  family: number;
  type: number;
  protocol: number;
  flags: number;
  local: Buffer | null;
  remote: Buffer | null;
  /** When the ends were read, µs since the epoch (0: not given). */
  readAtUs?: number;
}

export function encodeLookups(entries: readonly LookupEntry[]): Buffer {
  const out = Buffer.alloc(entries.length * LOOKUP_ENTRY_BYTES);
  entries.forEach((entry, index) => {
    const base = index * LOOKUP_ENTRY_BYTES;
    out.writeUInt32LE(entry.record, base + LookupOffset.record);
    out.writeUInt32LE(entry.pid, base + LookupOffset.pid);
    out.writeInt32LE(entry.fd, base + LookupOffset.fd);
    out.writeInt32LE(entry.status, base + LookupOffset.status);
    out.writeUInt16LE(entry.family, base + LookupOffset.family);
    out.writeUInt16LE(entry.type, base + LookupOffset.type);
    out.writeUInt16LE(entry.protocol, base + LookupOffset.protocol);
    out.writeUInt8(entry.flags, base + LookupOffset.flags);
    out.writeDoubleLE(entry.readAtUs ?? 0, base + LookupOffset.readAt);
    for (const [bytes, lengthAt, at] of [
      [entry.local, LookupOffset.localLength, LookupOffset.local],
      [entry.remote, LookupOffset.remoteLength, LookupOffset.remote],
    ] as const) {
      if (bytes === null) continue;
      const length = Math.min(bytes.length, LOOKUP_SOCKADDR_BYTES);
      out.writeUInt32LE(length, base + lengthAt);
      bytes.copy(out, base + at, 0, length);
    }
  });
  return out;
}
