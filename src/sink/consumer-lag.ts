// Retention against readers: the stream is trimmed (MAXLEN or MINID, xadd.ts) whether or not its
// consumer groups have read what is trimmed. The daemon calls checkConsumerLag periodically and logs the
// warnings, so an operator hears that a group is about to lose entries (or already has) before a
// consumer finds the hole. Everything comes from XINFO STREAM, XINFO GROUPS and XPENDING
// (https://redis.io/docs/latest/commands/xinfo-groups/): no scan of the stream.
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
  /** Entries not yet delivered to the group; null when Redis cannot tell (a group made at `$` before its first read). */
  lag: number | null;
  /** Entries trimmed before the group read them: entries removed from the stream minus entries the group read; null when unknown. */
  trimmedUnread: number | null;
  /** The group's last delivered ID is below the stream's first entry (the entry it last read is gone). */
  behindFirstEntry: boolean;
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

/**
 * Reads every consumer group of `key` and says which are losing entries to trimming or about to.
 * `trim` is the policy the sink trims with (none: only losses already happened are reported); `now`
 * is the wall clock in ms, for MINID ages.
 */
export async function checkConsumerLag(client: RedisClient, key: string, trim: TrimPolicy | undefined, now: number): Promise<LagReport> {
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
  const firstEntry = stream.get('first-entry');
  const firstEntryId = Array.isArray(firstEntry) && typeof firstEntry[0] === 'string' ? firstEntry[0] : null;
  const first = firstEntryId === null ? undefined : parseStreamId(firstEntryId);
  const removed = Math.max(0, entriesAdded - length);

  const groupsReply = await client.xinfo('GROUPS', key);
  const groups: GroupLag[] = [];
  for (const raw of Array.isArray(groupsReply) ? groupsReply : []) {
    const info = fieldMap(raw);
    const group = String(info.get('name'));
    const lastDeliveredId = String(info.get('last-delivered-id') ?? '0-0');
    const lastDelivered = parseStreamId(lastDeliveredId) ?? { ms: 0, n: 0 };
    const entriesRead = numberOr(info.get('entries-read'), null);
    const pending = numberOr(info.get('pending'), 0);
    // With no entry in the stream, every ID is "below the first entry" once anything was removed.
    const belowFirst = (id: StreamId): boolean => (first === undefined ? removed > 0 : compareStreamIds(id, first) < 0);
    const behindFirstEntry = belowFirst(lastDelivered) && removed > 0;
    let lag = numberOr(info.get('lag'), null);
    // Redis gives no lag for some groups; when the last delivered entry is older than the whole stream,
    // every entry in it is unread.
    if (lag === null && behindFirstEntry) lag = length;
    const oldestPendingId = pending > 0 ? await oldestPending(client, key, group) : null;
    const oldestPendingParsed = oldestPendingId === null ? undefined : parseStreamId(oldestPendingId);
    const nearTrim = lag !== null && lag > 0 && (await isNearTrim(client, key, trim, lag, lastDeliveredId, now));
    groups.push({
      group,
      consumers: numberOr(info.get('consumers'), 0),
      pending,
      lastDeliveredId,
      entriesRead,
      lag,
      trimmedUnread: entriesRead === null ? null : Math.max(0, removed - entriesRead),
      behindFirstEntry,
      oldestPendingId,
      pendingTrimmed: oldestPendingParsed !== undefined && belowFirst(oldestPendingParsed),
      nearTrim,
    });
  }
  return { key, exists: true, length, firstEntryId, groups, warnings: groups.flatMap((g) => warningsFor(key, g, trim)) };
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

function warningsFor(key: string, g: GroupLag, trim: TrimPolicy | undefined): string[] {
  const warnings: string[] = [];
  const name = `consumer group "${g.group}" of ${key}`;
  if (g.trimmedUnread !== null && g.trimmedUnread > 0) {
    warnings.push(`${name} lost ${g.trimmedUnread} entries to trimming before reading them; it reads slower than the stream is trimmed`);
  } else if (g.trimmedUnread === null && g.behindFirstEntry) {
    warnings.push(`${name} last read ${g.lastDeliveredId}, which is older than the stream's first entry: entries it had not read may have been trimmed`);
  }
  if (g.pendingTrimmed) {
    warnings.push(`${name} has pending entries from ${g.oldestPendingId ?? '?'} that were trimmed before a consumer acknowledged them`);
  }
  if (g.nearTrim && trim !== undefined) {
    const limit = 'maxLen' in trim ? `MAXLEN ${trim.maxLen}` : `the retention of ${Math.round(trim.minIdAgeMs / 1000)} s (MINID)`;
    warnings.push(`${name} is ${g.lag ?? '?'} entries behind, within ${Math.round((1 - NEAR_TRIM_SHARE) * 100)} % of ${limit}: unread entries are about to be trimmed`);
  }
  return warnings;
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
