// The only module that loads the native addon (native/). Everything else receives the
// binding as a parameter with this as its default, so tests can pass a fake or a failing one.
import { createRequire } from 'node:module';

export type SocketMode = 'unicast' | 'multicast';

export interface NativeSocketOptions {
  mode: SocketMode;
  /** Requested receive buffer in bytes; 0 keeps the kernel default. */
  rcvbuf: number;
  /** Largest number of records handed to JavaScript in one call. */
  maxBatchRecords: number;
  /**
   * Bytes that may wait for JavaScript. When they are reached the reader stops reading until
   * JavaScript has taken batches, at most 80 ms (the kernel holds the records and makes audited
   * processes wait); after that it reads and drops what does not fit, counted in droppedRecords.
   * It reads past the bound while a request of this process is being sent or awaits its ACK.
   */
  maxQueueBytes: number;
  /**
   * Which SYSCALL records get an early socket lookup: (audit arch, syscall number, kind) triples,
   * kind being one of LookupKind (socket-lookups.ts). Empty or absent: no lookups (onBatch's lookups is always null).
   */
  lookupCalls?: Uint32Array;
  /** Records of this pid get no lookup (the daemon itself). */
  selfPid?: number;
  /**
   * With lookups: how long a batch may wait for more records before it is handed to JavaScript, ms
   * (0 or absent: at once). A full batch, a reader stopped on the bound, or an error goes at once.
   */
  deliveryDelayMs?: number;
}

/** The early socket lookups of one AuditSocket (native/socket_lookup.cc). */
export interface NativeLookupStats {
  /** Lookups made: one entry each, found or failed. */
  made: number;
  found: number;
  /** Time spent in the lookups made, nanoseconds (pidfd_open when needed, readlink, pidfd_getfd, getsockopt/getsockname/getpeername, close). */
  timeNs: number;
  /** Records named by lookupCalls that got no lookup, by reason. */
  skipped: {
    /** The daemon's own records (selfPid). */
    self: number;
    /** The socket() record of the fd named a family other than AF_INET/AF_INET6. */
    family: number;
    /** The event's SOCKADDR record, in the same read, is of another family. */
    sockaddr: number;
    /** The lookup thread was behind the reader; JavaScript's resolver answers these. */
    behind: number;
    /** No descriptor to look up (a failed accept, a negative or oversized fd). */
    noFd: number;
    /** socket() records not remembered: the process now at the pid started after the record (pid reuse). */
    reused: number;
    /** A later record of the same read made a new socket on the fd (socket(), accept): reported as EBADF, not looked up. */
    replaced: number;
  };
  /**
   * Lookups that found nothing, by errno name (ESRCH: process gone, EBADF: fd gone, ENOTSOCK, EPERM,
   * ...), and `reused`: the process now at the event's pid started after the event (its pid was
   * reused), so its answer was not given (the entry says ESRCH).
   */
  failed: Record<string, number>;
  /** The pidfds kept per process: opened, reopened after their process exited, closed. */
  pidfds: { opened: number; reopened: number; closed: number };
  /**
   * The cgroup files read, one per process opened (src/native/process-reads.ts): read and checked;
   * cut (longer than the 1,024 bytes kept); gone (the process exited before the read could be
   * checked); failed (another errno); and the time they took, nanoseconds (part of timeNs when a
   * lookup opened the process).
   */
  cgroups: { read: number; cut: number; gone: number; failed: number; timeNs: number };
}

export interface NativeSocketStats {
  datagrams: number;
  records: number;
  bytes: number;
  batches: number;
  /** recv failed with ENOBUFS: the kernel dropped datagrams for a full socket buffer. */
  enobufs: number;
  /** Records read but not handed to JavaScript: the queue stayed full past the reader's 80 ms stop. */
  droppedRecords: number;
  /** Times the reader stopped reading because the queue was full. */
  pauses: number;
  lookups: NativeLookupStats;
  /** Datagrams larger than the read buffer (MSG_TRUNC). */
  truncated: number;
  /** Datagrams whose netlink header did not fit their length. */
  malformed: number;
}

/**
 * Called on the JavaScript thread once per batch. `meta` holds six words per record:
 * type, flags, seq, pid, payload offset and payload length into `data`. `lookups` holds the
 * batch's early socket lookups, 96-byte entries in record order (src/native/socket-lookups.ts),
 * or null when there are none; `processes` what the lookup thread read of the processes it opened
 * for them (src/native/process-reads.ts), or null. A fatal read error arrives as
 * (null, null, error, null, null) and ends the reader.
 */
export type NativeBatchCallback = (data: Buffer | null, meta: Uint32Array | null, error: NodeJS.ErrnoException | null, lookups: Buffer | null, processes: Buffer | null) => void;

export interface NativeAuditSocket {
  send(type: number, payload: Buffer, flags: number): number;
  close(): void;
  ref(): void;
  unref(): void;
  stats(): NativeSocketStats;
  readonly portId: number;
  readonly receiveBufferSize: number;
}

/** A socket another process holds, as the socket itself reports it (native/socket_ends.cc). */
export interface NativeSocketEnds {
  /** SO_DOMAIN, SO_TYPE, SO_PROTOCOL. */
  family: number;
  type: number;
  protocol: number;
  /** getsockname's and getpeername's struct sockaddr bytes; remote is null when not connected. */
  local: Buffer;
  remote: Buffer | null;
}

