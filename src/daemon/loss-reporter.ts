// Every loss the daemon knows of, from every stage, counted and turned into `kind=loss` entries: the
// pipeline's (parse errors, serial gaps, events without their end), the reader's (ENOBUFS, its full
// queue), the kernel's own `lost` counter, and the daemon's (backpressure, downtime). Losses of one
// reason are merged over a flush interval into one entry with the count, the time range and, where
// known, the serial range, so a consumer can tell which events its view is missing.
import type { LossReason, LossReport } from '../pipeline/loss.js';
import { LossTally, SINK_LOSS_REASONS, type SinkEntry } from '../sink/index.js';

/**
 * The pipeline's reasons that are losses, named as the stream names them (one vocabulary from the
 * pipeline's counters to the loss entries). `family` is a filter; `serial_reset` and `serial_rollover`
 * say that nothing was lost.
 */
const PIPELINE_REASONS = [
  'parse_error',
  'serial_gap',
  'reassembly_timeout',
  'late_record',
  'bad_sockaddr',
  'flow_end_evicted',
  'sock_diag_parse_error',
] as const satisfies readonly LossReason[];
type PipelineLossReason = (typeof PIPELINE_REASONS)[number];
const isPipelineLoss = (reason: LossReason): reason is PipelineLossReason => (PIPELINE_REASONS as readonly LossReason[]).includes(reason);

/** Losses the daemon itself sees, around the pipeline. */
export const DAEMON_LOSS_REASONS = [
  /** The increase of the kernel's `lost` counter while the daemon ran. */
  'kernel_lost',
  /** The reader's recv failed with ENOBUFS: the socket buffer overflowed. */
  'enobufs',
  /** Records the reader thread dropped because its queue for JavaScript was full. */
  'reader_queue_full',
  /** Datagrams larger than the read buffer (MSG_TRUNC) and datagrams whose netlink header did not fit. */
  'truncated_datagram',
  'malformed_datagram',
  /** Records dropped while the sink refused entries and the held batches reached their cap. */
  'backpressure',
  /** Events the kernel emitted while no auditflow ran (after a crash). */
  'daemon_down',
  /** Destroy broadcasts the kernel dropped for a full sock_diag socket buffer (ENOBUFS, counted once per failed read). */
  'sock_diag_enobufs',
  /** Destroy broadcasts the sock_diag reader dropped because its queue for JavaScript was full. */
  'sock_diag_queue_full',
  /** Flow entries over entry_max_bytes, published cut (flow-bound.ts): their longest texts are shortened. */
  'entry_truncated',
] as const;

export type DaemonLossReason = PipelineLossReason | (typeof DAEMON_LOSS_REASONS)[number];

/**
 * Every loss reason there is, the pipeline's, the daemon's and the sink's: a closed set, so the
 * metrics can export each at 0 from the start (an alert on `increase()` then sees the first loss).
 */
export const LOSS_REASONS: readonly string[] = [...PIPELINE_REASONS, ...DAEMON_LOSS_REASONS, ...Object.values(SINK_LOSS_REASONS)].sort();

export interface LossInfo {
  reason: DaemonLossReason;
  count: number;
  ts: number;
  firstSerial?: number;
  lastSerial?: number;
}

export class LossReporter {
  private readonly tally = new LossTally();
  private readonly totals = new Map<string, number>();

  constructor(private readonly host: string) {}

  /** A pipeline loss report; informational ones (serial reset, rollover) and filtered families are not losses. */
  fromPipeline(report: LossReport): void {
    const reason = report.reason;
    if (!isPipelineLoss(reason) || report.count <= 0) return;
    this.add({ reason, count: report.count, ts: report.time, firstSerial: report.firstSerial, lastSerial: report.lastSerial ?? report.firstSerial });
  }

  add(loss: LossInfo): void {
    if (loss.count <= 0) return;
    this.totals.set(loss.reason, (this.totals.get(loss.reason) ?? 0) + loss.count);
    this.tally.add(loss.reason, loss.count, loss.ts, { first: loss.firstSerial, last: loss.lastSerial });
  }

  /** Losses since start, by reason. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => a.localeCompare(b)));
  }

  /**
   * Offers one entry per pending reason to `publish`; an entry it refuses (a full sink under `block`)
   * stays pending and is offered again at the next drain, merged with what came since.
   */
  drain(publish: (entry: SinkEntry) => boolean): void {
    this.tally.offer(this.host, publish);
  }
}
