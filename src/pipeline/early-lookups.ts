// Early lookups: the addon's answers about the socket a SYSCALL record names, made on its reader
// thread microseconds after it read the record (layout: src/native/socket-lookups.ts). The same
// family, type, protocol and getsockname/getpeername bytes the live resolver gets from the addon
// on demand (src/daemon/socket-resolver.ts), so both read them with socketInfoFromEnds().
import { LOOKUP_ENTRY_BYTES, LOOKUP_SOCKADDR_BYTES, LookupOffset, lookupCount, lookupRecord } from '../native/socket-lookups.js';
import type { EarlyLookup } from './event-records.js';
import { AF_INET, AF_INET6, socketType } from '../linux/socket.js';
import { decodeSockaddr } from './sockaddr.js';
import type { Endpoint, SocketInfo } from './socket-kinds.js';

/** A socket's kind and both of its ends as the kernel gives them (SO_DOMAIN/SO_TYPE/SO_PROTOCOL, sockaddr bytes). */
export interface SocketEnds {
  family: number;
  type: number;
  protocol: number;
  local: Buffer;
  /** null when not connected. */
  remote: Buffer | null;
}

function endpoint(bytes: Buffer): Endpoint | undefined {
  const decoded = decodeSockaddr(bytes);
  if (!decoded.ok) return undefined;
  const value = decoded.value;
  return value.family === 'inet' || value.family === 'inet6' ? { addr: value.addr, port: value.port, bytes: value.bytes } : undefined;
}

const unset = (end: Endpoint): boolean => end.port === 0 && end.bytes.every((byte) => byte === 0);

/** The socket table's SocketInfo of a socket's ends, read at `readAtUs`; undefined for anything but an inet socket. */
export function socketInfoFromEnds(ends: SocketEnds, readAtUs: number): SocketInfo | undefined {
  if (ends.family !== AF_INET && ends.family !== AF_INET6) return undefined;
  const local = endpoint(ends.local);
  const remote = ends.remote === null ? undefined : endpoint(ends.remote);
  return {
    family: ends.family,
    type: socketType(ends.type),
    protocol: ends.protocol,
    // An unbound socket's name is all zeros, and so is an unconnected one's peer in /proc: unknown.
    local: local === undefined || unset(local) ? undefined : local,
    remote: remote === undefined || unset(remote) ? undefined : remote,
    source: 'proc',
    // 0: the entry does not say (a feeder's entry).
    readAtUs: readAtUs > 0 ? readAtUs : undefined,
  };
}

/**
 * The entry, at or after entry `from`, for record `record` of the batch: its index, or -1 when there
 * is none. Entries come in record order, so a reader going through the batch passes `from` on.
 */
export function findLookup(lookups: Buffer | null, from: number, record: number): number {
  const count = lookupCount(lookups);
  for (let entry = from; entry < count; entry++) {
    const at = lookupRecord(lookups as Buffer, entry);
    if (at === record) return entry;
    if (at > record) return -1;
  }
  return -1;
}

// include/uapi/asm-generic/errno-base.h and errno.h: the process was gone (ESRCH), its fd was closed
// (EBADF), or the fd was no socket any more (ENOTSOCK) when the addon looked.
const GONE = new Set([3, 9, 88]);

/**
 * Entry `entry` when the lookup found the socket (status 0), or found it gone (`info` undefined: a
 * later lookup cannot find it either, and the fd may meanwhile name another socket, so none is made);
 * undefined when it stopped on another error (EPERM, ENOSYS: the resolver may still get it).
 */
export function readLookup(lookups: Buffer, entry: number): EarlyLookup | undefined {
  const base = entry * LOOKUP_ENTRY_BYTES;
  const status = lookups.readInt32LE(base + LookupOffset.status);
  if (GONE.has(status)) return { pid: lookups.readUInt32LE(base + LookupOffset.pid), fd: lookups.readInt32LE(base + LookupOffset.fd), info: undefined };
  if (status !== 0) return undefined;
  const sockaddr = (lengthAt: number, at: number): Buffer => {
    const length = Math.min(lookups.readUInt32LE(base + lengthAt), LOOKUP_SOCKADDR_BYTES);
    return lookups.subarray(base + at, base + at + length);
  };
  const remoteLength = lookups.readUInt32LE(base + LookupOffset.remoteLength);
  return {
    pid: lookups.readUInt32LE(base + LookupOffset.pid),
    fd: lookups.readInt32LE(base + LookupOffset.fd),
    info: socketInfoFromEnds({
      family: lookups.readUInt16LE(base + LookupOffset.family),
      type: lookups.readUInt16LE(base + LookupOffset.type),
      protocol: lookups.readUInt16LE(base + LookupOffset.protocol),
      local: sockaddr(LookupOffset.localLength, LookupOffset.local),
      remote: remoteLength === 0 ? null : sockaddr(LookupOffset.remoteLength, LookupOffset.remote),
    }, lookups.readDoubleLE(base + LookupOffset.readAt)),
  };
}
