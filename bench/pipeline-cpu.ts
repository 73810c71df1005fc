// The pipeline alone, without a kernel: the captured fixtures' records (test/fixtures/*.log) packed
// into batches laid out as the addon delivers them (one Buffer, six meta words per record), fed many
// times with fresh serials, and the CPU the pipeline spent per 1,000 events. No sink, no /proc, no
// socket lookups: what parsing, reassembly and flow building cost.
//
//   node dist/bench/pipeline-cpu.js [--repeats N] [--batch RECORDS] [--mode batch|records]
//   node --trace-gc dist/bench/pipeline-cpu.js ... | sed -n '/^feeding/,/^fed/p' | grep -c Scavenge
//
// `records` feeds each record through pushKernelRecord as the daemon did before batches reached the
// pipeline (one message object per record, then the generic parser); `batch` feeds pushBatch.
// `--process` adds the process stage, the records' pids being this process's (alive, so each flow
// is a cache hit after one /proc read per batch, as in the daemon); `--encode` turns each flow into
// the RESP bytes the Redis sink sends (FlowEncoder + EntryStamper), without a server.
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { META_WORDS, type RecordBatch } from '../src/native/record-batch.js';
import { FlowEncoder } from '../src/daemon/flow-entry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { createProcessResolver } from '../src/pipeline/process/index.js';
import { EntryStamper } from '../src/sink/entry-bytes.js';
import { typeFromName } from '../src/linux/record-types.js';
import type { Flow } from '../src/pipeline/flow.js';

const OWN_EXE = realpathSync('/proc/self/exe');
// --process events happen in the second after this one: after this process started, and before
// the feed (which waits for that second to pass), as a live process's events reach the daemon.
const NOW_SECOND = Math.floor(Date.now() / 1000) + 1;
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Every fixture's records, in file order: (type, text after `msg=`, serial numbered across all files from 1). */
function fixtureRecords(): Array<[number, string, number]> {
  const records: Array<[number, string, number]> = [];
  let serials = 0;
  for (const file of readdirSync(FIXTURES).filter((name) => name.endsWith('.log')).sort()) {
    // Fixtures captured at different times may share serials: each file's get their own numbers.
    const renumber = new Map<string, number>();
    for (const line of readFileSync(join(FIXTURES, file), 'utf8').split('\n')) {
      const match = /^type=(\S+) msg=(audit\(\d+\.\d{3}:(\d+)\).*)$/.exec(line);
      const type = match ? typeFromName(match[1] ?? '') : undefined;
      if (!match || type === undefined) continue;
      const serial = match[3] ?? '';
      if (!renumber.has(serial)) renumber.set(serial, ++serials);
      records.push([type, match[2] ?? '', renumber.get(serial) ?? 0]);
    }
  }
  return records;
}

/**
 * The records `repeats` times, each pass with serials and times moved past the one before (so no
 * event is late or a duplicate), cut into batches of `batchRecords`.
 */
function buildBatches(records: Array<[number, string, number]>, repeats: number, batchRecords: number, ownPids: boolean): RecordBatch[] {
  const serials = records.at(-1)?.[2] ?? 0;
  const batches: RecordBatch[] = [];
  let texts: string[] = [];
  let types: number[] = [];
  const cut = (): void => {
    const payloads = texts.map((text) => Buffer.from(text, 'latin1'));
    const meta = new Uint32Array(payloads.length * META_WORDS);
    let offset = 0;
    payloads.forEach((payload, i) => {
      meta.set([types[i] ?? 0, 0, 0, 0, offset, payload.length], i * META_WORDS);
      offset += payload.length;
    });
    batches.push({ data: Buffer.concat(payloads), meta, lookups: null });
    texts = [];
    types = [];
  };
  for (let pass = 0; pass < repeats; pass++) {
    // With --process, the events are this process's and happen now (one exe, times after its start),
    // as the daemon sees a live process's; otherwise each pass is a second after the one before.
    const seconds = ownPids ? NOW_SECOND : 1_800_000_000 + pass;
    for (const [type, text, serial] of records) {
      const stamped = text.replace(/^audit\(\d+\.(\d{3}):\d+\)/, (_, millis: string) => `audit(${seconds}.${millis}:${pass * serials + serial})`);
      texts.push(ownPids ? stamped.replace(/ ppid=\d+ pid=\d+ /, ` ppid=${process.ppid} pid=${process.pid} `).replace(/ exe="[^"]*"/, ` exe="${OWN_EXE}"`) : stamped);
      types.push(type);
      if (texts.length === batchRecords) cut();
    }
  }
  if (texts.length > 0) cut();
  return batches;
}

function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result))));
}