/** The DNS answer capture (native/dns_capture.cc): an AF_PACKET socket filtered to source port 53. */
export interface NativeDnsCaptureOptions {
  /** Requested receive buffer in bytes; 0 keeps the kernel default. */
  rcvbuf?: number;
  /** Largest number of packets handed to JavaScript in one call (default 1024). */
  maxBatchPackets?: number;
  /** Bytes that may wait for JavaScript (default 8 MiB); packets past it are dropped, counted in queueDrops. */
  maxQueueBytes?: number;
}

export interface NativeDnsCaptureStats {
  /** Packets read and kept (loopback duplicates and truncated packets not included; queueDrops are among them). */
  packets: number;
  bytes: number;
  batches: number;
  /** Packets the kernel dropped for a full socket buffer (PACKET_STATISTICS tp_drops). */
  kernelDrops: number;
  /** Packets read but dropped because JavaScript had not taken the queued ones. */
  queueDrops: number;
  /** Packets larger than the read buffer (MSG_TRUNC), dropped. */
  truncated: number;
  /** Loopback packets seen leaving (each is seen again arriving), skipped. */
  loopbackOutgoing: number;
}

/**
 * Called on the JavaScript thread once per batch: `meta` holds three words per packet (offset and
 * length in `data`, interface index). A fatal read error arrives as (null, null, error) and ends the reader.
 */
export type NativePacketCallback = (data: Buffer | null, meta: Uint32Array | null, error: NodeJS.ErrnoException | null) => void;

export interface NativeDnsCapture {
  close(): void;
  ref(): void;
  unref(): void;
  stats(): NativeDnsCaptureStats;
}

/** A NETLINK_SOCK_DIAG reader bound to the destroy groups (native/sock_diag.cc). */
export interface NativeSockDiagSocket {
  close(): void;
  ref(): void;
  unref(): void;
  stats(): NativeSockDiagStats;
}

export interface NativeSockDiagOptions {
  rcvbuf: number;
  maxQueueBytes: number;
  netnsPath?: string;
  netnsInode?: number;
}

export interface NativeSockDiagStats {
  /** SOCK_DIAG_BY_FAMILY messages read. */
  messages: number;
  batches: number;
  /** recv failed with ENOBUFS: the kernel dropped broadcasts for a full socket buffer. */
  enobufs: number;
  /** Messages read but dropped: the queue to JavaScript was full. */
  dropped: number;
  /** Datagrams whose netlink header did not fit. */
  malformed: number;
}

/**
 * Whole netlink messages (header included) in `data`, two words per message in `offsets`: offset,
 * length; `receivedUs`: when the reader thread read them (CLOCK_REALTIME, µs, all within one wake).
 * A fatal read error arrives as (null, null, error, 0) and ends the reader.
 */
export type NativeSockDiagCallback = (data: Buffer | null, offsets: Uint32Array | null, error: NodeJS.ErrnoException | null, receivedUs: number) => void;

export interface NativeSockDiagDump {
  data: Buffer;
  offsets: Uint32Array;
  /** false: the dump did not end (NLMSG_DONE) within its time. */
  complete: boolean;
}

export interface AuditBinding {
  /**
   * Needs CAP_NET_ADMIN (bind to the destroy groups); rcvbuf above rmem_max is forced with it. With
   * netnsPath (a `/proc/<pid>/ns/net`) and netnsInode (that namespace's inode, checked on the opened
   * file; `code` ESRCH when it names another one now): the destroys of that network namespace, which
   * needs CAP_SYS_ADMIN too (setns on a native thread of its own).
   */
  SockDiagSocket: new (options: NativeSockDiagOptions, onBatch: NativeSockDiagCallback, onClosed: () => void) => NativeSockDiagSocket;
  /** The inet sockets of one family and protocol that exist now, with tcp_info (a SOCK_DIAG_BY_FAMILY dump). */
  sockDiagDump(family: number, protocol: number, timeoutMs: number): NativeSockDiagDump;
  AuditSocket: new (options: NativeSocketOptions, onBatch: NativeBatchCallback, onClosed: () => void) => NativeAuditSocket;
  /** Throws with `code` EPERM without CAP_NET_RAW. */
  DnsCapture: new (options: NativeDnsCaptureOptions, onBatch: NativePacketCallback, onClosed: () => void) => NativeDnsCapture;
  /** sd_notify(3): false when $NOTIFY_SOCKET is unset. */
  sdNotify(state: string): boolean;
  /** flock(2) with LOCK_NB: true when taken, false when another holder has it. */
  flock(fd: number, exclusive: boolean): boolean;
  /**
   * The socket behind another process's fd (pidfd_open + pidfd_getfd): null when the process,
   * the fd or the socket is gone; false when `eventMs` (ms since the epoch) is given and the process
   * at `pid` started more than 100 ms after it, so is not the event's (pid reuse); throws with
   * `code` when the kernel refuses (EPERM, ENOSYS).
   */
  socketEnds(pid: number, fd: number, eventMs?: number): NativeSocketEnds | null | false;
  /**
   * The fields of a SYSCALL record's payload the lookup thread reads (native/syscall_scan.cc), for
   * tests: null without arch, syscall and pid.
   */
  scanSyscall(payload: Buffer): ScannedSyscall | null;
}

export interface ScannedSyscall {
  arch: number;
  syscall: number;
  success: boolean | null;
  exit: number | null;
  a0: bigint | null;
  a1: bigint | null;
  a2: bigint | null;
  pid: number;
  /** The header's time, ms since the epoch; null without one. */
  timeMs: number | null;
}

const require = createRequire(import.meta.url);

let loaded: AuditBinding | undefined;

/** Loads build/Release/auditflow.node on first use, so importing this module never fails. */
export function nativeBinding(): AuditBinding {
  loaded ??= (require('bindings') as (name: string) => AuditBinding)('auditflow');
  return loaded;
}
