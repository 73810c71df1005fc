// One pipelined batch of XADDs, and what a retry of it means. Each entry carries its own stream ID, so a
// batch that is sent again after a lost answer or a dropped connection cannot add an entry twice: Redis
// refuses an ID that is not greater than the stream's top item. Such a refusal is counted as a
// duplicate avoided only after XRANGE shows the entry with that ID is ours (same boot_id and seq);
// otherwise the ID collided with another writer's entry and the entry is counted as rejected.
import { Pipeline, Redis } from 'ioredis';
import { decodeEntry } from './entry-bytes.js';
import type { RedisClient } from './redis-client.js';
import type { StampedEntry } from './types.js';
import { encodeXaddBatch, XaddBatchCommand, XaddCommand } from './xadd-command.js';

/** Redis's reply to an explicit ID at or below the top item (t_stream.c, xaddCommand). */
const ID_TOO_SMALL = /equal or smaller than the target stream top item/;

/**
 * Replies that mean "not now" rather than "never" (server.c, cluster.c): loading a dataset, a busy
 * script, a replica without its master, a cluster slot moving or down, a read-only replica after a
 * failover, out of memory under `maxmemory`. Counting these as rejected would lose entries Redis takes a
 * moment later, so the batch fails as a whole and is sent again.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|NOREPLICAS|MOVED|ASK)\b/;

/**
 * How the stream is trimmed on every XADD, with `~` so Redis trims whole radix-tree nodes only (cheap):
 * keep about `maxLen` entries, or drop entries older than `minIdAgeMs` (IDs are wall-clock ms here, see
 * stream-id.ts, so MINID is an age).
 */
export type TrimPolicy = { maxLen: number } | { minIdAgeMs: number };

/** The XADD trimming arguments for `policy` at time `now` (ms). */
export function trimArgs(policy: TrimPolicy | undefined, now: number): Array<string | number> {
  if (policy === undefined) return [];
  if ('maxLen' in policy) return policy.maxLen > 0 ? ['MAXLEN', '~', policy.maxLen] : [];
  return ['MINID', '~', `${Math.max(0, Math.floor(now - policy.minIdAgeMs))}-0`];
}

export interface BatchResult {
  written: number;
  duplicates: number;
  rejected: number;
}

/**
 * Writes `entries` (entry-bytes.ts) in one pipeline: one buffer, one socket write, the replies counted by
 * index. Throws when the batch as a whole failed (connection lost, timeout): the caller sends it again
 * later, and the IDs keep that safe.
 */
export async function writeBatch(client: RedisClient, key: string, entries: readonly Buffer[], trim: ReadonlyArray<string | number> = []): Promise<BatchResult> {
  const result: BatchResult = { written: 0, duplicates: 0, rejected: 0 };
  if (entries.length === 0) return result;
  const replies = await send(client, key, trim, entries);
  const refused: StampedEntry[] = [];
  for (const [index, error] of replies.entries()) {
    if (error === null) result.written++;
    else if (error.name !== 'ReplyError' || TRANSIENT_REPLY.test(error.message)) throw error;
    else if (ID_TOO_SMALL.test(error.message)) refused.push(decodeEntry(entries[index] as Buffer) as StampedEntry);
    else result.rejected++;
  }
  if (refused.length > 0) {
    const check = client.pipeline();
    for (const entry of refused) check.xrange(key, entry.id, entry.id);
    const found = await check.exec();
    if (found === null) throw new Error('pipeline discarded');
    for (const [index, [error, reply]] of found.entries()) {
      if (error !== null) throw error;
      if (isSameEntry(reply, refused[index] as StampedEntry)) result.duplicates++;
      else result.rejected++;
    }
  }
  return result;
}

/** Sends the batch in one write; one slot per entry: null when written, else Redis's error. See xadd-command.ts. */
async function send(client: RedisClient, key: string, trim: ReadonlyArray<string | number>, entries: readonly Buffer[]): Promise<Array<Error | null>> {
  const { data, ends } = encodeXaddBatch(key, trim, entries);
  if (client instanceof Redis) return (await client.sendCommand(new XaddBatchCommand(key, data, entries.length, client))) as unknown as Array<Error | null>;
  const pipeline = new Pipeline(client);
  let start = 0;
  for (const end of ends) {
    pipeline.sendCommand(new XaddCommand(key, data.subarray(start, end)));
    start = end;
  }
  const replies = await pipeline.exec();
  if (replies === null) throw new Error('pipeline discarded');
  return replies.map(([error]) => error);
}

function isSameEntry(reply: unknown, entry: StampedEntry): boolean {
  if (!Array.isArray(reply)) return false;
  const first: unknown = reply[0];
  if (!Array.isArray(first) || !Array.isArray(first[1])) return false;
  const flat = first[1] as unknown[];
  const fields = new Map<unknown, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i], flat[i + 1]);
  return fields.get('boot_id') === entry.fields.boot_id && fields.get('seq') === entry.fields.seq;
}

/** The `seq` to continue with after an entry whose `seq` field is `text`. */
export function startSeq(text: string | undefined): number {
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n + 1 : 1;
}
