// The sink's envelope (kind, boot_id, seq) on every entry it writes: its own values, whatever a
// producer put in the entry's fields under those names, and every other field as given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../../src/sink/redis-client.js';
import { RedisStreamSink } from '../../../src/sink/redis-stream-sink.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

const BOOT = '2b1a6c8e-0000-4000-8000-000000000002';

describe("the sink's envelope", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("overrides a producer's kind, boot_id and seq, and keeps every other field", async () => {
    const client = createRedisClient({ url: server.url });
    const sink = await RedisStreamSink.open({ client, key: 'envelope', host: 'h', bootId: BOOT, fullPolicy: 'drop_newest' });
    expect(sink.publish({ kind: 'flow', fields: { kind: 'loss', boot_id: 'forged', seq: '999', op: 'connect', argv: '["a b"]' } })).toBe(true);
    await sink.close();
    const reader = createRedisClient({ url: server.url });
    await reader.connect();
    const [[, flat]] = (await reader.xrange('envelope', '-', '+')) as [[string, string[]]];
    reader.disconnect();
    const fields = Object.fromEntries(flat.flatMap((value, i) => (i % 2 === 0 ? [[value, flat[i + 1]]] : [])));
    expect(fields).toEqual({ kind: 'flow', boot_id: BOOT, seq: '1', op: 'connect', argv: '["a b"]' });
  });
});
