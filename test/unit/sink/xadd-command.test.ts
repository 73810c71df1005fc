// The pre-encoded XADD: byte for byte what ioredis itself would send, and what Redis stores from it.
import { Command, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStamped } from '../../../src/sink/entry-bytes.js';
import { encodeXaddBatch } from '../../../src/sink/xadd-command.js';
import type { StampedEntry } from '../../../src/sink/types.js';
import { writeBatch } from '../../../src/sink/xadd.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

const entry = (id: string, fields: Record<string, string>): StampedEntry => ({ id, fields });

// Non-ASCII argv (byte length differs from string length), an empty value, quotes, CR/LF inside a value.
const ODD: StampedEntry = entry('1795252599301-7', {
  kind: 'flow',
  seq: '12',
  argv: '["/usr/bin/curl","https://exämple.test/ü","💥"]',
  comm: '',
  exe: '/opt/my "odd" app\r\nx',
});

describe('encodeXaddBatch', () => {
  it('gives the bytes ioredis encodes for the same XADD', () => {
    for (const trim of [[], ['MAXLEN', '~', 1000000]] as Array<Array<string | number>>) {
      const args = ['auditflow:flows', ...trim, ODD.id, ...Object.entries(ODD.fields).flat()];
      const expected = new Command('xadd', args).toWritable({});
      expect(encodeXaddBatch('auditflow:flows', trim, [encodeStamped(ODD)]).data).toEqual(Buffer.from(expected as string, 'utf8'));
    }
  });
});

describe('writeBatch with pre-encoded XADDs', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('stores every field exactly, and refuses a repeated ID per entry, not per batch', async () => {
    const plain = entry('1795252599302-0', { kind: 'flow', seq: '13', op: 'connect' });
    expect(await writeBatch(client, 'odd', [ODD, plain].map((e) => encodeStamped(e)))).toEqual({ written: 2, duplicates: 0, rejected: 0 });
    const stored = await client.xrange('odd', '-', '+');
    expect(stored.map(([id]) => id)).toEqual([ODD.id, plain.id]);
    expect(Object.fromEntries(chunk(stored[0]![1]))).toEqual(ODD.fields);
    // Sent again: both IDs are refused, and both are recognised as ours (same seq).
    expect(await writeBatch(client, 'odd', [ODD, plain].map((e) => encodeStamped(e)))).toEqual({ written: 0, duplicates: 2, rejected: 0 });
    expect(await client.xlen('odd')).toBe(2);
  });

  it('trims with MAXLEN as asked', async () => {
    const entries = Array.from({ length: 300 }, (_, i) => entry(`1795252599400-${i}`, { kind: 'flow', seq: String(i) }));
    await writeBatch(client, 'trimmed', entries.map((e) => encodeStamped(e)), ['MAXLEN', '~', 100]);
    // MAXLEN ~ trims whole radix-tree nodes only: about 100 remain, never fewer.
    const length = await client.xlen('trimmed');
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
  });
});

function chunk(flat: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}
