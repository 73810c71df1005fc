// Loss: every place the pipeline's view of the kernel's events gets a hole reports it here,
// so the daemon can count it, expose it and publish it as a `kind=loss` entry.

export type LossReason =
  /** A record (or log line) that could not be parsed. */
  | 'parse_error'
  /** Serials that never arrived: events the kernel dropped without counting them (FACTS.md). */
  | 'serial_gap'
  /** A syscall event that ended (timeout, eviction, end of input) without its PROCTITLE or EOE. */
  | 'reassembly_timeout'
  /** A record whose event was already complete and emitted. */
  | 'late_record'
  /** A flow of a family the filter does not keep (AF_UNIX, AF_NETLINK, ...), by family. */
  | 'family'
  /** A SOCKADDR record whose saddr could not be decoded, by error kind. */
  | 'bad_sockaddr'
  /** A serial far from the expected one (reboot, another log file): not counted as lost. */
  | 'serial_reset'
  /** The 32-bit serial wrapped around: informational, nothing lost. */
  | 'serial_rollover'
  /**
   * A bounded table of the close join (./flow-ends.ts) was full: `openers` (an opening flow pushed
   * out: its close will not carry its process), `held` (a destroy published before its opener came).
   */
  | 'flow_end_evicted'
  /** A sock_diag message that could not be read (src/linux/inet-diag.ts), by reason. */
  | 'sock_diag_parse_error';

export interface LossReport {
  reason: LossReason;
  /** How many records, events or flows were lost (0 for the informational reasons). */
  count: number;
  /** The `node=` of the records, '' for the local kernel. */
  node: string;
  /** Record time (ms) at which the loss was noticed. */
  time: number;
  /** The first and last serial of a gap, or the serial of the event concerned. */
  firstSerial?: number;
  lastSerial?: number;
  /** The family for `family`; the error kind for `parse_error`. */
  detail?: string;
  /** The offending text for `parse_error` (truncated), so it can be logged once. */
  text?: string;
}

export type LossCallback = (report: LossReport) => void;

/** Counts losses by reason (and by detail where one is given). */
export class LossCounter {
  private readonly totals = new Map<string, number>();

  add(report: LossReport): void {
    const keys = report.detail === undefined ? [report.reason] : [report.reason, `${report.reason}:${report.detail}`];
    for (const key of keys) this.totals.set(key, (this.totals.get(key) ?? 0) + report.count);
  }

  get(key: string): number {
    return this.totals.get(key) ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => a.localeCompare(b)));
  }
}
