// Redis stream entry IDs are `<ms>-<n>` (two unsigned 64-bit integers) and XADD with an explicit ID
// fails when the ID is not greater than the stream's top item (https://redis.io/docs/latest/commands/xadd/).
// The publisher chooses each entry's ID itself when the entry is accepted, and keeps it through the
// memory queue, the spool and every retry: a retried XADD of an entry that was already written is then
// refused by Redis instead of adding a duplicate. See docs/sink.md, "Entry IDs".

export interface StreamId {
  ms: number;
  n: number;
}

export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.n}`;
}

export function parseStreamId(text: string): StreamId | undefined {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (match === null) return undefined;
  const ms = Number(match[1]);
  const n = Number(match[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(n)) return undefined;
  return { ms, n };
}

export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.n - b.n;
}

/**
 * Hands out strictly increasing IDs whose time part follows the wall clock: `<now>-0`, and
 * `<last ms>-<last n + 1>` when the clock has not moved or went backwards. Consumers can therefore
 * read a time range with XRANGE and trim by age with MINID, and the IDs keep increasing across a
 * clock step back.
 */
export class StreamIdClock {
  private last: StreamId = { ms: 0, n: 0 };
  private started = false;

  constructor(private readonly now: () => number) {}

  /** Makes every later ID greater than `id` (the spool's newest record, the stream's top item). */
  observe(id: StreamId): void {
    if (!this.started || compareStreamIds(id, this.last) > 0) {
      this.last = { ...id };
      this.started = true;
    }
  }

  next(): StreamId {
    const now = Math.floor(this.now());
    if (!this.started || now > this.last.ms) {
      this.last = { ms: now, n: 0 };
      this.started = true;
    } else {
      this.last = { ms: this.last.ms, n: this.last.n + 1 };
    }
    return { ...this.last };
  }
}
