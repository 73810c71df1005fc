// A Node consumer of auditflow's stream: reads as a member of a consumer group (XREADGROUP), turns
// each entry's flat strings into the typed entry with `typedEntry` (the function `auditflow tail
// --json` uses; docs/flow.schema.json), prints flows and lifecycle entries as JSON lines, reports loss
// entries on stderr, and acknowledges each entry once handled (XACK). A consumer that was stopped
// first takes its own delivered-but-unacknowledged entries again, then new ones.
//
//   node examples/consumer.mjs [redis-url] [stream] [group] [consumer]
//
// Run from a clone after `npm run build`; with the package installed, import typedEntry from
// 'auditflow/dist/src/schema/typed.js'. COUNT=n stops after n entries (for tests and scripts).
import { Redis } from 'ioredis';
import { typedEntry } from '../dist/src/schema/typed.js';

const [url = process.env.AUDITFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379', stream = 'auditflow:flows', group = 'example', consumer = `consumer-${process.pid}`] = process.argv.slice(2);
const count = Number(process.env.COUNT ?? 0);

const redis = new Redis(url, { lazyConnect: true });
await redis.connect();
try {
  // The group starts at the stream's beginning; BUSYGROUP: it exists and keeps its own position.
  await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
} catch (error) {
  if (!String(error.message).startsWith('BUSYGROUP')) throw error;
}

let stopping = false;
process.once('SIGINT', () => {
  stopping = true;
  redis.disconnect();
});

let handled = 0;
// '0': this consumer's pending entries first; then '>': entries never delivered to the group.
let from = '0';
while (!stopping && (count === 0 || handled < count)) {
  let reply;
  try {
    // Never more than it will handle: what it reads and does not ack stays pending for this consumer.
    const batch = count === 0 ? 100 : Math.min(100, count - handled);
    reply = await redis.xreadgroup('GROUP', group, consumer, 'COUNT', batch, 'BLOCK', 2000, 'STREAMS', stream, from);
  } catch (error) {
    if (stopping) break;
    throw error;
  }
  const entries = reply?.[0]?.[1] ?? [];
  if (from !== '>' && entries.length === 0) from = '>';
  for (const [id, flat] of entries) {
    // A pending entry trimmed from the stream since comes back without fields.
    const fields = {};
    for (let i = 0; i + 1 < (flat ?? []).length; i += 2) fields[flat[i]] = flat[i + 1];
    const entry = typedEntry(fields, id);
    if (entry.kind === 'loss') {
      const serials = entry.first_serial === null ? '' : ` serials ${entry.first_serial}-${entry.last_serial}`;
      process.stderr.write(`loss: ${entry.count} lost (${entry.reason}) from ${new Date(entry.first_ts).toISOString()} to ${new Date(entry.last_ts).toISOString()}${serials} on ${entry.host}\n`);
    } else if (entry.kind !== undefined) {
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    }
    await redis.xack(stream, group, id);
    if (from !== '>') from = id;
    handled++;
  }
}
redis.disconnect();
