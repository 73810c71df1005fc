// A bounded map for process data: least recently used first out beyond `maxEntries` or
// beyond `maxBytes` (each entry's size as its owner estimates it), and
// entries older than `ttlMs` reported as expired (a process's cwd, cgroup and argv can change
// while it lives, so /proc is read again after a while). Keys are `processKey(pid, start)`.

export const processKey = (pid: number, startTicks: number): string => `${pid}:${startTicks}`;

export interface CacheOptions {
  maxEntries: number;
  /** Age after which an entry is expired, ms; Infinity keeps entries until evicted. */
  ttlMs: number;
  /** Estimated bytes held, at most (default: no bound but the count). */
  maxBytes?: number;
}

interface Slot<V> {
  value: V;
  storedAt: number;
  bytes: number;
  /** `inserts` when the slot last became the most recent. */
  movedAt: number;
}

export interface Lookup<V> {
  value: V;
  /** Older than the time-to-live: usable for what does not change (labels), read /proc again for the rest. */
  expired: boolean;
}

export class LruTtlCache<V> {
  private readonly slots = new Map<string, Slot<V>>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private held = 0;
  /** Slots made most recent so far (new ones and moved ones): the clock of `movedAt`. */
  private inserts = 0;
  evictions = 0;

  constructor(options: CacheOptions) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries));
    this.ttlMs = options.ttlMs;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  /** The estimated bytes of the entries held. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.slots.size;
  }

  /**
   * The entry (marked most recently used), or undefined. A slot is moved to the newest end only
   * when half the cache has been made recent since it last was: a hit on a slot in the newer
   * half changes nothing (moving is a Map delete and set, per flow the resolver's largest cost),
   * and a slot used at least that often is still never the oldest.
   */
  lookup(key: string, now: number): Lookup<V> | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    if (this.inserts - slot.movedAt >= this.slots.size >> 1) {
      this.slots.delete(key);
      this.slots.set(key, slot);
      slot.movedAt = ++this.inserts;
    }
    return { value: slot.value, expired: now - slot.storedAt >= this.ttlMs };
  }

  set(key: string, value: V, now: number, bytes = 0): void {
    this.delete(key);
    this.slots.set(key, { value, storedAt: now, bytes, movedAt: ++this.inserts });
    this.held += bytes;
    this.evict();
  }

  /** An entry grew or shrank (its details came in): the least recently used go while the total is over. */
  resize(key: string, bytes: number): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.held += bytes - slot.bytes;
    slot.bytes = bytes;
    this.evict();
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.held -= slot.bytes;
    this.slots.delete(key);
  }

  private evict(): void {
    // The newest entry stays even alone over maxBytes: each entry is bounded by its owner.
    while (this.slots.size > this.maxEntries || (this.held > this.maxBytes && this.slots.size > 1)) {
      const oldest = this.slots.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
      this.evictions++;
    }
  }
}
