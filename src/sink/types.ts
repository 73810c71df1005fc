// The sink interface the daemon wires the pipeline to. A sink is generic over flat string maps:
// it does not know the flow schema (src/pipeline owns that), only the envelope fields it adds itself.
import type { RespWriter } from './resp-writer.js';

/** What an entry is: a flow, a report of lost data, or a daemon start/stop marker. */
export type EntryKind = 'flow' | 'loss' | 'lifecycle' | 'dns';

/** An entry as the producer hands it over: its kind and its flat string fields (with `v`). */
export interface SinkEntry {
  kind: EntryKind;
  fields: Record<string, string>;
}

/**
 * An entry that writes its own fields, straight into the bytes the Redis sink sends (a flow: see
 * src/daemon/flow-entry.ts), instead of building a string map first. `toFields` gives the same fields,
 * in the same order, for the JSON lines of `--stdout`.
 */
export interface EncodableEntry {
  kind: EntryKind;
  /** The kernel event's time, ms since the epoch (a flow's `last_ts`): for the sink's `onWritten`. */
  readonly eventMs?: number;
  /** Writes the fields as bulk strings, name then value, leaving out kind, boot_id and seq; returns the number of pairs. */
  encode(out: RespWriter): number;
  toFields(): Record<string, string>;
}

/**
 * An entry after the sink accepted it: the envelope fields `kind`, `boot_id` and `seq` are set, and
 * `id` is the Redis stream ID it will be written with (every retry and replay uses the same one).
 */
export interface StampedEntry {
  id: string;
  fields: Record<string, string>;
}

export type SinkState =
  /** Not yet connected (start-up) or reconnecting; entries go to the spool. */
  | 'connecting'
  /** Connected and keeping up: entries go from the memory queue straight to Redis. */
  | 'ready'
  /** Entries are going through the spool (Redis away, or slower than the producer). */
  | 'spooling'
  | 'closed';

export interface SinkCounters {
  /** Entries accepted by `publish`. */
  accepted: number;
  /** Entries acknowledged by the destination (written to Redis, or to the output stream). */
  written: number;
  /** Retried entries Redis refused because they were already written (duplicates avoided). */
  duplicatesSuppressed: number;
  /** Entries refused because the spool (or, without a spool, the queue) was full: `drop_newest`. */
  droppedFull: number;
  /** `publish` calls refused under the `block` policy (the producer keeps those entries). */
  blocked: number;
  /** Entries Redis refused for good (wrong type, no permission, an ID conflict with another writer). */
  rejected: number;
  /** Corrupt spool records skipped (bad CRC) since the sink opened. */
  spoolCorrupt: number;
  /** Bytes cut from torn spool tails when the spool opened. */
  spoolTornBytes: number;
}

export interface SinkHealth {
  state: SinkState;
  /** The last connection or write error, for the daemon's status and logs. */
  lastError: string | undefined;
  /** Entries in the memory queue, and in flight. */
  queued: number;
  /** Bytes in spool segments not yet acknowledged by Redis. */
  spoolBytes: number;
  counters: SinkCounters;
}

export interface FlowSink {
  /**
   * Offers one entry. `true`: accepted, the sink will deliver it. `false`: not accepted because the
   * sink is full; under `drop_newest` the entry is dropped and counted (a `kind=loss` entry reports it
   * later); under `block` the entry is NOT taken: the caller keeps it, awaits `writable()` and offers
   * it again.
   */
  publish(entry: SinkEntry | EncodableEntry): boolean;
  /** Resolves when `publish` will accept entries again. */
  writable(): Promise<void>;
  /** Resolves when every entry accepted so far has been acknowledged by the destination. */
  flush(): Promise<void>;
  /** Flushes what it can within its deadline, keeps the rest in the spool, releases everything. Idempotent. */
  close(): Promise<void>;
  health(): SinkHealth;
}

export type FullPolicy = 'block' | 'drop_newest';

export function emptyCounters(): SinkCounters {
  return {
    accepted: 0,
    written: 0,
    duplicatesSuppressed: 0,
    droppedFull: 0,
    blocked: 0,
    rejected: 0,
    spoolCorrupt: 0,
    spoolTornBytes: 0,
  };
}