function feedRecords(pipeline: Pipeline, batch: RecordBatch): void {
  // As src/audit/socket.ts dispatched a batch before: one message object per record.
  const messages: Array<{ type: number; flags: number; seq: number; pid: number; payload: Buffer }> = [];
  for (let i = 0; i + META_WORDS <= batch.meta.length; i += META_WORDS) {
    const offset = batch.meta[i + 4] ?? 0;
    messages.push({ type: batch.meta[i] ?? 0, flags: 0, seq: 0, pid: 0, payload: batch.data.subarray(offset, offset + (batch.meta[i + 5] ?? 0)) });
  }
  for (const message of messages) pipeline.pushKernelRecord(message.type, message.payload);
}

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '300' },
    batch: { type: 'string', default: '256' },
    mode: { type: 'string', default: 'batch' },
    process: { type: 'boolean', default: false },
    encode: { type: 'boolean', default: false },
    profile: { type: 'string', default: '' },
  },
});
const mode = values.mode;
if (mode !== 'records' && mode !== 'batch') throw new Error('--mode is batch or records');
const batches = buildBatches(fixtureRecords(), Number(values.repeats), Number(values.batch), values.process);
let flows = 0;
let bytes = 0;
const encoder = new FlowEncoder('bench-host');
const stamper = new EntryStamper('00000000-0000-4000-8000-000000000000');
const onFlow = values.encode
  ? (flow: Flow): void => {
      flows++;
      bytes += stamper.stamp(`1-${flows}`, flows, encoder.entry(flow)).length;
    }
  : (): void => {
      flows++;
    };
const processContext = values.process ? createProcessResolver() : undefined;
// The resolver's worker thread is unref'd: without a handle of our own the awaits below would end the process.
const keepAlive = setInterval(() => undefined, 1000);
await processContext?.ready();
const pipeline = new Pipeline({ onFlow, processContext, aggregateWindowMs: 0 });
// Markers for --trace-gc, whose lines go to stdout too: the collections between them are the feed's.
if (values.process) await new Promise((resolve) => setTimeout(resolve, Math.max(0, (NOW_SECOND + 1) * 1000 - Date.now())));
process.stdout.write('feeding\n');
// --profile FILE: a V8 CPU profile of the feed alone (not of building the batches), for chrome://inspect or speedscope.
const profiler = values.profile === '' ? undefined : new Session();
profiler?.connect();
if (profiler) await post(profiler, 'Profiler.enable').then(() => post(profiler, 'Profiler.start'));
const before = process.cpuUsage();
const started = performance.now();
for (const batch of batches) {
  if (mode === 'records') feedRecords(pipeline, batch);
  else pipeline.pushBatch(batch);
  // The daemon takes each batch in its own turn of the event loop, so the resolver's worker answers
  // between them; a feed in one turn would leave every flow waiting for those answers until flush().
  if (processContext) await new Promise(setImmediate);
}
pipeline.flush();
await pipeline.drain();
const cpu = process.cpuUsage(before);
if (profiler) writeFileSync(values.profile, JSON.stringify(((await post(profiler, 'Profiler.stop')) as { profile: unknown }).profile));
await processContext?.close();
clearInterval(keepAlive);
process.stdout.write('fed\n');
const stats = pipeline.stats();
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(
  `${JSON.stringify({ mode, process: values.process, encode: values.encode, entryBytes: bytes, batches: batches.length, records: stats.records, events: stats.events, flows, cpuMs: Math.round(cpuMs), wallMs: Math.round(performance.now() - started), cpuMsPer1000Events: Number(((cpuMs * 1000) / stats.events).toFixed(2)), losses: stats.losses, processStage: stats.process })}\n`,
);
