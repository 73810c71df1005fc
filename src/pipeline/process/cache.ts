// A bounded map for process data: least recently used first out beyond `maxEntries`, and
// entries older than `ttlMs` reported as expired (a process's cwd, cgroup and argv can change
// while it lives, so /proc is read again after a while). Keys are `processKey(pid, start)`.

export const processKey = (pid: number, startTicks: number): string => `${pid}:${startTicks}`;

export interface CacheOptions {
  maxEntries: number;
  /** Age after which an entry is expired, ms; Infinity keeps entries until evicted. */
  ttlMs: number;
}

interface Slot<V> {
  value: V;
  storedAt: number;
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
  evictions = 0;

  constructor(options: CacheOptions) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries));
    this.ttlMs = options.ttlMs;
  }

  get size(): number {
    return this.slots.size;
  }

  /** The entry (marked most recently used), or undefined. */
  lookup(key: string, now: number): Lookup<V> | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.slots.delete(key);
    this.slots.set(key, slot);
    return { value: slot.value, expired: now - slot.storedAt >= this.ttlMs };
  }

  set(key: string, value: V, now: number): void {
    this.slots.delete(key);
    this.slots.set(key, { value, storedAt: now });
    while (this.slots.size > this.maxEntries) {
      const oldest = this.slots.keys().next();
      if (oldest.done) break;
      this.slots.delete(oldest.value);
      this.evictions++;
    }
  }

  delete(key: string): void {
    this.slots.delete(key);
  }
}
