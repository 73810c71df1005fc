// AuditSocket: the typed face of one native NETLINK_AUDIT socket. Each read of the addon goes to
// onBatch as it came (one Buffer, six meta words per record, the addon's early socket lookups and
// process reads), so the pipeline reads the records where they lie; control replies
// (type < AUDIT_FIRST_USER_MSG) in it also go, one by one, to onReply, where AuditControl matches
// them to requests by sequence number.
import { AuditSocketClosedError } from './errors.js';
import { batchLength, isKernelRecord, META_WORDS, type RecordBatch } from '../native/record-batch.js';
import { nativeBinding, type AuditBinding, type NativeAuditSocket, type NativeSocketStats, type SocketMode } from '../native/binding.js';

/** One netlink message: a kernel record or a control reply. `payload` excludes the header. */
export interface AuditMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

export interface AuditSocketOptions {
  mode?: SocketMode;
  /** Receive buffer to request, bytes (default 16 MiB; above net.core.rmem_max needs CAP_NET_ADMIN). */
  rcvbuf?: number;
  maxBatchRecords?: number;
  /** Bytes of records that may wait for JavaScript before the reader stops reading (default 32 MiB). */
  maxQueueBytes?: number;
  /** SYSCALL records that get an early socket lookup in the addon (NativeSocketOptions.lookupCalls). */
  lookupCalls?: Uint32Array;
  /** Records of this pid get no lookup. */
  selfPid?: number;
  /** With lookupCalls: how long records may wait for more before JavaScript gets them, ms (NativeSocketOptions.deliveryDelayMs). */
  deliveryDelayMs?: number;
  /** A read holding at least one kernel record (it may hold control replies too: skip type < AUDIT_FIRST_USER_MSG). */
  onBatch?: (batch: RecordBatch) => void;
  /** A fatal read error; the socket reads nothing more after it. */
  onError?: (error: NodeJS.ErrnoException) => void;
  binding?: AuditBinding;
}

export class AuditSocket {
  readonly mode: SocketMode;
  /** Set by AuditControl; receives every message below AUDIT_FIRST_USER_MSG. */
  onReply: ((message: AuditMessage) => void) | undefined;
  private readonly native: NativeAuditSocket;
  private readonly onBatch: (batch: RecordBatch) => void;
  private readonly onError: (error: NodeJS.ErrnoException) => void;
  private closing: Promise<void> | undefined;
  private resolveClosed: () => void = () => {};
  private readonly closed: Promise<void>;

  constructor(options: AuditSocketOptions = {}) {
    const binding = options.binding ?? nativeBinding();
    this.mode = options.mode ?? 'unicast';
    this.onBatch = options.onBatch ?? (() => {});
    this.onError =
      options.onError ??
      ((error) => {
        throw error;
      });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.native = new binding.AuditSocket(
      {
        mode: this.mode,
        rcvbuf: options.rcvbuf ?? 16 * 1024 * 1024,
        maxBatchRecords: options.maxBatchRecords ?? 4096,
        maxQueueBytes: options.maxQueueBytes ?? 32 * 1024 * 1024,
        ...(options.lookupCalls === undefined ? {} : { lookupCalls: options.lookupCalls }),
        ...(options.selfPid === undefined ? {} : { selfPid: options.selfPid }),
        ...(options.deliveryDelayMs === undefined ? {} : { deliveryDelayMs: options.deliveryDelayMs }),
      },
      (data, meta, error, lookups, processes) => this.dispatch(data, meta, error, lookups, processes),
      () => this.resolveClosed(),
    );
  }

  get portId(): number {
    return this.native.portId;
  }

  get receiveBufferSize(): number {
    return this.native.receiveBufferSize;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Sends one request; returns its sequence number. */
  send(type: number, payload: Buffer, flags: number): number {
    if (this.closing) throw new AuditSocketClosedError(`cannot send message type ${type}: the audit socket is closed`);
    return this.native.send(type, payload, flags);
  }

  stats(): NativeSocketStats {
    return this.native.stats();
  }

  /** Keep the process alive while this socket is open (the default). */
  ref(): void {
    if (!this.closing) this.native.ref();
  }

  unref(): void {
    if (!this.closing) this.native.unref();
  }

  /**
   * Stops the reader, closes the socket and resolves once every record read before the
   * close was delivered. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= (() => {
      this.native.close();
      return this.closed;
    })();
    return this.closing;
  }

  /**
   * `lookups`: the addon's early socket lookups (src/native/socket-lookups.ts); `processes`: its
   * process reads (src/native/process-reads.ts). A stand-in addon may leave them out.
   */
  private dispatch(data: Buffer | null, meta: Uint32Array | null, error: NodeJS.ErrnoException | null, lookups: Buffer | null | undefined, processes: Buffer | null | undefined): void {
    if (error) {
      guarded(() => this.onError(error));
      return;
    }
    if (!data || !meta) return;
    const batch: RecordBatch = { data, meta, lookups: lookups ?? null, processes: processes ?? null };
    let records = false;
    for (let index = 0; index < batchLength(batch); index++) {
      if (isKernelRecord(meta[index * META_WORDS] as number)) {
        records = true;
        continue;
      }
      const message = batchMessage(batch, index);
      guarded(() => this.onReply?.(message));
    }
    if (records) guarded(() => this.onBatch(batch));
  }
}

/** Entry `index` of a batch as a message of its own (control replies; tests). */
export function batchMessage(batch: RecordBatch, index: number): AuditMessage {
  const at = index * META_WORDS;
  const offset = batch.meta[at + 4] ?? 0;
  return {
    type: batch.meta[at] ?? 0,
    flags: batch.meta[at + 1] ?? 0,
    seq: batch.meta[at + 2] ?? 0,
    pid: batch.meta[at + 3] ?? 0,
    payload: batch.data.subarray(offset, offset + (batch.meta[at + 5] ?? 0)),
  };
}

/** The kernel records of a batch as messages (tests and tools that read a few records). */
export function batchRecords(batch: RecordBatch): AuditMessage[] {
  const records: AuditMessage[] = [];
  for (let index = 0; index < batchLength(batch); index++) {
    if (isKernelRecord(batch.meta[index * META_WORDS] as number)) records.push(batchMessage(batch, index));
  }
  return records;
}

/**
 * An exception thrown into the native callback would be swallowed by N-API's legacy
 * policy (with only a deprecation warning) and would skip the batches after it. Rethrow
 * it on the next tick instead, where it is an ordinary uncaught exception.
 */
function guarded(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}
