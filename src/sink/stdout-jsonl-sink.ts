// The `--stdout` sink: one JSON object per line, with the same fields the Redis sink writes (the
// envelope `kind`, `boot_id`, `seq` and the entry's own), for tests, pipes and `jq`. The sink does not
// know the entry schema: the daemon passes `render`, which prints the typed entry (src/schema/); without
// it a line holds the flat strings the stream holds.
import type { Writable } from 'node:stream';
import { isEncodable } from './entry-bytes.js';
import { emptyCounters, type EncodableEntry, type FlowSink, type SinkCounters, type SinkEntry, type SinkHealth } from './types.js';

export interface StdoutJsonlSinkOptions {
  bootId: string;
  /** Default process.stdout. */
  output?: Writable;
  /** The line's JSON text from the entry's flat fields, envelope first; default: those fields as they are. */
  render?: (fields: Record<string, string>) => string;
}

export class StdoutJsonlSink implements FlowSink {
  private readonly output: Writable;
  private seq = 1;
  private full = false;
  private closing: Promise<void> | undefined;
  private readonly counters: SinkCounters = emptyCounters();
  private lastError: string | undefined;

  constructor(private readonly options: StdoutJsonlSinkOptions) {
    this.output = options.output ?? process.stdout;
    this.output.on('error', (error: Error) => (this.lastError = error.message));
  }

  /** Refuses (the `block` policy) while the output's buffer is above its high-water mark. */
  publish(entry: SinkEntry | EncodableEntry): boolean {
    if (this.closing !== undefined) throw new Error('sink is closed');
    if (this.full) {
      this.counters.blocked++;
      return false;
    }
    const { kind: _kind, boot_id: _boot, seq: _seq, ...rest } = isEncodable(entry) ? entry.toFields() : entry.fields;
    const fields = { kind: entry.kind, boot_id: this.options.bootId, seq: String(this.seq++), ...rest };
    const line = this.options.render === undefined ? JSON.stringify(fields) : this.options.render(fields);
    this.counters.accepted++;
    const more = this.output.write(`${line}\n`, (error) => {
      if (error === null || error === undefined) this.counters.written++;
    });
    if (!more) {
      this.full = true;
      this.output.once('drain', () => (this.full = false));
    }
    return true;
  }

  writable(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.output.once('drain', () => resolve()));
  }

  flush(): Promise<void> {
    // A zero-length write's callback runs after every write before it has been handed to the OS.
    return new Promise((resolve) => this.output.write('', () => resolve()));
  }

  close(): Promise<void> {
    this.closing ??= this.flush();
    return this.closing;
  }

  health(): SinkHealth {
    return {
      state: this.closing !== undefined ? 'closed' : 'ready',
      lastError: this.lastError,
      queued: this.output.writableLength,
      spoolBytes: 0,
      counters: { ...this.counters },
    };
  }
}
