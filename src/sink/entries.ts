// Builders for the two kinds of entry the daemon writes about itself. Both are flat string maps,
// like flows, in the same stream, so a consumer reading the stream in order sees where its view has a
// hole (kind=loss) and where the daemon started or stopped (kind=lifecycle).
import type { SinkEntry } from './types.js';

/** Schema version of the loss and lifecycle entries (the flow schema has its own, src/pipeline). */
export const ENTRY_SCHEMA_VERSION = '1';

/** Loss reasons the sink itself reports; the daemon passes the pipeline's and the kernel's own. */
export const SINK_LOSS_REASONS = {
  /** Entries refused while the spool (or queue) was full under `drop_newest`. */
  spoolFull: 'spool_full',
  /** Spool records skipped because their CRC did not match (a flipped bit, a bad disk). */
  spoolCorrupt: 'spool_corrupt',
  /** Entries Redis refused for good (see SinkCounters.rejected). */
  rejected: 'rejected',
} as const;

export interface LossInput {
  /** Why: kernel_lost, serial_gap, enobufs, reassembly_timeout, parse_error, spool_full, ... */
  reason: string;
  /** How many records, events or entries were lost. */
  count: number;
  /** Time (ms since the epoch) of the first and last loss this entry covers. */
  firstTs: number;
  lastTs: number;
  host: string;
  /** The serial range the lost events had, where known (serial gaps, the daemon's downtime). */
  firstSerial?: number;
  lastSerial?: number;
  /** Optional reason-specific context (a family, an error kind), kept short. */
  detail?: string;
}

export function lossEntry(input: LossInput): SinkEntry {
  const fields: Record<string, string> = {
    v: ENTRY_SCHEMA_VERSION,
    host: input.host,
    reason: input.reason,
    count: String(input.count),
    first_ts: String(input.firstTs),
    last_ts: String(input.lastTs),
  };
  if (input.firstSerial !== undefined) fields.first_serial = String(input.firstSerial);
  if (input.lastSerial !== undefined) fields.last_serial = String(input.lastSerial);
  if (input.detail !== undefined) fields.detail = input.detail;
  return { kind: 'loss', fields };
}

export type LifecycleEvent = 'start' | 'stop';

export interface LifecycleInput {
  event: LifecycleEvent;
  host: string;
  /** Time of the event, ms since the epoch. */
  ts: number;
  /** The daemon's version and pid, so a consumer can tell restarts and upgrades apart. */
  version: string;
  pid: number;
  /** For `stop`: why (signal name, 'error', ...). */
  reason?: string;
}

export function lifecycleEntry(input: LifecycleInput): SinkEntry {
  const fields: Record<string, string> = {
    v: ENTRY_SCHEMA_VERSION,
    host: input.host,
    event: input.event,
    ts: String(input.ts),
    version: input.version,
    pid: String(input.pid),
  };
  if (input.reason !== undefined) fields.reason = input.reason;
  return { kind: 'lifecycle', fields };
}

interface Tallied {
  count: number;
  firstTs: number;
  lastTs: number;
  firstSerial: number | undefined;
  lastSerial: number | undefined;
}

/**
 * Merges repeated losses of one reason into one entry: the sink counts spool_full drops while Redis is
 * away and writes a single entry with the count and time range once it can; the daemon merges each
 * second's losses the same way, with their serial ranges.
 */
export class LossTally {
  private readonly pending = new Map<string, Tallied>();

  add(reason: string, count: number, ts: number, serials: { first?: number; last?: number } = {}): void {
    const seen = this.pending.get(reason);
    if (seen === undefined) {
      this.pending.set(reason, { count, firstTs: ts, lastTs: ts, firstSerial: serials.first, lastSerial: serials.last });
      return;
    }
    seen.count += count;
    seen.firstTs = Math.min(seen.firstTs, ts);
    seen.lastTs = Math.max(seen.lastTs, ts);
    if (serials.first !== undefined) seen.firstSerial = Math.min(seen.firstSerial ?? serials.first, serials.first);
    if (serials.last !== undefined) seen.lastSerial = Math.max(seen.lastSerial ?? serials.last, serials.last);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Removes and returns the tallied losses as entries. */
  drain(host: string): SinkEntry[] {
    const entries = [...this.pending.keys()].map((reason) => this.entry(reason, host));
    this.pending.clear();
    return entries;
  }

  /**
   * Offers one entry per tallied reason to `publish`; one it refuses (a full sink under `block`) stays
   * tallied and is offered again next time, merged with what came since.
   */
  offer(host: string, publish: (entry: SinkEntry) => boolean): void {
    for (const reason of [...this.pending.keys()]) if (publish(this.entry(reason, host))) this.pending.delete(reason);
  }

  private entry(reason: string, host: string): SinkEntry {
    const t = this.pending.get(reason) as Tallied;
    return lossEntry({ reason, count: t.count, firstTs: t.firstTs, lastTs: t.lastTs, firstSerial: t.firstSerial, lastSerial: t.lastSerial, host });
  }
}
