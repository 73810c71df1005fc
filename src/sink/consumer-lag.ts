// Retention against readers: the stream is trimmed (MAXLEN or MINID, xadd.ts) whether or not its
// consumer groups have read what is trimmed. The daemon calls checkConsumerLag periodically and logs the
// warnings, so an operator hears that a group is about to lose entries (or already has) before a
// consumer finds the hole. Everything comes from XINFO STREAM, XINFO GROUPS, XPENDING and at most one
// XRANGE of one entry per group (https://redis.io/docs/latest/commands/xinfo-groups/): no scan.
import type { RedisClient } from './redis-client.js';
import { compareStreamIds, parseStreamId, type StreamId } from './stream-id.js';
import type { TrimPolicy } from './xadd.js';

/** A group is "near the trim point" once its backlog reaches this share of what the stream keeps. */
export const NEAR_TRIM_SHARE = 0.9;

export interface GroupLag {
  group: string;
  consumers: number;
  /** Delivered to a consumer and not yet acknowledged (XACK). */
  pending: number;
  lastDeliveredId: string;
  /** The group's logical read counter (Redis 7 `entries-read`); null when Redis does not know it. */
  entriesRead: number | null;
  /** Entries in the stream not yet delivered to the group. */
  lag: number;
  /**
   * The lag is an estimate: Redis's own figure was missing or stale (its counter does not move over
   * entries trimmed before the group read them), so it is interpolated from the entry IDs' times.
   */
  lagEstimated: boolean;
  /**
   * Entries trimmed before the group read them, since the group exists: the entries removed from the
   * stream minus those of them the group had read; null when Redis has no read counter for the group.
   * An estimate when the lag is.
   */
  trimmedUnread: number | null;
  /** The group has unread entries and its last delivered entry is older than the stream's first: trimming is eating its backlog. */
  atTrimPoint: boolean;
  /** The oldest delivered, unacknowledged ID; null when nothing is pending. */
  oldestPendingId: string | null;
  /** Pending entries below the stream's first entry: trimmed before a consumer acknowledged them. */
  pendingTrimmed: boolean;
  /** The backlog is within 10 % of the trim point: lag ≥ 90 % of MAXLEN, or the oldest unread entry older than 90 % of the MINID age. */
  nearTrim: boolean;
}

export interface LagReport {
  key: string;
  /** False when the key does not exist (nothing published yet): no groups, no warnings. */
  exists: boolean;
  length: number;
  firstEntryId: string | null;
  groups: GroupLag[];
  /** One line per problem, for the daemon's log (warn level). */
  warnings: string[];
}

export interface LagCheckOptions {
  /** The policy the sink trims with; without it only losses that already happened are reported. */
  trim?: TrimPolicy;
  /** Wall clock in ms, for MINID ages. */
  now: number;
  /** The previous report: a loss is warned about once, when it grows, not at every check. */
  previous?: LagReport;
}

/** Reads every consumer group of `key` and says which are losing entries to trimming or about to. */
export async function checkConsumerLag(client: RedisClient, key: string, options: LagCheckOptions): Promise<LagReport> {
  let streamReply: unknown;
  try {
    streamReply = await client.xinfo('STREAM', key);
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return { key, exists: false, length: 0, firstEntryId: null, groups: [], warnings: [] };
    throw error;
  }
  const stream = fieldMap(streamReply);
  const length = numberOr(stream.get('length'), 0);
  const entriesAdded = numberOr(stream.get('entries-added'), length);
  const firstEntryId = entryId(stream.get('first-entry'));
  const first = firstEntryId === null ? undefined : parseStreamId(firstEntryId);
  const last = parseStreamId(entryId(stream.get('last-entry')) ?? '');
  const removed = Math.max(0, entriesAdded - length);
  // With no entry in the stream, every ID is "below the first entry" once anything was removed.
  const belowFirst = (id: StreamId): boolean => (first === undefined ? removed > 0 : compareStreamIds(id, first) < 0);

  const groupsReply = await client.xinfo('GROUPS', key);
  const groups: GroupLag[] = [];
  for (const raw of Array.isArray(groupsReply) ? groupsReply : []) {
    const info = fieldMap(raw);
    const group = String(info.get('name'));
    const lastDeliveredId = String(info.get('last-delivered-id') ?? '0-0');
    const lastDelivered = parseStreamId(lastDeliveredId) ?? { ms: 0, n: 0 };
    const entriesRead = numberOr(info.get('entries-read'), null);
    const pending = numberOr(info.get('pending'), 0);
    const redisLag = numberOr(info.get('lag'), null);
    let lag: number;
    let lagEstimated = false;
    if (last === undefined || compareStreamIds(lastDelivered, last) >= 0) lag = 0;
    else if (belowFirst(lastDelivered)) lag = length;
    // Redis's lag is its counters' difference, entries added minus entries read; the read counter does
    // not move over entries trimmed before the group read them, so after such a loss it overstates the
    // lag (by the loss). Above the stream's length it is surely stale.
    else if (redisLag !== null && redisLag <= length) lag = redisLag;
    else {
      lag = interpolatedLag(length, first, last, lastDelivered);
      lagEstimated = true;
    }
    // Read by the group: entriesRead; of those, still in the stream: length - lag; so removed after
    // being read: entriesRead - (length - lag); removed unread: the rest of what was removed.
    const trimmedUnread = entriesRead === null ? null : Math.max(0, removed - entriesRead + (length - lag));
    const oldestPendingId = pending > 0 ? await oldestPending(client, key, group) : null;
    const oldestPendingParsed = oldestPendingId === null ? undefined : parseStreamId(oldestPendingId);
    groups.push({
      group,
      consumers: numberOr(info.get('consumers'), 0),
      pending,
      lastDeliveredId,
      entriesRead,
      lag,
      lagEstimated,
      trimmedUnread,
      atTrimPoint: lag > 0 && belowFirst(lastDelivered),
      oldestPendingId,
      pendingTrimmed: oldestPendingParsed !== undefined && belowFirst(oldestPendingParsed),
      nearTrim: lag > 0 && (await isNearTrim(client, key, options.trim, lag, lastDeliveredId, options.now)),
    });
  }
  const before = new Map((options.previous?.key === key ? options.previous.groups : []).map((g) => [g.group, g]));
  return { key, exists: true, length, firstEntryId, groups, warnings: groups.flatMap((g) => warningsFor(key, g, before.get(g.group), options.trim)) };
}

