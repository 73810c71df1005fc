// Reads the captured fixtures (test/fixtures/<scenario>.log) and runs them through the pipeline.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Flow } from '../../../src/pipeline/flow.js';
import type { LossReport } from '../../../src/pipeline/loss.js';
import { META_WORDS, type RecordBatch } from '../../../src/native/record-batch.js';
import { Pipeline, type PipelineOptions, type PipelineStats } from '../../../src/pipeline/pipeline.js';
import { typeFromName } from '../../../src/linux/record-types.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.log'))
    .map((name) => name.slice(0, -'.log'.length))
    .sort();
}

/** The record lines of a fixture, without its `#` header. */
export function fixtureLines(name: string): string[] {
  return readFileSync(`${FIXTURE_DIR}${name}.log`, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The values the workload printed when the fixture was captured (`# workload: <name> <value>`). */
export function fixtureWorkload(name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of readFileSync(`${FIXTURE_DIR}${name}.log`, 'utf8').split('\n')) {
    const match = /^# workload: (\S+) (\d+)$/.exec(line);
    if (match) values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}

export interface Run {
  flows: Flow[];
  losses: LossReport[];
  stats: PipelineStats;
}

type Options = Omit<PipelineOptions, 'onFlow' | 'onLoss'>;

/** Feeds the lines as auditd log lines. */
export function runLogLines(lines: string[], options: Options = {}): Run {
  return runWith(options, (pipeline) => lines.forEach((line) => pipeline.pushLogLine(line)));
}

/** A fixture line as the kernel sent it: the type as a number, the text after `msg=`. */
export function kernelRecord(line: string): KernelRecord {
  const match = /^type=(\S+) msg=(.*)$/.exec(line);
  const type = match ? typeFromName(match[1] ?? '') : undefined;
  if (!match || type === undefined) throw new Error(`not a fixture record line: ${line}`);
  return { type, payload: Buffer.from(match[2] ?? '', 'latin1') };
}

export interface KernelRecord {
  type: number;
  payload: Buffer;
}

/** Feeds the lines as the kernel sent them: the type as a number, the text after `msg=`. */
export function runKernelRecords(lines: string[], options: Options = {}): Run {
  return runWith(options, (pipeline) => {
    for (const { type, payload } of lines.map(kernelRecord)) pipeline.pushKernelRecord(type, payload);
  });
}

/** Records packed as the addon delivers them: one Buffer, six meta words per record. */
export function recordBatch(records: KernelRecord[], lookups: Buffer | null = null): RecordBatch {
  const meta = new Uint32Array(records.length * META_WORDS);
  let offset = 0;
  records.forEach(({ type, payload }, i) => {
    meta.set([type, 0, 0, 0, offset, payload.length], i * META_WORDS);
    offset += payload.length;
  });
  return { data: Buffer.concat(records.map((record) => record.payload)), meta, lookups };
}

/** Feeds the records as batches, cut before each index in `cuts`. */
export function runBatches(records: KernelRecord[], cuts: number[], options: Options = {}): Run {
  return runWith(options, (pipeline) => {
    const bounds = [0, ...cuts.filter((cut) => cut > 0 && cut < records.length).sort((a, b) => a - b), records.length];
    for (let i = 0; i + 1 < bounds.length; i++) pipeline.pushBatch(recordBatch(records.slice(bounds[i], bounds[i + 1])));
  });
}

export function runWith(options: Options, feed: (pipeline: Pipeline) => void): Run {
  const flows: Flow[] = [];
  const losses: LossReport[] = [];
  const pipeline = new Pipeline({ ...options, onFlow: (flow) => flows.push(flow), onLoss: (loss) => losses.push(loss) });
  feed(pipeline);
  pipeline.flush();
  return { flows, losses, stats: pipeline.stats() };
}
