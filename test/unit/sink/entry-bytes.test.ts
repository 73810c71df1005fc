// Entries as bytes from publish to Redis: one pipelined buffer per batch with its replies counted by
// index, the spool storing the same bytes, and an earlier version's JSON spool records still delivered.
// Real redis-server processes on private loopback ports (test/helpers/redis-server.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowEncoder } from '../../../src/daemon/flow-entry.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { decodeEntry, encodeStamped, EntryStamper, readSpooled } from '../../../src/sink/entry-bytes.js';
import { createRedisClient, type RedisClient } from '../../../src/sink/redis-client.js';
import { RedisStreamSink } from '../../../src/sink/redis-stream-sink.js';
import { encodeRecord } from '../../../src/sink/spool-format.js';
import { Spool } from '../../../src/sink/spool.js';
import { writeBatch } from '../../../src/sink/xadd.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { readStream } from '../../helpers/sink-stream.js';
import { fixtureLines, runLogLines } from '../pipeline/fixtures.js';

const KEY = 'auditflow:{host-a}:flows';
const BOOT = '2b1a6c8e-0000-4000-8000-000000000004';
const servers: RedisServer[] = [];
const clients: RedisClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function connected(): Promise<RedisClient> {
  const server = await startRedis();
  servers.push(server);
  const client = createRedisClient({ url: server.url, commandTimeoutMs: 2000 });
  client.on('error', () => undefined);
  clients.push(client);
  await client.connect();
  return client;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'auditflow-entry-bytes-'));
  dirs.push(dir);
  return dir;
}

const stamped = (id: string, seq: number, extra: Record<string, string> = {}): Buffer => encodeStamped({ id, fields: { kind: 'flow', boot_id: BOOT, seq: String(seq), op: 'connect', ...extra } });

