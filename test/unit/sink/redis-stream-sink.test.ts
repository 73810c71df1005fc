// Real redis-server processes on private loopback ports (test/helpers/redis-server.ts).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisClient, type RedisClient } from '../../../src/sink/redis-client.js';
import { RedisStreamSink, type RedisStreamSinkOptions } from '../../../src/sink/redis-stream-sink.js';
import { Spool } from '../../../src/sink/spool.js';
import type { EncodableEntry } from '../../../src/sink/types.js';
import { encodeStamped } from '../../../src/sink/entry-bytes.js';
import { writeBatch } from '../../../src/sink/xadd.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { expectExactlyInOrder, flow, publishAll, readStream as readKey } from '../../helpers/sink-stream.js';

const KEY = 'auditflow:{host-a}:flows';
const BOOT = '2b1a6c8e-0000-4000-8000-000000000001';
const servers: RedisServer[] = [];
const clients: RedisClient[] = [];
const dirs: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  for (const server of servers.splice(0)) await server.kill();
});

async function server(persistent = false, extra: string[] = []): Promise<RedisServer> {
  if (persistent) {
    // The outage test kills Redis with SIGKILL: an fsynced AOF keeps what Redis acknowledged.
    const dir = tempDir();
    extra.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir);
  }
  const started = await startRedis(extra);
  servers.push(started);
  return started;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'auditflow-sink-'));
  dirs.push(dir);
  return dir;
}