/**
 * Unread entries, from where the last delivered ID falls between the first and the last entry's
 * time: stream IDs are wall-clock ms here (stream-id.ts), so this is exact for an even flow of entries.
 */
function interpolatedLag(length: number, first: StreamId | undefined, last: StreamId, lastDelivered: StreamId): number {
  if (first === undefined || last.ms <= first.ms) return length;
  const read = Math.min(1, Math.max(0, (lastDelivered.ms - first.ms) / (last.ms - first.ms)));
  return Math.max(1, Math.round(length * (1 - read)));
}

async function isNearTrim(client: RedisClient, key: string, trim: TrimPolicy | undefined, lag: number, lastDeliveredId: string, now: number): Promise<boolean> {
  if (trim === undefined) return false;
  if ('maxLen' in trim) return trim.maxLen > 0 && lag >= NEAR_TRIM_SHARE * trim.maxLen;
  // The oldest unread entry is the first one after the last delivered; its ID is its time (stream-id.ts).
  const next = await client.xrange(key, `(${lastDeliveredId}`, '+', 'COUNT', 1);
  const oldest = next[0] === undefined ? undefined : parseStreamId(next[0][0]);
  return oldest !== undefined && now - oldest.ms >= NEAR_TRIM_SHARE * trim.minIdAgeMs;
}

async function oldestPending(client: RedisClient, key: string, group: string): Promise<string | null> {
  // XPENDING summary form: [count, smallest ID, largest ID, [[consumer, count], ...]].
  const summary: unknown = await client.xpending(key, group);
  return Array.isArray(summary) && typeof summary[1] === 'string' ? summary[1] : null;
}

function warningsFor(key: string, g: GroupLag, before: GroupLag | undefined, trim: TrimPolicy | undefined): string[] {
  const warnings: string[] = [];
  const name = `consumer group "${g.group}" of ${key}`;
  const lost = g.trimmedUnread ?? 0;
  const newlyLost = lost - (before?.trimmedUnread ?? 0);
  // An estimated count wobbles by an entry or so between checks; that is not a new loss.
  const noise = g.lagEstimated ? Math.max(1, Math.ceil(0.01 * (g.lag + lost))) : 0;
  if (g.atTrimPoint) {
    warnings.push(`${name} is at the trim point: ${g.lag} unread entries, and trimming removes them before it reads them${lost > 0 ? ` (${lost} lost so far)` : ''}`);
  } else {
    if (newlyLost > noise) warnings.push(`${name} lost ${newlyLost} entries to trimming before reading them${newlyLost === lost ? '' : ` (${lost} in all)`}`);
    if (g.nearTrim && trim !== undefined) {
      const limit = 'maxLen' in trim ? `MAXLEN ${trim.maxLen}` : `the retention of ${Math.round(trim.minIdAgeMs / 1000)} s (MINID)`;
      warnings.push(`${name} is ${g.lag}${g.lagEstimated ? ' (estimated)' : ''} entries behind, within ${Math.round((1 - NEAR_TRIM_SHARE) * 100)} % of ${limit}: unread entries are about to be trimmed`);
    }
  }
  if (g.pendingTrimmed) {
    warnings.push(`${name} has pending entries from ${g.oldestPendingId ?? '?'} that were trimmed before a consumer acknowledged them (XAUTOCLAIM clears them)`);
  }
  return warnings;
}

function entryId(entry: unknown): string | null {
  return Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : null;
}

/** XINFO replies are flat [name, value, ...] arrays (RESP2, and ioredis's legacy mapping of RESP3 maps). */
function fieldMap(reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (reply instanceof Map) {
    for (const [k, v] of reply) map.set(String(k), v);
  } else if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]);
  }
  return map;
}

function numberOr<T extends number | null>(value: unknown, fallback: T): number | T {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return fallback;
}