describe('writeBatch on entry bytes', () => {
  it('counts each reply by its index: entries refused for good in the middle of a batch are rejected, the others written in order', async () => {
    const client = await connected();
    const batch = [
      stamped('3000-0', 1),
      // An ID below the one before it: Redis refuses it, and XRANGE finds no entry of ours there.
      stamped('2999-5', 2),
      stamped('3000-1', 3),
      // No stream ID at all: refused with another error, and not one that passes.
      stamped('not-an-id', 4),
      stamped('3000-2', 5, { argv: '["a\\r\\nb","💥"]' }),
    ];
    // Commands sent behind the batch on the same connection get their own replies, not the batch's.
    const [result, pong, length] = await Promise.all([writeBatch(client, KEY, batch), client.ping(), client.xlen(KEY)]);
    expect(result).toEqual({ written: 3, duplicates: 0, rejected: 2 });
    expect([pong, length]).toEqual(['PONG', 3]);
    const stored = await readStream(client, KEY);
    expect(stored.map((e) => [e.id, e.fields.seq])).toEqual([
      ['3000-0', '1'],
      ['3000-1', '3'],
      ['3000-2', '5'],
    ]);
    expect(stored[2]?.fields.argv).toBe('["a\\r\\nb","💥"]');
  });

  it('sent again after a lost answer, counts the entries already written as duplicates and writes the rest', async () => {
    const client = await connected();
    const batch = Array.from({ length: 8 }, (_, i) => stamped(`4000-${i}`, i + 1));
    expect(await writeBatch(client, KEY, batch.slice(0, 5))).toEqual({ written: 5, duplicates: 0, rejected: 0 });
    expect(await writeBatch(client, KEY, batch)).toEqual({ written: 3, duplicates: 5, rejected: 0 });
    expect((await readStream(client, KEY)).map((e) => e.fields.seq)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  });

  it('writes a batch of 2,000 fixture flows as their exact fields', async () => {
    const client = await connected();
    const flows = runLogLines(fixtureLines('connect-tcp4-ok')).flows;
    const encoder = new FlowEncoder('host-a');
    const stamper = new EntryStamper(BOOT);
    const batch = Array.from({ length: 2000 }, (_, i) => stamper.stamp(`5000-${i}`, i + 1, encoder.entry(flows[i % flows.length] as Flow)));
    expect(await writeBatch(client, KEY, batch)).toEqual({ written: 2000, duplicates: 0, rejected: 0 });
    const stored = await readStream(client, KEY);
    expect(stored.map((e) => ({ id: e.id, fields: e.fields }))).toEqual(batch.map((bytes) => decodeEntry(bytes)));
  });
});

describe('the sink writes a batch', () => {
  it('as one socket write: the flows published in one turn of the event loop', async () => {
    await connected();
    const client = createRedisClient({ url: `redis://127.0.0.1:${(servers[0] as RedisServer).port}` });
    clients.push(client);
    const sink = await RedisStreamSink.open({ client, key: KEY, host: 'host-a', bootId: BOOT, fullPolicy: 'drop_newest', batchSize: 500 });
    const socket = (client as Redis).stream;
    const writes: number[] = [];
    const write = socket.write.bind(socket) as (chunk: Buffer | string) => boolean;
    socket.write = ((chunk: Buffer | string) => {
      writes.push(chunk.length);
      return write(chunk);
    }) as typeof socket.write;
    const flows = runLogLines(fixtureLines('connect-tcp4-ok')).flows;
    const encoder = new FlowEncoder('host-a');
    for (let i = 0; i < 300; i++) expect(sink.publish(encoder.entry(flows[i % flows.length] as Flow))).toBe(true);
    await sink.flush();
    expect(writes).toHaveLength(1);
    expect(sink.health().counters).toMatchObject({ accepted: 300, written: 300 });
    await sink.close();
  });
});

describe('the spool holds entry bytes', () => {
  it('gives back the bytes it was given, across a reopen', () => {
    const dir = tempDir();
    const entries = Array.from({ length: 50 }, (_, i) => stamped(`6000-${i}`, i + 1, { exe: `/usr/bin/é${'x'.repeat(i * 40)}` }));
    const spool = Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 2048, fsync: 'never' });
    expect(spool.append(entries)).toBe(50);
    spool.close();
    const reopened = Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 2048, fsync: 'never' });
    const read: Buffer[] = [];
    while (!reopened.caughtUp) read.push(...reopened.read(7).payloads);
    reopened.close();
    expect(read.map((payload) => readSpooled(payload))).toEqual(entries);
  });

  it('refuses a payload that is not one whole entry, which would break the pipelined stream', () => {
    const good = stamped('7000-0', 1);
    expect(readSpooled(good)).toEqual(good);
    expect(readSpooled(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(readSpooled(Buffer.concat([good, Buffer.from('$1\r\nx\r\n')]))).toBeUndefined();
    expect(readSpooled(Buffer.from('*2\r\n$1\r\na\r\n$1\r\nb\r\n'))).toBeUndefined();
    expect(readSpooled(Buffer.from('hello'))).toBeUndefined();
  });

  it('delivers the JSON records an earlier version spooled, with their IDs and fields, and continues after them', async () => {
    const client = await connected();
    const dir = tempDir();
    const old = Array.from({ length: 3 }, (_, i) => ({ id: `8000-${i}`, fields: { kind: 'flow', boot_id: BOOT, seq: String(i + 1), v: '1', host: 'host-a', argv: '["x \\"y\\""]', n: String(i) } }));
    const spool = Spool.open({ dir, maxBytes: 1 << 20, fsync: 'never' });
    // A record whose CRC holds but whose payload is neither form: skipped and counted, not sent.
    spool.append([Buffer.from('not an entry')]);
    spool.append(old.map((entry) => Buffer.from(JSON.stringify(entry))));
    spool.close();
    const sink = await RedisStreamSink.open({
      client: createRedisClient({ url: `redis://127.0.0.1:${(servers[0] as RedisServer).port}` }),
      key: KEY,
      host: 'host-a',
      bootId: BOOT,
      fullPolicy: 'drop_newest',
      spool: Spool.open({ dir, maxBytes: 1 << 20, fsync: 'never' }),
    });
    expect(sink.publish({ kind: 'flow', fields: { v: '1', host: 'host-a', n: '3' } })).toBe(true);
    await sink.flush();
    expect(sink.health().counters).toMatchObject({ spoolCorrupt: 1, written: 5 });
    await sink.close();
    const stored = await readStream(client, KEY);
    expect(stored.slice(0, 3)).toEqual(old);
    const after = stored.slice(3);
    expect(after.find((e) => e.fields.kind === 'loss')?.fields).toMatchObject({ reason: 'spool_corrupt', count: '1' });
    expect(after.find((e) => e.fields.kind === 'flow')?.fields).toMatchObject({ n: '3' });
    expect(after.map((e) => e.fields.seq).sort()).toEqual(['4', '5']);
  });

  it('a spool record is the bytes of encodeRecord around the entry, nothing else', () => {
    const entry = stamped('9000-0', 1);
    const record = encodeRecord(entry);
    expect(record.subarray(8)).toEqual(entry);
    expect(record.subarray(8, 9).toString()).toBe('*');
  });
});