function client(url: string, commandTimeoutMs = 2000): RedisClient {
  const c = createRedisClient({ url, reconnectBaseMs: 20, reconnectMaxMs: 200, commandTimeoutMs });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

async function sink(url: string, extra: Partial<RedisStreamSinkOptions> = {}): Promise<RedisStreamSink> {
  return RedisStreamSink.open({ client: client(url), key: KEY, host: 'host-a', bootId: BOOT, fullPolicy: 'drop_newest', ...extra });
}

async function readStream(url: string): Promise<Array<{ id: string; fields: Record<string, string> }>> {
  const reader = client(url);
  await reader.connect();
  return readKey(reader, KEY);
}

describe('RedisStreamSink', () => {
  it('publishes 100,000 flows in order, none missing or duplicated', async () => {
    const redis = await server();
    const target = await sink(redis.url, { batchSize: 1000, queueLimit: 20_000, fullPolicy: 'block' });
    const started = performance.now();
    for (let i = 0; i < 100_000; i += 5000) {
      await publishAll(target, i, i + 5000);
      await new Promise((r) => setImmediate(r));
    }
    await target.flush();
    const seconds = (performance.now() - started) / 1000;
    console.log(`throughput: ${Math.round(100_000 / seconds)} entries/s`);
    const entries = await readStream(redis.url);
    expectExactlyInOrder(entries, 100_000);
    expect(entries[0]?.fields).toMatchObject({ kind: 'flow', boot_id: BOOT, seq: '1', v: '1', host: 'host-a', op: 'connect' });
    expect(target.health().counters).toMatchObject({ accepted: 100_000, written: 100_000, duplicatesSuppressed: 0, droppedFull: 0 });
    await target.close();
  }, 30_000);

  it('tells onWritten of each entry with an event time once Redis has acknowledged it, and of nothing before', async () => {
    const redis = await server();
    const written: Array<[number, number]> = [];
    const target = await sink(redis.url, { onWritten: (eventMs, nowMs) => written.push([eventMs, nowMs]), now: () => 1_795_252_400_000 });
    const flowAt = (eventMs: number): EncodableEntry => ({
      kind: 'flow',
      eventMs,
      encode: (out) => {
        out.bulk('op');
        out.bulk('connect');
        return 1;
      },
      toFields: () => ({ op: 'connect' }),
    });
    for (let i = 0; i < 10; i++) target.publish(flowAt(1_795_252_399_000 + i));
    // An entry without an event time (a lifecycle entry) is written, not told of.
    target.publish({ kind: 'lifecycle', fields: { event: 'start' } });
    expect(written).toEqual([]);
    await target.flush();
    expect(written).toEqual(Array.from({ length: 10 }, (_, i) => [1_795_252_399_000 + i, 1_795_252_400_000]));
    expect(await readStream(redis.url)).toHaveLength(11);
    await target.close();
  });

  it('a retried batch adds nothing twice, and a foreign entry with the same ID is not taken for ours', async () => {
    const redis = await server();
    const c = client(redis.url);
    await c.connect();
    const entries = Array.from({ length: 10 }, (_, i) => encodeStamped({ id: `1000-${i}`, fields: { kind: 'flow', boot_id: BOOT, seq: String(i + 1) } }));
    expect(await writeBatch(c, KEY, entries.slice(0, 6))).toEqual({ written: 6, duplicates: 0, rejected: 0 });
    // The retry of the whole batch after a lost answer: the first six are already there.
    expect(await writeBatch(c, KEY, entries)).toEqual({ written: 4, duplicates: 6, rejected: 0 });
    expect(await c.xlen(KEY)).toBe(10);
    await c.xadd(KEY, '2000-0', 'kind', 'flow', 'boot_id', 'another-host', 'seq', '1');
    expect(await writeBatch(c, KEY, [encodeStamped({ id: '2000-0', fields: { kind: 'flow', boot_id: BOOT, seq: '11' } })])).toEqual({ written: 0, duplicates: 0, rejected: 1 });
  });

  it('delivers every flow exactly once and in order across a Redis kill and a restart 10 s later, and leaves no spool files', async () => {
    const redis = await server(true);
    const dir = tempDir();
    const spool = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, fsync: 'never' });
    const target = await sink(redis.url, { spool, batchSize: 200 });
    await publishAll(target, 0, 5000);
    await redis.kill();
    const down = performance.now();
    await publishAll(target, 5000, 10_000);
    // Flows keep coming through the ten seconds Redis is away, so the outage spans many publishes and
    // many reconnect attempts (their backoff is capped at 200 ms here).
    let next = 10_000;
    while (performance.now() - down < 10_000) {
      await publishAll(target, next, next + 100);
      next += 100;
      await sleep(50);
    }
    expect(target.health().state).toBe('spooling');
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    await redis.restart();
    await publishAll(target, next, next + 3000);
    await target.flush();
    const entries = await readStream(redis.url);
    expectExactlyInOrder(entries, next + 3000);
    expect(readdirSync(dir)).toEqual([]);
    expect(target.health().state).toBe('ready');
    await target.close();
  }, 60_000);

  it('drop_newest: counts every refused flow and reports them in one loss entry once Redis is back', async () => {
    const redis = await server();
    await redis.kill();
    const dir = tempDir();
    const spool = Spool.open({ dir, maxBytes: 64 * 1024, segmentBytes: 8 * 1024, fsync: 'never' });
    const target = await sink(redis.url, { spool, fullPolicy: 'drop_newest' });
    let accepted = 0;
    for (let i = 0; i < 2000; i++) if (target.publish(flow(accepted))) accepted++;
    const { counters } = target.health();
    expect(accepted).toBeGreaterThan(100);
    expect(counters.accepted).toBe(accepted);
    expect(counters.droppedFull).toBe(2000 - accepted);
    await redis.restart();
    await target.flush();
    const entries = await readStream(redis.url);
    expectExactlyInOrder(entries, accepted);
    const losses = entries.filter((e) => e.fields.kind === 'loss');
    expect(losses).toHaveLength(1);
    expect(losses[0]?.fields).toMatchObject({ reason: 'spool_full', count: String(2000 - accepted) });
    await target.close();
  }, 20_000);

  it('block: refuses without taking the flow, and takes it again once Redis has drained the spool', async () => {
    const redis = await server();
    await redis.kill();
    const dir = tempDir();
    const spool = Spool.open({ dir, maxBytes: 64 * 1024, segmentBytes: 8 * 1024, fsync: 'never' });
    const target = await sink(redis.url, { spool, fullPolicy: 'block' });
    let next = 0;
    let refusals = 0;
    for (let attempt = 0; attempt < 2000; attempt++) {
      if (target.publish(flow(next))) next++;
      else refusals++;
    }
    expect(target.health().counters).toMatchObject({ accepted: next, blocked: refusals, droppedFull: 0 });
    const writable = target.writable();
    await redis.restart();
    await writable;
    await publishAll(target, next, next + 500);
    await target.flush();
    const entries = await readStream(redis.url);
    expectExactlyInOrder(entries, next + 500);
    expect(entries.filter((e) => e.fields.kind === 'loss')).toEqual([]);
    await target.close();
  }, 20_000);
});


