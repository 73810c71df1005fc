// Which names the host's DNS answers gave to each address, for the flows to those addresses.
// Bounded by count (least recently used addresses first) and by time (each answer kept for its TTL,
// clamped to [minTtlMs, maxTtlMs]). One address often answers several names (a CDN): the name a
// flow gets is the one its own process asked for when the answer can be tied to that process's
// query (the answer went to the local port of an audited DNS query of that process), otherwise the
// most recent one.
import type { Resolution } from './answers.js';
import { isUnspecifiedText } from '../linux/ip-text.js';

export interface NameCacheOptions {
  /** Addresses remembered, at most (default 16,384). */
  maxAddresses?: number;
  /** Names remembered per address, at most (default 8). */
  maxNamesPerAddress?: number;
  /** An answer is kept at least this long, whatever its TTL (default 60 s: programs reuse addresses past a short TTL). */
  minTtlMs?: number;
  /** ... and at most this long (default 1 h). */
  maxTtlMs?: number;
}

export interface RemoteName {
  name: string;
  cname: string | null;
}

interface Entry extends RemoteName {
  expires: number;
  seen: number;
  /** Where the answer went: the asking socket's local address and port. */
  client: string;
  clientPort: number;
}

/** The local end of a DNS query a process made (an audited sendto/connect to port 53). */
export interface QueryEnd {
  /** null or unspecified (0.0.0.0, ::) when the socket was not bound to one address: the port alone then matches. */
  addr: string | null;
  port: number;
}

const matchesQuery = (query: QueryEnd, entry: Entry): boolean =>
  query.port === entry.clientPort && (query.addr === null || query.addr === entry.client || isUnspecifiedText(query.addr));

export interface NameCacheStats {
  addresses: number;
  answers: number;
  /** Addresses dropped to stay within maxAddresses before their answers expired. */
  evicted: number;
}

export class NameCache {
  private readonly byAddress = new Map<string, Entry[]>();
  private readonly maxAddresses: number;
  private readonly maxNames: number;
  private readonly minTtlMs: number;
  private readonly maxTtlMs: number;
  private answers = 0;
  private evicted = 0;

  constructor(options: NameCacheOptions = {}) {
    this.maxAddresses = Math.max(1, options.maxAddresses ?? 16_384);
    this.maxNames = Math.max(1, options.maxNamesPerAddress ?? 8);
    this.minTtlMs = options.minTtlMs ?? 60_000;
    this.maxTtlMs = Math.max(this.minTtlMs, options.maxTtlMs ?? 3_600_000);
  }

  /** Remembers one answer, received at `now` by `client`:`clientPort`. */
  add(resolution: Resolution, client: string, clientPort: number, now: number): void {
    this.answers++;
    const ttl = Math.min(this.maxTtlMs, Math.max(this.minTtlMs, resolution.ttl * 1000));
    const entry: Entry = { name: resolution.name, cname: resolution.cname, expires: now + ttl, seen: now, client, clientPort };
    const known = this.byAddress.get(resolution.address);
    if (known === undefined) {
      this.byAddress.set(resolution.address, [entry]);
      if (this.byAddress.size > this.maxAddresses) this.evictOldest();
      return;
    }
    // Expired answers go, and an earlier answer of the same name to the same socket (a retry).
    const kept = known.filter((e) => e.expires > now && !(e.name === entry.name && e.client === client && e.clientPort === clientPort));
    kept.push(entry);
    if (kept.length > this.maxNames) kept.splice(0, kept.length - this.maxNames);
    this.byAddress.delete(resolution.address);
    this.byAddress.set(resolution.address, kept);
  }

  /**
   * Drops the least recently used addresses, a sixteenth of the bound at once: a Map's first key is
   * found by walking over the slots its deletions left, so one walk per batch, not per answer (one
   * per answer made a full cache 4 times slower).
   */
  private evictOldest(): void {
    let count = this.byAddress.size - this.maxAddresses + Math.max(1, this.maxAddresses >> 4) - 1;
    for (const address of this.byAddress.keys()) {
      if (count-- <= 0) break;
      this.byAddress.delete(address);
      this.evicted++;
    }
  }

  /**
   * The name of `address` at `now`: the answer that went to one of `queries` (the local ends of the
   * flow's own process's DNS queries), else the most recent answer; null when none is alive.
   */
  lookup(address: string, now: number, queries: readonly QueryEnd[] = []): RemoteName | null {
    const entries = this.byAddress.get(address);
    if (entries === undefined) return null;
    let mine: Entry | undefined;
    let newest: Entry | undefined;
    for (const entry of entries) {
      if (entry.expires <= now) continue;
      if (newest === undefined || entry.seen >= newest.seen) newest = entry;
      if (queries.some((q) => matchesQuery(q, entry)) && (mine === undefined || entry.seen >= mine.seen)) mine = entry;
    }
    const chosen = mine ?? newest;
    if (chosen === undefined) {
      this.byAddress.delete(address);
      return null;
    }
    this.byAddress.delete(address);
    this.byAddress.set(address, entries);
    return { name: chosen.name, cname: chosen.cname };
  }

  stats(): NameCacheStats {
    return { addresses: this.byAddress.size, answers: this.answers, evicted: this.evicted };
  }
}
