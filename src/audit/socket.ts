// AuditSocket: the typed face of one native NETLINK_AUDIT socket. Kernel records
// (type >= AUDIT_FIRST_USER_MSG) go to onRecords in batches; control replies go to
// onReply, where AuditControl matches them to requests by sequence number.
import { AUDIT_FIRST_USER_MSG } from './constants.js';
import { AuditSocketClosedError } from './errors.js';
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
  onRecords?: (records: AuditMessage[]) => void;
  /** A fatal read error; the socket reads nothing more after it. */
  onError?: (error: NodeJS.ErrnoException) => void;
  binding?: AuditBinding;
}

const META_WORDS = 6;

export class AuditSocket {
  readonly mode: SocketMode;
  /** Set by AuditControl; receives every message below AUDIT_FIRST_USER_MSG. */
  onReply: ((message: AuditMessage) => void) | undefined;
  private readonly native: NativeAuditSocket;
  private readonly onRecords: (records: AuditMessage[]) => void;
  private readonly onError: (error: NodeJS.ErrnoException) => void;
  private closing: Promise<void> | undefined;
  private resolveClosed: () => void = () => {};
  private readonly closed: Promise<void>;

  constructor(options: AuditSocketOptions = {}) {
    const binding = options.binding ?? nativeBinding();
    this.mode = options.mode ?? 'unicast';
    this.onRecords = options.onRecords ?? (() => {});
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
      },
      (data, meta, error) => this.dispatch(data, meta, error),
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

  private dispatch(data: Buffer | null, meta: Uint32Array | null, error: NodeJS.ErrnoException | null): void {
    if (error) {
      guarded(() => this.onError(error));
      return;
    }
    if (!data || !meta) return;
    const records: AuditMessage[] = [];
    for (let i = 0; i + META_WORDS <= meta.length; i += META_WORDS) {
      const offset = meta[i + 4] ?? 0;
      const message: AuditMessage = {
        type: meta[i] ?? 0,
        flags: meta[i + 1] ?? 0,
        seq: meta[i + 2] ?? 0,
        pid: meta[i + 3] ?? 0,
        payload: data.subarray(offset, offset + (meta[i + 5] ?? 0)),
      };
      if (message.type >= AUDIT_FIRST_USER_MSG) records.push(message);
      else guarded(() => this.onReply?.(message));
    }
    if (records.length > 0) guarded(() => this.onRecords(records));
  }
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
