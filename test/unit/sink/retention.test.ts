// Retention: MAXLEN and MINID trimming on every XADD, and the consumer-group lag check against real
// consumer groups on a real redis-server. `--stream-node-max-entries 10` makes `~` trimming (whole
// radix-tree nodes) fine-grained enough to count on.
import { afterEach, describe, expect, it } from 'vitest';
import { checkConsumerLag, type GroupLag } from '../../../src/sink/consumer-lag.js';
import { connectRedis, createRedisClient, type RedisClient } from '../../../src/sink/redis-client.js';
import { RedisStreamSink } from '../../../src/sink/redis-stream-sink.js';
import type { TrimPolicy } from '../../../src/sink/xadd.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { publishAll, readStream } from '../../helpers/sink-stream.js';

const KEY = 'auditflow:{host-a}:flows';
const servers: RedisServer[] = [];
const clients: RedisClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
});

async function setup(): Promise<{ redis: RedisServer; admin: RedisClient }> {
  const redis = await startRedis(['--stream-node-max-entries', '10']);
  servers.push(redis);
  const admin = createRedisClient({ url: redis.url });
  admin.on('error', () => undefined);
  clients.push(admin);
  await connectRedis(admin);
  return { redis, admin };
}

function openSink(url: string, trim: TrimPolicy, now?: () => number): Promise<RedisStreamSink> {
  const client = createRedisClient({ url });
  client.on('error', () => undefined);
  clients.push(client);
  return RedisStreamSink.open({ client, key: KEY, host: 'host-a', bootId: '2b1a6c8e-0000-4000-8000-000000000004', fullPolicy: 'block', trim, ...(now ? { now } : {}) });
}

async function publish(sink: RedisStreamSink, from: number, to: number): Promise<void> {
  await publishAll(sink, from, to);
  await sink.flush();
}

/** XREADGROUP of `count` entries (not acknowledged unless `ack`). */
async function readAsGroup(admin: RedisClient, group: string, count: number, ack: boolean): Promise<void> {
  const reply = (await admin.xreadgroup('GROUP', group, 'consumer-1', 'COUNT', count, 'STREAMS', KEY, '>')) as Array<[string, Array<[string, string[]]>]> | null;
  const ids = (reply?.[0]?.[1] ?? []).map(([id]) => id);
  if (ack && ids.length > 0) await admin.xack(KEY, group, ...ids);
}

const byName = (groups: GroupLag[], name: string): GroupLag => {
  const group = groups.find((g) => g.group === name);
  if (group === undefined) throw new Error(`no group ${name}`);
  return group;
};

describe('stream trimming', () => {
  it('MAXLEN ~: the stream keeps about maxLen entries, the newest ones', async () => {
    const { redis, admin } = await setup();
    const sink = await openSink(redis.url, { maxLen: 1000 });
    await publish(sink, 0, 5000);
    const entries = await readStream(admin, KEY);
    expect(entries.length).toBeGreaterThanOrEqual(1000);
    expect(entries.length).toBeLessThan(1010);
    expect(entries.map((e) => Number(e.fields.n))).toEqual(Array.from({ length: entries.length }, (_, i) => 5000 - entries.length + i));
    await sink.close();
  });

  it('MINID ~: entries older than the age are trimmed, measured on the stream IDs (wall-clock ms)', async () => {
    const { redis, admin } = await setup();
    let now = Date.UTC(2026, 10, 1, 12, 0, 0);
    const start = now;
    const sink = await openSink(redis.url, { minIdAgeMs: 30_000 }, () => now);
    await publish(sink, 0, 100);
    now += 60_000;
    await publish(sink, 100, 200);
    const entries = await readStream(admin, KEY);
    // The first hundred (60 s old) are gone, whole nodes of ten at a time; the second hundred stay.
    expect(entries.map((e) => Number(e.fields.n))).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
    expect(Number(entries[0]?.id.split('-')[0])).toBe(start + 60_000);
    await sink.close();
  });
});

