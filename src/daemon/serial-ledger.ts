// The serial ledger: which kernel serials this daemon has read, up to which one everything reached the
// sink (the crash checkpoint, checkpoints.ts), and the losses that only serials and counters reveal:
// the events a crashed predecessor missed (daemon_down), the growth of the kernel's `lost` counter,
// and the reader's own drops. It turns each into a loss for the daemon's LossReporter.
import type { NativeSocketStats } from '../native/binding.js';
import type { SinkCounters } from '../sink/index.js';
import { Checkpoints } from './checkpoints.js';
import type { Logger } from './logger.js';
import type { LossInfo } from './loss-reporter.js';
import type { DaemonSnapshot } from './snapshot.js';

/** Crash checkpoint candidates are taken as records arrive, at most this often (and at every tick). */
const CHECKPOINT_INTERVAL_MS = 100;

// The reader's counters and the loss reason each one's growth is.
const READER_REASONS = { enobufs: 'enobufs', droppedRecords: 'reader_queue_full', truncated: 'truncated_datagram', malformed: 'malformed_datagram' } as const;
type ReaderCounter = keyof typeof READER_REASONS;

export class SerialLedger {
  lastSerial: number | null = null;
  firstSerial: number | null = null;
  /** When the last record arrived (wall clock, ms). */
  lastRecordTs: number | null = null;
  /** When the previous daemon was last seen alive, if it did not stop cleanly. */
  readonly downSince: number | undefined;
  private checkpoints = new Checkpoints(0);
  private checkpointAt = 0;
  private downtime: { since: number; lastSerial: number | null } | undefined;
  private lostBaseline: number | undefined;
  private readonly readerSeen: Record<ReaderCounter, number> = { enobufs: 0, droppedRecords: 0, truncated: 0, malformed: 0 };

  /** `previous`: the status file the last daemon left, when it can be trusted. */
  constructor(
    previous: DaemonSnapshot | undefined,
    private readonly log: Logger,
    private readonly lose: (loss: LossInfo) => void,
  ) {
    if (previous === undefined || previous.stopped || previous.pid === process.pid) return;
    // Counted from its checkpoint, not from the newest record it read: what it read after the
    // checkpoint may have died with it (in its memory, or in the sink's memory queue).
    const settled = previous.safeSerial ?? (previous.firstSerial === null || previous.firstSerial === undefined ? null : previous.firstSerial - 1);
    this.downtime = { since: previous.updated, lastSerial: settled };
    this.downSince = previous.updated;
    // The kernel's lost counter grew while no daemon watched it, too.
    if (typeof previous.kernel.lost === 'number') this.lostBaseline = previous.kernel.lost;
    log.warn({ previousPid: previous.pid, lastSeen: new Date(previous.updated).toISOString(), safeSerial: settled }, 'the previous auditflow did not stop cleanly; its downtime is reported as a loss');
  }

  /** The sink opened with `replayed` entries of an earlier run in its spool (they are answered first). */
  startCheckpoints(replayed: number): void {
    this.checkpoints = new Checkpoints(replayed);
  }

  /** The newest safe checkpoint, null before the first. */
  get safe(): number | null {
    return this.checkpoints.safe;
  }

  /** A batch is about to enter the pipeline; `first` is its first serial. */
  before(first: number | undefined): void {
    if (this.downtime !== undefined) this.reportDowntime(first);
  }

  /** A batch of records went into the pipeline. Returns true when a checkpoint is due. */
  after(first: number | undefined, last: number | undefined, now: number): boolean {
    this.lastSerial = last ?? this.lastSerial;
    this.firstSerial ??= first ?? null;
    this.lastRecordTs = now;
    return now - this.checkpointAt >= CHECKPOINT_INTERVAL_MS;
  }

  /**
   * Offers the crash checkpoint a candidate and lets it settle what the sink secured. `pending` is the
   * pipeline's oldest pending serial; `held` says whether entries wait outside the sink (no candidate
   * may pass them).
   */
  checkpoint(pending: number | undefined, held: boolean, counters: SinkCounters, now: number): void {
    this.checkpointAt = now;
    if (this.lastSerial !== null && !held) {
      this.checkpoints.offer(pending === undefined ? this.lastSerial : Math.min(this.lastSerial, pending - 1), counters.accepted);
    }
    this.checkpoints.settle(counters.written + counters.duplicatesSuppressed + counters.rejected);
  }

  /**
   * The kernel's lost counter now. It is machine-wide and cumulative: what it gained while this daemon
   * ran is a loss; a drop means someone reset it (auditctl --reset-lost): counted from the new value.
   */
  kernelLost(lost: number, backlog: number): void {
    if (this.lostBaseline !== undefined && lost > this.lostBaseline) {
      this.lose({ reason: 'kernel_lost', count: lost - this.lostBaseline, ts: Date.now() });
      this.log.warn({ stage: 'kernel', lost: lost - this.lostBaseline, backlog }, 'the kernel lost audit records (backlog full or rate limit)');
    }
    this.lostBaseline = lost;
  }

  /** The reader's counters now: their growth since the last call is lost data. */
  readerLosses(stats: NativeSocketStats): void {
    const now = Date.now();
    for (const [counter, reason] of Object.entries(READER_REASONS) as Array<[ReaderCounter, (typeof READER_REASONS)[ReaderCounter]]>) {
      const delta = stats[counter] - this.readerSeen[counter];
      if (delta > 0) {
        this.lose({ reason, count: delta, ts: now });
        this.log.warn({ stage: 'kernel', reason, count: delta }, 'the reader lost audit data');
      }
      this.readerSeen[counter] = stats[counter];
    }
  }

  /** The events the kernel emitted between the previous daemon's checkpoint and this one's first record. */
  private reportDowntime(serial: number | undefined): void {
    const downtime = this.downtime;
    if (downtime === undefined || serial === undefined) return;
    this.downtime = undefined;
    if (downtime.lastSerial === null) {
      this.log.error({ firstSerialNow: serial }, 'the previous auditflow died before it read any record: the events it missed cannot be counted');
      return;
    }
    const missed = serial <= downtime.lastSerial ? 0 : serial - downtime.lastSerial - 1;
    this.log.warn({ lastSerialBefore: downtime.lastSerial, firstSerialNow: serial, missed }, 'events the kernel emitted while no auditflow ran');
    this.lose({
      reason: 'daemon_down',
      count: missed,
      ts: downtime.since,
      ...(missed > 0 ? { firstSerial: downtime.lastSerial + 1, lastSerial: serial - 1 } : {}),
    });
  }
}
