// Real redis-server processes on private loopback ports (test/helpers/redis-server.ts).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../../src/sink/redis-client.js';
import { RedisStreamSink, type RedisStreamSinkOptions } from '../../../src/sink/redis-stream-sink.js';
import { Spool } from '../../../src/sink/spool.js';
import { writeBatch } from '../../../src/sink/xadd.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

const KEY = 'auditflow:{host-a}:flows';
const BOOT = '2b1a6c8e-0000-4000-8000-000000000001';
const servers: RedisServer[] = [];
const clients: Redis[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  for (const server of servers.splice(0)) await server.kill();
});

async function server(persistent = false): Promise<RedisServer> {
  const extra: string[] = [];
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

function client(url: string): Redis {
  const c = createRedisClient({ url, reconnectBaseMs: 20, reconnectMaxMs: 200, commandTimeoutMs: 2000 });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

async function sink(url: string, extra: Partial<RedisStreamSinkOptions> = {}): Promise<RedisStreamSink> {
  return RedisStreamSink.open({ client: client(url), key: KEY, host: 'host-a', bootId: BOOT, maxLen: 0, fullPolicy: 'drop_newest', ...extra });
}

const flow = (i: number) => ({ kind: 'flow' as const, fields: { v: '1', host: 'host-a', n: String(i), op: 'connect' } });

async function readStream(url: string): Promise<Array<{ id: string; fields: Record<string, string> }>> {
  const reader = client(url);
  await reader.connect();
  const out: Array<{ id: string; fields: Record<string, string> }> = [];
  let start = '-';
  for (;;) {
    const page = await reader.xrange(KEY, start, '+', 'COUNT', 10_000);
    for (const [id, flat] of page) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      out.push({ id, fields });
    }
    if (page.length < 10_000) return out;
    start = `(${page.at(-1)?.[0] ?? ''}`;
  }
}

function expectExactlyInOrder(entries: Array<{ fields: Record<string, string> }>, count: number): void {
  const flows = entries.filter((e) => e.fields.kind === 'flow');
  expect(flows.length).toBe(count);
  flows.forEach((e, i) => expect(e.fields.n).toBe(String(i)));
  const seqs = entries.map((e) => Number(e.fields.seq));
  expect(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)).toBe(true);
}

async function publishAll(target: RedisStreamSink, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    while (!target.publish(flow(i))) await target.writable();
  }
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

  it('a retried batch adds nothing twice, and a foreign entry with the same ID is not taken for ours', async () => {
    const redis = await server();
    const c = client(redis.url);
    await c.connect();
    const entries = Array.from({ length: 10 }, (_, i) => ({ id: `1000-${i}`, fields: { kind: 'flow', boot_id: BOOT, seq: String(i + 1) } }));
    expect(await writeBatch(c, KEY, 0, entries.slice(0, 6))).toEqual({ written: 6, duplicates: 0, rejected: 0 });
    // The retry of the whole batch after a lost answer: the first six are already there.
    expect(await writeBatch(c, KEY, 0, entries)).toEqual({ written: 4, duplicates: 6, rejected: 0 });
    expect(await c.xlen(KEY)).toBe(10);
    await c.xadd(KEY, '2000-0', 'kind', 'flow', 'boot_id', 'another-host', 'seq', '1');
    expect(await writeBatch(c, KEY, 0, [{ id: '2000-0', fields: { kind: 'flow', boot_id: BOOT, seq: '11' } }])).toEqual({ written: 0, duplicates: 0, rejected: 1 });
  });

  it('delivers every flow exactly once and in order across a Redis kill and restart, and leaves no spool files', async () => {
    const redis = await server(true);
    const dir = tempDir();
    const spool = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, fsync: 'never' });
    const target = await sink(redis.url, { spool, batchSize: 200 });
    await publishAll(target, 0, 5000);
    await redis.kill();
    await publishAll(target, 5000, 10_000);
    // Slowly enough that the outage spans many publishes.
    for (let i = 10_000; i < 12_000; i += 100) {
      await publishAll(target, i, i + 100);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(target.health().state).toBe('spooling');
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    await redis.restart();
    await publishAll(target, 12_000, 15_000);
    await target.flush();
    const entries = await readStream(redis.url);
    expectExactlyInOrder(entries, 15_000);
    expect(readdirSync(dir)).toEqual([]);
    expect(target.health().state).toBe('ready');
    await target.close();
  }, 30_000);

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
