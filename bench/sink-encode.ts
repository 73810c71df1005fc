// Kernel-free measure of the flow → Redis path alone: N flows from the captured fixtures, each with a
// process context drawn from a few hundred made-up processes (as the daemon sees with process_context
// on), handed to the Redis sink in reader-sized bursts against a private redis-server. Reports µs of
// this process's CPU per entry: encoding only, and encoding + writing (the sink's pipelined batches and
// their replies; redis-server's own CPU is not counted). For scavenge counts run it with --trace-gc:
//   node --import tsx bench/sink-encode.ts [entries]            (docs/benchmark.md, "The sink alone")
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FlowEncoder } from '../src/daemon/flow-entry.js';
import type { Flow } from '../src/pipeline/flow.js';
import { createRedisClient } from '../src/sink/redis-client.js';
import { RedisStreamSink } from '../src/sink/redis-stream-sink.js';
import { EntryStamper } from '../src/sink/entry-bytes.js';
import { startRedis } from './redis.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const BURST = 200;
const PROCESSES = 300;

function fixtureFlows(): Flow[] {
  return readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.flows.json'))
    .sort()
    .flatMap((name) => (JSON.parse(readFileSync(FIXTURES + name, 'utf8')) as { flows: Flow[] }).flows);
}

type Context = Pick<Flow, 'exe' | 'comm' | 'cwd' | 'user' | 'parent_exe' | 'parent_comm' | 'parent_argv' | 'container_id' | 'container_runtime' | 'pod_uid' | 'unit' | 'labels'>;

function contexts(): Context[] {
  return Array.from({ length: PROCESSES }, (_, i) => ({
    exe: `/usr/lib/service-${i % 40}/bin/worker`,
    comm: `worker-${i % 40}`,
    cwd: `/srv/app-${i}`,
    user: i % 3 === 0 ? 'root' : 'www-data',
    parent_exe: '/usr/lib/systemd/systemd',
    parent_comm: 'systemd',
    parent_argv: ['/sbin/init', 'splash'],
    container_id: i % 2 === 0 ? `${'c0ffee'.repeat(10)}${String(i).padStart(4, '0')}` : null,
    container_runtime: i % 2 === 0 ? 'containerd' : null,
    pod_uid: i % 2 === 0 ? `0b1d6c8e-4a1f-4c9e-9d0a-${String(i).padStart(12, '0')}` : null,
    unit: `service-${i % 40}.service`,
    labels: i % 5 === 0 ? ['team=net', 'tier=edge'] : [],
  }));
}

/** A fresh flow object per event, as the pipeline makes them: its own argv array, its process's strings. */
function makeFlow(base: Flow, context: Context, serial: number): Flow {
  return { ...base, ...context, serial, ts: base.ts + serial, argv: [...base.argv], pid: 10_000 + (serial % PROCESSES) };
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function main(): Promise<void> {
  const entries = Number(process.argv[2] ?? 100_000);
  const bases = fixtureFlows();
  const ctx = contexts();
  const flows = (n: number): Flow[] => Array.from({ length: n }, (_, i) => makeFlow(bases[i % bases.length] as Flow, ctx[(i * 7) % PROCESSES] as Context, i));

  // Encoding only: each entry's bytes with its ID and envelope, as the sink makes them when it accepts one.
  const encoder = new FlowEncoder('bench-host');
  const stamper = new EntryStamper('2b1a6c8e-0000-4000-8000-00000000beef');
  const sample = flows(entries);
  const before = cpuMicros();
  let seq = 0;
  for (const flow of sample) {
    seq++;
    stamper.stamp(`1795252393149-${seq}`, seq, encoder.entry(flow));
  }
  const encodeUs = (cpuMicros() - before) / entries;

  process.stdout.write('--- write phase\n');
  const redis = await startRedis();
  const client = createRedisClient({ url: redis.url });
  const sink = await RedisStreamSink.open({ client, key: 'bench:flows', host: 'bench-host', bootId: '2b1a6c8e-0000-4000-8000-00000000beef', fullPolicy: 'block', queueLimit: 1_000_000 });
  const input = flows(entries);
  const start = cpuMicros();
  const wall = performance.now();
  for (let i = 0; i < input.length; i += BURST) {
    for (const flow of input.slice(i, i + BURST)) while (!sink.publish(encoder.entry(flow))) await sink.writable();
    // One reader batch per turn of the event loop, as the daemon gets them.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sink.flush();
  const totalUs = (cpuMicros() - start) / entries;
  const wallMs = performance.now() - wall;
  const written = sink.health().counters.written;
  await sink.close();
  const stored = await redis.client.xlen('bench:flows');
  await redis.stop();
  process.stdout.write(
    `${JSON.stringify({ entries, encodeUsPerEntry: round(encodeUs), encodeAndWriteUsPerEntry: round(totalUs), wallMs: Math.round(wallMs), written, stored, heapUsedMb: round(process.memoryUsage().heapUsed / 2 ** 20) })}\n`,
  );
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

await main();
