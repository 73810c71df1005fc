// Ready bulk strings for values that come back entry after entry: a process's exe, argv, user, container,
// unit... are the same for every flow it makes, so their UTF-8 bytes and length prefix are made once and
// copied after that. Keyed by the string value: a flow is a flat object, so the value is the only thing
// two flows of one process share (docs/sink.md, "Encoding"). Bounded in entries and in bytes; when full,
// the oldest value goes first (insertion order: a hit does not reorder, which keeps a hit to one lookup).
import { bulkBytes } from './resp-writer.js';

export interface BulkCacheLimits {
  /** Values kept at most. */
  entries: number;
  /** Bytes of encoded values kept at most. */
  bytes: number;
  /** Longer values are encoded every time, not kept. */
  maxValueBytes: number;
}

const DEFAULT_BULK_CACHE_LIMITS: BulkCacheLimits = { entries: 8192, bytes: 4 * 1024 * 1024, maxValueBytes: 16 * 1024 };

export class BulkCache {
  private readonly values = new Map<string, Buffer>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly limits: BulkCacheLimits = DEFAULT_BULK_CACHE_LIMITS) {}

  get size(): number {
    return this.values.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** `value` as a ready bulk string, or undefined when it is too long to keep. */
  get(value: string): Buffer | undefined {
    const cached = this.values.get(value);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    // Three bytes per UTF-16 unit at most: a cheap bound before encoding anything.
    if (value.length * 3 > this.limits.maxValueBytes && Buffer.byteLength(value, 'utf8') > this.limits.maxValueBytes) return undefined;
    const bytes = bulkBytes(value);
    this.values.set(value, bytes);
    this.bytes += bytes.length;
    while (this.values.size > this.limits.entries || this.bytes > this.limits.bytes) this.evictOldest();
    return bytes;
  }

  private evictOldest(): void {
    for (const [value, bytes] of this.values) {
      this.values.delete(value);
      this.bytes -= bytes.length;
      return;
    }
  }
}