/**
 * Publishes 20,000 flows while `stall` keeps Redis from answering, sampling after every publish what the
 * process holds: the sink's memory queue (with the batch in flight) and ioredis's queue of commands sent
 * and not yet answered. Returns the maxima; checks that everything arrives once Redis answers again.
 */
async function publishThroughStall(stall: (admin: RedisClient) => Promise<void>, extraArgs: string[] = []): Promise<{ queued: number; commands: number; spoolBytes: number }> {
  const redis = await server(false, extraArgs);
  const admin = createRedisClient({ url: redis.url, commandTimeoutMs: 30_000 });
  admin.on('error', () => undefined);
  clients.push(admin);
  await admin.connect();
  const dir = tempDir();
  const spool = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, fsync: 'never' });
  // A command timeout far below the stall, so batches time out (and are retried) during it.
  const c = client(redis.url, 400) as Redis;
  const target = await RedisStreamSink.open({ client: c, key: KEY, host: 'host-a', bootId: BOOT, spool, batchSize: 100, queueLimit: 1000, fullPolicy: 'block' });
  const stalled = stall(admin);
  const max = { queued: 0, commands: 0, spoolBytes: 0 };
  for (let i = 0; i < 20_000; i++) {
    while (!target.publish(flow(i))) await target.writable();
    const health = target.health();
    max.queued = Math.max(max.queued, health.queued);
    max.spoolBytes = Math.max(max.spoolBytes, health.spoolBytes);
    max.commands = Math.max(max.commands, c.commandQueue.length);
    // Spread the publishing over the stall, so the publisher meets it in every state.
    if (i % 100 === 99) await sleep(10);
  }
  await stalled;
  await target.flush();
  expectExactlyInOrder(await readStream(redis.url), 20_000);
  expect(target.health().counters).toMatchObject({ accepted: 20_000, droppedFull: 0, rejected: 0 });
  expect(readdirSync(dir)).toEqual([]);
  await target.close();
  return max;
}

describe('RedisStreamSink against a slow Redis', () => {
  // Bounds: the memory queue holds at most queueLimit (1000) entries plus the batch in flight (100);
  // ioredis holds at most one batch (100) of unanswered commands, plus its handshake, because a
  // timed-out batch drops the connection (retrying on it would leave one more batch per timeout
  // waiting for a reply: 600 commands in this test before that was fixed).
  it('CLIENT PAUSE WRITE for 3 s: memory stays bounded, the overflow goes to the spool, nothing is lost', async () => {
    const max = await publishThroughStall(async (admin) => {
      await admin.call('CLIENT', 'PAUSE', '3000', 'WRITE');
      await sleep(3000);
    });
    expect(max.queued).toBeLessThanOrEqual(1100);
    expect(max.commands).toBeLessThanOrEqual(110);
    expect(max.spoolBytes).toBeGreaterThan(0);
  }, 60_000);

  it('DEBUG SLEEP 3: memory stays bounded, the overflow goes to the spool, nothing is lost', async () => {
    const max = await publishThroughStall(
      // DEBUG SLEEP blocks the whole server, this connection's reply included.
      (admin) => admin.call('DEBUG', 'SLEEP', '3').then(() => undefined),
      ['--enable-debug-command', 'local'],
    );
    expect(max.queued).toBeLessThanOrEqual(1100);
    expect(max.commands).toBeLessThanOrEqual(110);
    expect(max.spoolBytes).toBeGreaterThan(0);
  }, 60_000);

  it('an OOM reply (maxmemory reached) is retried until Redis has room, not counted as rejected', async () => {
    const redis = await server(false, ['--maxmemory-policy', 'noeviction']);
    const admin = client(redis.url);
    await admin.connect();
    const spool = Spool.open({ dir: tempDir(), maxBytes: 64 * 1024 * 1024, fsync: 'never' });
    const target = await sink(redis.url, { spool, batchSize: 50 });
    await publishAll(target, 0, 100);
    await target.flush();
    await admin.call('CONFIG', 'SET', 'maxmemory', '1');
    await publishAll(target, 100, 300);
    const deadline = Date.now() + 20_000;
    while (!/^OOM/.test(target.health().lastError ?? '') && Date.now() < deadline) await sleep(20);
    expect(target.health().lastError).toMatch(/^OOM/);
    expect(target.health().counters.rejected).toBe(0);
    await admin.call('CONFIG', 'SET', 'maxmemory', '0');
    await target.flush();
    const entries = await readStream(redis.url);
    expectExactlyInOrder(entries, 300);
    expect(entries.filter((e) => e.fields.kind === 'loss')).toEqual([]);
    expect(target.health().counters.rejected).toBe(0);
    await target.close();
  }, 60_000);
});

