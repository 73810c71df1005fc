// Backpressure under `full_policy = block`: when the sink refuses an entry, the daemon keeps it, and
// the reader's batches behind it, in order, until the sink takes entries again (its writable()).
// Held batches are bounded in bytes; a batch past the bound is dropped and counted as `backpressure`,
// with its serial range. At stop, drain() gives what is held the sink's remaining room, in order.
import type { RecordBatch } from '../native/record-batch.js';
import { edgeSerial, recordCount } from '../pipeline/batch.js';
import type { EncodableEntry, FlowSink, SinkEntry } from '../sink/index.js';
import type { Logger } from './logger.js';
import type { LossInfo } from './loss-reporter.js';

export interface HeldInputOptions {
  sink: () => FlowSink;
  /** Where a batch goes when nothing holds it back (the pipeline). */
  feed: (batch: RecordBatch) => void;
  lose: (loss: LossInfo) => void;
  log: Logger;
  /** Bytes of batches held at most (their data's length). */
  maxBytes: number;
}

export interface HeldStats {
  blocked: boolean;
  heldBatches: number;
  heldBytes: number;
}

export class HeldInput {
  private readonly entries: Array<SinkEntry | EncodableEntry> = [];
  private readonly batches: RecordBatch[] = [];
  private bytes = 0;
  private blocked = false;
  /** Set while drain() hands the held entries over: they are then awaited, not re-armed. */
  private draining = false;

  constructor(private readonly options: HeldInputOptions) {}

  /** Nothing is held: a crash checkpoint may pass what was read. */
  get empty(): boolean {
    return this.entries.length === 0 && this.batches.length === 0;
  }

  stats(): HeldStats {
    return { blocked: this.blocked, heldBatches: this.batches.length, heldBytes: this.bytes };
  }

  /** A batch from the reader: into the pipeline, or held while the sink refuses entries. */
  take(batch: RecordBatch): void {
    if (!this.blocked) {
      this.options.feed(batch);
      return;
    }
    const bytes = batch.data.length;
    if (this.bytes + bytes > this.options.maxBytes) {
      this.options.lose({ reason: 'backpressure', count: recordCount(batch), ts: Date.now(), firstSerial: edgeSerial(batch, 'first'), lastSerial: edgeSerial(batch, 'last') });
      return;
    }
    this.batches.push(batch);
    this.bytes += bytes;
  }

  /** Hands an entry to the sink; a refused one is kept, in order, and batches are held behind it. */
  offer(entry: SinkEntry | EncodableEntry): void {
    if (!this.blocked && this.entries.length === 0 && this.options.sink().publish(entry)) return;
    this.entries.push(entry);
    if (!this.draining) this.block();
  }

  /** At stop: what is held gets the sink's remaining room, in order (each batch still through the pipeline). */
  async drain(): Promise<void> {
    this.draining = true;
    this.blocked = false;
    const sink = this.options.sink();
    for (;;) {
      const entry = this.entries.shift();
      if (entry !== undefined) {
        while (!sink.publish(entry)) await sink.writable();
        continue;
      }
      const batch = this.batches.shift();
      if (batch === undefined) break;
      this.bytes -= batch.data.length;
      this.options.feed(batch);
    }
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.options.log.warn({ stage: 'sink' }, 'the sink is full: holding records until it takes entries again');
    void this.options
      .sink()
      .writable()
      .then(() => this.unblock());
  }

  private unblock(): void {
    this.blocked = false;
    const sink = this.options.sink();
    while (this.entries.length > 0) {
      if (!sink.publish(this.entries[0] as SinkEntry | EncodableEntry)) {
        this.block();
        return;
      }
      this.entries.shift();
    }
    while (this.batches.length > 0 && !this.blocked) {
      const batch = this.batches.shift() as RecordBatch;
      this.bytes -= batch.data.length;
      this.options.feed(batch);
    }
    if (!this.blocked) this.options.log.info({ stage: 'sink' }, 'the sink takes entries again');
  }
}
