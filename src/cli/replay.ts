// auditflow replay FILE... | -: reads auditd logs (raw or ENRICHED, rotated or cut off) and
// writes one JSON flow per line on stdout: the typed flow of docs/flow.schema.json (or ECS, OCSF). Files are read in the
// order given, through one pipeline, so pass rotated logs oldest first (audit.log.2 audit.log.1
// audit.log). Malformed lines are counted and summed up on stderr at the end.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Flow } from '../pipeline/flow.js';
import { Pipeline, type PipelineStats } from '../pipeline/pipeline.js';
import type { LossReport } from '../pipeline/loss.js';
import { formatEntry, type OutputFormat } from '../schema/format.js';
import { typedFlow } from '../schema/typed.js';
import { ExitCode } from './exit-codes.js';
import { ReplayProgress } from './replay-progress.js';

/** A regular file's size; undefined for stdin, a pipe, or what cannot be read (its error comes when it is opened). */
function sizeOf(file: string): number | undefined {
  if (file === '-') return undefined;
  try {
    const stat = statSync(file);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

export interface ReplayOptions {
  allFamilies?: boolean;
  /** sendto/sendmsg aggregation window in ms; 0 turns it off. */
  window?: number;
  /** native (the default), ecs or ocsf. */
  format?: OutputFormat;
  /** Where progress goes while the inputs are read (a terminal's stderr), if anywhere. */
  progress?: Writable;
}

export interface ReplaySummary {
  lines: number;
  /** Malformed lines: counted, the first few kept for the report. */
  malformed: number;
  examples: string[];
  stats: PipelineStats;
  /** The reader of `out` went away (`replay log | head`): replay stopped there, as cat would. */
  outputClosed: boolean;
}

export class ReplayInputError extends Error {
  override name = 'ReplayInputError';
  readonly exitCode = ExitCode.noInput;
}

const MAX_EXAMPLES = 3;

export interface ReplayInput {
  name: string;
  /** Opened only when its turn comes, so a missing file fails after the ones before it. */
  open: () => Readable;
  /** Its size in bytes, where known (a file); for progress. */
  size?: number;
}

/** Runs the pipeline over the inputs; flows go to `out` as JSON lines. */
export async function replay(inputs: ReplayInput[], out: Writable, options: ReplayOptions = {}): Promise<ReplaySummary> {
  const counts = { lines: 0, malformed: 0, examples: [] as string[] };
  let pending: string[] = [];
  let outputClosed = false;
  let wakeWriter = (): void => {};
  const onOutputError = (): void => {
    outputClosed = true;
    wakeWriter();
  };
  out.on('error', onOutputError);
  const write = async (): Promise<void> => {
    if (pending.length === 0 || outputClosed) return;
    const chunk = pending.join('');
    pending = [];
    if (out.write(chunk)) return;
    await new Promise<void>((resolve) => {
      wakeWriter = resolve;
      out.once('drain', resolve);
    });
    out.off('drain', wakeWriter);
  };
  let where = '';
  const format = options.format ?? 'native';
  const pipeline = new Pipeline({
    families: options.allFamilies ? 'all' : undefined,
    aggregateWindowMs: options.window,
    onFlow: (flow: Flow) => pending.push(JSON.stringify(formatEntry(typedFlow(flow), format)) + '\n'),
    onLoss: (loss: LossReport) => {
      if (loss.reason !== 'parse_error') return;
      counts.malformed++;
      if (counts.examples.length < MAX_EXAMPLES) counts.examples.push(`${where}: ${loss.detail}: ${(loss.text ?? '').slice(0, 160)}`);
    },
  });
  const total = inputs.every((input) => input.size !== undefined) ? inputs.reduce((sum, input) => sum + (input.size ?? 0), 0) : undefined;
  const progress = options.progress && new ReplayProgress(options.progress, total);
  try {
    for (const input of inputs) {
      let lineNumber = 0;
      const stream = input.open();
      if (progress) stream.on('data', (chunk: Buffer | string) => progress.addBytes(chunk.length));
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      try {
        for await (const line of lines) {
          if (outputClosed) break;
          lineNumber++;
          counts.lines++;
          // Comment lines: the header of auditflow's own fixtures; auditd never writes them.
          if (line.startsWith('#')) continue;
          where = `${input.name}:${lineNumber}`;
          pipeline.pushLogLine(line);
          if (pending.length >= 256) await write();
          if (progress && (counts.lines & 1023) === 0) progress.setRecords(counts.lines);
        }
      } catch (error) {
        throw new ReplayInputError(`cannot read ${input.name}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        lines.close();
      }
      if (outputClosed) break;
    }
  } finally {
    progress?.finish();
  }
  pipeline.flush();
  await write();
  out.off('error', onOutputError);
  return { ...counts, stats: pipeline.stats(), outputClosed };
}

export function formatSummary(summary: ReplaySummary): string {
  const { stats } = summary;
  const losses = Object.entries(stats.losses)
    .filter(([reason]) => !reason.includes(':') || reason.startsWith('family:'))
    .map(([reason, count]) => `${reason}=${count}`)
    .join(' ');
  const lines = [`auditflow replay: ${summary.lines} lines, ${stats.records} records, ${stats.events} events, ${stats.flows} flows`];
  if (losses) lines.push(`auditflow replay: losses: ${losses}`);
  if (summary.malformed > 0) {
    lines.push(`auditflow replay: ${summary.malformed} malformed line(s) skipped, e.g.:`);
    for (const example of summary.examples) lines.push(`  ${example}`);
  }
  return lines.join('\n') + '\n';
}

export async function replayCommand(files: string[], options: { allFamilies?: boolean; window?: string; format?: OutputFormat }): Promise<void> {
  const window = options.window === undefined ? undefined : Number(options.window);
  if (window !== undefined && !(Number.isFinite(window) && window >= 0)) {
    process.stderr.write(`auditflow: --window wants milliseconds (0 or more), got ${options.window}\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  const inputs = files.map((file) => ({ name: file === '-' ? '<stdin>' : file, open: (): Readable => (file === '-' ? process.stdin : createReadStream(file)), size: sizeOf(file) }));
  try {
    const summary = await replay(inputs, process.stdout, {
      allFamilies: options.allFamilies,
      window,
      format: options.format,
      progress: process.stderr.isTTY ? process.stderr : undefined,
    });
    if (!summary.outputClosed) process.stderr.write(formatSummary(summary));
  } catch (error) {
    if (!(error instanceof ReplayInputError)) throw error;
    process.stderr.write(`auditflow: ${error.message}\n`);
    process.exitCode = error.exitCode;
  }
}