describe('RedisStreamSink and a Redis restart', () => {
  it('a batch in flight when Redis dies fails at once, not after the command timeout, and is delivered after the restart', async () => {
    const redis = await server(true);
    const admin = client(redis.url);
    await admin.connect();
    const c = client(redis.url, 60_000);
    const target = await RedisStreamSink.open({
      client: c,
      key: KEY,
      host: 'host-a',
      bootId: BOOT,
      spool: Spool.open({ dir: tempDir(), maxBytes: 64 * 1024 * 1024, fsync: 'never' }),
      fullPolicy: 'block',
    });
    await publishAll(target, 0, 100);
    await target.flush();
    // Held by the pause, a batch is in flight when Redis is killed.
    await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
    await publishAll(target, 100, 200);
    await sleep(100);
    expect(target.health().queued).toBeGreaterThan(0);
    await redis.kill();
    await redis.restart();
    await target.flush();
    expectExactlyInOrder(await readStream(redis.url), 200);
    await target.close();
  }, 20_000);
});

describe('RedisStreamSink backpressure and shutdown', () => {
  it('block: writable() waits until the spool has room for the refused entry itself, not for a guessed size', async () => {
    const redis = await server();
    await redis.kill();
    const spool = Spool.open({ dir: tempDir(), maxBytes: 100_000, fsync: 'never' });
    const target = await sink(redis.url, { spool, fullPolicy: 'block' });
    // Entries of about 9 KiB: ten fill the spool and leave more than 4 KiB, less than one entry, free.
    const big = (i: number) => flow(i, { pad: 'x'.repeat(9000) });
    let accepted = 0;
    while (target.publish(big(accepted))) accepted++;
    const free = spool.maxBytes - spool.bytes;
    expect(free).toBeGreaterThan(4096);
    expect(free).toBeLessThan(9000);
    let resolved = false;
    const writable = target.writable().then(() => (resolved = true));
    await sleep(300);
    expect(resolved).toBe(false);
    expect(target.health().counters.blocked).toBe(1);
    await redis.restart();
    await writable;
    expect(target.publish(big(accepted))).toBe(true);
    await target.flush();
    expectExactlyInOrder(await readStream(redis.url), accepted + 1);
    await target.close();
  }, 30_000);

  it('close() returns within its own deadline while Redis holds a batch, and the next run delivers every entry once', async () => {
    const redis = await server();
    const admin = client(redis.url);
    await admin.connect();
    const dir = tempDir();
    const first = createRedisClient({ url: redis.url, commandTimeoutMs: 60_000 });
    first.on('error', () => undefined);
    clients.push(first);
    const target = await RedisStreamSink.open({
      client: first,
      key: KEY,
      host: 'host-a',
      bootId: BOOT,
      spool: Spool.open({ dir, maxBytes: 64 * 1024 * 1024, fsync: 'never' }),
      fullPolicy: 'block',
      closeTimeoutMs: 300,
    });
    await publishAll(target, 0, 100);
    await target.flush();
    await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    await publishAll(target, 100, 300);
    await sleep(100);
    expect(target.health().queued).toBeGreaterThan(0);
    const started = performance.now();
    await target.close();
    // The batch in flight would have waited for the 60 s command timeout; close gave up after 300 ms.
    expect(performance.now() - started).toBeLessThan(15_000);
    await admin.call('CLIENT', 'UNPAUSE');
    const next = await sink(redis.url, { spool: Spool.open({ dir, maxBytes: 64 * 1024 * 1024, fsync: 'never' }) });
    await next.flush();
    expectExactlyInOrder(await readStream(redis.url), 300);
    expect(readdirSync(dir)).toEqual([]);
    await next.close();
  }, 30_000);
});
