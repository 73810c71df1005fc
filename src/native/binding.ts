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
  /** Bytes that may wait for JavaScript; records beyond it are dropped and counted. */
  maxQueueBytes: number;
}

export interface NativeSocketStats {
  datagrams: number;
  records: number;
  bytes: number;
  batches: number;
  /** recv failed with ENOBUFS: the kernel dropped datagrams for a full socket buffer. */
  enobufs: number;
  /** Records read but not handed to JavaScript because the queue was full. */
  droppedRecords: number;
  /** Datagrams larger than the read buffer (MSG_TRUNC). */
  truncated: number;
  /** Datagrams whose netlink header did not fit their length. */
  malformed: number;
}

/**
 * Called on the JavaScript thread once per batch. `meta` holds six words per record:
 * type, flags, seq, pid, payload offset and payload length into `data`. A fatal read
 * error arrives as (null, null, error) and ends the reader.
 */
export type NativeBatchCallback = (data: Buffer | null, meta: Uint32Array | null, error: NodeJS.ErrnoException | null) => void;

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

export interface AuditBinding {
  AuditSocket: new (options: NativeSocketOptions, onBatch: NativeBatchCallback, onClosed: () => void) => NativeAuditSocket;
  /** sd_notify(3): false when $NOTIFY_SOCKET is unset. */
  sdNotify(state: string): boolean;
  /** flock(2) with LOCK_NB: true when taken, false when another holder has it. */
  flock(fd: number, exclusive: boolean): boolean;
  /**
   * The socket behind another process's fd (pidfd_open + pidfd_getfd): null when the process,
   * the fd or the socket is gone; throws with `code` when the kernel refuses (EPERM, ENOSYS).
   */
  socketEnds(pid: number, fd: number): NativeSocketEnds | null;
}

const require = createRequire(import.meta.url);

let loaded: AuditBinding | undefined;

/** Loads build/Release/auditflow.node on first use, so importing this module never fails. */
export function nativeBinding(): AuditBinding {
  loaded ??= (require('bindings') as (name: string) => AuditBinding)('auditflow');
  return loaded;
}