describe('checkConsumerLag', () => {
  it('MAXLEN: warns about a group at the trim point, pending entries trimmed and a group near it; quiet for groups that keep up; a past loss once', async () => {
    const { redis, admin } = await setup();
    for (const group of ['fast', 'slow', 'idle']) await admin.xgroup('CREATE', KEY, group, '0', 'MKSTREAM');
    const trim = { maxLen: 100 };
    // One millisecond per entry, so entry IDs are evenly spaced in time.
    let clock = Date.UTC(2026, 10, 1, 12, 0, 0);
    const sink = await openSink(redis.url, trim, () => clock++);
    await publish(sink, 0, 100);
    await readAsGroup(admin, 'fast', 1000, true);
    await readAsGroup(admin, 'slow', 10, false);
    for (let n = 100; n < 1000; n += 50) {
      await publish(sink, n, n + 50);
      await readAsGroup(admin, 'fast', 1000, true);
    }
    // Made after the trimming, one entry read: about 100 behind, within 10 % of MAXLEN 100.
    await admin.xgroup('CREATE', KEY, 'near', '0');
    await readAsGroup(admin, 'near', 1, true);

    const first = await checkConsumerLag(admin, KEY, { trim, now: Date.now() });
    const length = await admin.xlen(KEY);
    const removed = 1000 - length;
    expect(first).toMatchObject({ key: KEY, exists: true, length });
    expect(byName(first.groups, 'fast')).toMatchObject({ lag: 0, pending: 0, trimmedUnread: 0, atTrimPoint: false, pendingTrimmed: false, nearTrim: false });
    expect(byName(first.groups, 'slow')).toMatchObject({ entriesRead: 10, lag: length, pending: 10, trimmedUnread: removed - 10, atTrimPoint: true, pendingTrimmed: true });
    expect(byName(first.groups, 'idle')).toMatchObject({ entriesRead: null, trimmedUnread: null, lag: length, atTrimPoint: true });
    expect(byName(first.groups, 'near')).toMatchObject({ lag: length - 1, lagEstimated: false, trimmedUnread: 0, atTrimPoint: false, nearTrim: true });
    const slowPending = byName(first.groups, 'slow').oldestPendingId;
    expect([...first.warnings].sort()).toEqual([
      `consumer group "slow" of ${KEY} is at the trim point: ${length} unread entries, and trimming removes them before it reads them (${removed - 10} lost so far)`,
      `consumer group "slow" of ${KEY} has pending entries from ${slowPending ?? '?'} that were trimmed before a consumer acknowledged them (XAUTOCLAIM clears them)`,
      // Never read: Redis has no read counter for it, so no count of what it lost.
      `consumer group "idle" of ${KEY} is at the trim point: ${length} unread entries, and trimming removes them before it reads them`,
      `consumer group "near" of ${KEY} is ${length - 1} entries behind, within 10 % of MAXLEN 100: unread entries are about to be trimmed`,
    ].sort());

    // "slow" reads half of what is left. Redis's own lag for it stays stale (its read counter never
    // moved over the entries trimmed unread): about 940 for a stream of about 100. The check
    // estimates from the entry times instead, and sees no reason to warn.
    await admin.xack(KEY, 'slow', ...(await admin.xpending(KEY, 'slow', '-', '+', 100)).map((p) => (p as [string])[0]));
    await readAsGroup(admin, 'slow', 50, true);
    const second = await checkConsumerLag(admin, KEY, { trim, now: Date.now(), previous: first });
    const slow = byName(second.groups, 'slow');
    expect(slow).toMatchObject({ lagEstimated: true, atTrimPoint: false, pending: 0, pendingTrimmed: false, nearTrim: false });
    expect(Math.abs(slow.lag - (length - 50))).toBeLessThanOrEqual(1);
    expect(Math.abs((slow.trimmedUnread ?? 0) - (removed - 10))).toBeLessThanOrEqual(1);
    // Its loss was warned about (as part of "at the trim point") and has not grown: no warning now.
    expect(second.warnings.filter((w) => w.includes('"slow"'))).toEqual([]);
    // Without the previous report, the past loss is told once.
    const fresh = await checkConsumerLag(admin, KEY, { trim, now: Date.now() });
    expect(fresh.warnings.filter((w) => w.includes('"slow"'))).toEqual([expect.stringMatching(/^consumer group "slow" of .* lost \d+ entries to trimming before reading them$/)]);
    await sink.close();
  });

  it('MINID: near the trim point once the oldest unread entry is older than 90 % of the age', async () => {
    const { redis, admin } = await setup();
    const t0 = Date.UTC(2026, 10, 1, 12, 0, 0);
    const sink = await openSink(redis.url, { minIdAgeMs: 60_000 }, () => t0);
    await admin.xgroup('CREATE', KEY, 'reader', '0', 'MKSTREAM');
    await publish(sink, 0, 50);
    await readAsGroup(admin, 'reader', 20, true);
    const at = async (now: number): Promise<GroupLag> => byName((await checkConsumerLag(admin, KEY, { trim: { minIdAgeMs: 60_000 }, now })).groups, 'reader');
    expect(await at(t0 + 30_000)).toMatchObject({ lag: 30, nearTrim: false });
    expect(await at(t0 + 55_000)).toMatchObject({ lag: 30, nearTrim: true });
    await readAsGroup(admin, 'reader', 100, true);
    expect(await at(t0 + 55_000)).toMatchObject({ lag: 0, nearTrim: false });
    await sink.close();
  });

  it('a stream that does not exist yet: no groups, no warnings', async () => {
    const { admin } = await setup();
    expect(await checkConsumerLag(admin, KEY, { trim: { maxLen: 100 }, now: Date.now() })).toEqual({ key: KEY, exists: false, length: 0, firstEntryId: null, groups: [], warnings: [] });
  });
});
