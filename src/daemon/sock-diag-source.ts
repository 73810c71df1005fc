// The daemon's sock_diag reader (flow_end): the addon's NETLINK_SOCK_DIAG socket bound to the
// destroy groups (native/sock_diag.cc), its batches handed to the pipeline with the time they
// arrived, and its own losses (ENOBUFS, a full queue) turned into loss entries. Binding the groups
// needs CAP_NET_ADMIN: without it the daemon runs on without close entries, and says so once. One
// reader per network namespace: the daemon's (open), others' (openIn, ./netns-readers.ts).
import type { AuditBinding, NativeSockDiagSocket, NativeSockDiagStats } from '../native/binding.js';
import type { LossInfo } from './loss-reporter.js';
import type { Logger } from './logger.js';

export interface SockDiagSourceOptions {
  binding: AuditBinding;
  log: Logger;
  /** Destroy messages as the addon delivers them: whole netlink messages, (offset, length) pairs. */
  onBatch: (data: Buffer, offsets: Uint32Array, receivedMs: number) => void;
  lose: (loss: LossInfo) => void;
  /** Another network namespace's destroys: its `/proc/<pid>/ns/net` and its inode. */
  netns?: { path: string; inode: number };
}

/** The socket buffer asked for (forced past rmem_max with CAP_NET_ADMIN): about 8,000 broadcasts of ~500 bytes. */
const RCVBUF = 4 * 1024 * 1024;
/** Bytes of broadcasts that may wait for JavaScript; more are dropped, counted. */
const MAX_QUEUE_BYTES = 16 * 1024 * 1024;

const LOSS_OF = { enobufs: 'sock_diag_enobufs', dropped: 'sock_diag_queue_full' } as const;

export class SockDiagSource {
  private readonly seen = { enobufs: 0, dropped: 0 };
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly native: NativeSockDiagSocket,
    private readonly options: SockDiagSourceOptions,
    /** Settles once the addon delivered its last batch (its onClosed). */
    private readonly closed: Promise<void>,
  ) {}

  /** Opens the reader of the daemon's network namespace, or undefined (logged) when the kernel refuses it. */
  static open(options: SockDiagSourceOptions): SockDiagSource | undefined {
    try {
      return SockDiagSource.openIn(options);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      options.log.warn({ err: (error as Error).message, code }, 'cannot read socket destroy broadcasts (sock_diag needs CAP_NET_ADMIN): no close entries, and short-lived sockets keep only what the socket lookup found');
      return undefined;
    }
  }

  /** Opens the reader (of `options.netns` when given), or throws the kernel's refusal (an errno error). */
  static openIn(options: SockDiagSourceOptions): SockDiagSource {
    let resolve: () => void = () => {};
    const closed = new Promise<void>((done) => {
      resolve = done;
    });
    const netns = options.netns;
    const native = new options.binding.SockDiagSocket(
      { rcvbuf: RCVBUF, maxQueueBytes: MAX_QUEUE_BYTES, ...(netns === undefined ? {} : { netnsPath: netns.path, netnsInode: netns.inode }) },
      (data, offsets, error, receivedUs) => {
        if (error !== null) {
          options.log.error({ err: error.message, code: error.code, netns: netns?.inode ?? null }, 'the sock_diag socket failed: no more close entries');
          return;
        }
        // Whole ms, as entries carry their times.
        if (data !== null && offsets !== null) options.onBatch(data, offsets, Math.floor(receivedUs / 1000));
      },
      () => resolve(),
    );
    return new SockDiagSource(native, options, closed);
  }

  stats(): NativeSockDiagStats {
    return this.native.stats();
  }

  /** Reports what the reader lost since the last call. */
  reportLosses(now: number): void {
    const stats = this.native.stats();
    for (const counter of ['enobufs', 'dropped'] as const) {
      const delta = stats[counter] - this.seen[counter];
      this.seen[counter] = stats[counter];
      if (delta <= 0) continue;
      this.options.lose({ reason: LOSS_OF[counter], count: delta, ts: now });
      this.options.log.warn({ reason: LOSS_OF[counter], count: delta }, 'the sock_diag reader lost destroy broadcasts');
    }
  }

  /** Stops the reader; what it had read is delivered first. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.native.close();
      await this.closed;
    })();
    return this.closing;
  }
}
