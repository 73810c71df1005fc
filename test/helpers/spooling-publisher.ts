// A publisher process for the crash test. Run with: node --import tsx spooling-publisher.ts
//   publish <redis-url> <spool-dir> <key> <progress-file>   publishes flows 0, 1, 2, ... for ever (Redis
//       is down, so they are spooled) and appends "accepted <n>" to the progress file after each one
//       publish() took; the test SIGKILLs it.
//   drain <redis-url> <spool-dir> <key> <batch-size>   opens the spool left behind, prints "opened
//       <health JSON>", delivers everything, prints "drained <health JSON>" and exits.
import { openSync, writeSync } from 'node:fs';
import { createRedisClient } from '../../src/sink/redis-client.js';
import { RedisStreamSink } from '../../src/sink/redis-stream-sink.js';
import { Spool } from '../../src/sink/spool.js';
import { flow } from './sink-flows.js';

const [mode, url, dir, key, extra] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const client = createRedisClient({ url, reconnectBaseMs: 20, reconnectMaxMs: 200, commandTimeoutMs: 5000 });
// Small segments, so the crash leaves several: sealed ones and the one being written.
const spool = Spool.open({ dir, maxBytes: 256 * 1024 * 1024, segmentBytes: 64 * 1024, fsync: 'never' });
const sink = await RedisStreamSink.open({
  client,
  key,
  host: 'host-a',
  bootId: '2b1a6c8e-0000-4000-8000-000000000003',
  spool,
  fullPolicy: 'block',
  batchSize: mode === 'drain' && extra !== undefined ? Number(extra) : 500,
});

if (mode === 'publish') {
  const progress = openSync(extra as string, 'a');
  for (let n = 0; ; n++) {
    while (!sink.publish(flow(n))) await sink.writable();
    // A write to a regular file is synchronous: the line is in the page cache before the next flow
    // is offered, so after the SIGKILL the file names every flow accepted but perhaps the last.
    writeSync(progress, `accepted ${n}\n`);
    if (n % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
} else {
  process.stdout.write(`opened ${JSON.stringify(sink.health())}\n`);
  await sink.flush();
  process.stdout.write(`drained ${JSON.stringify(sink.health())}\n`);
  await sink.close();
}
