// Turns samples into summaries (median and range over the repeats), the readable tables, and the
// issue's targets with the measured figure beside each.
import type { Consumer, Mode } from './options.js';
import type { Sample } from './sample.js';
import { spread, type Spread } from './stats.js';

export interface Summary {
  run: 'saturated' | 'fixed';
  mode: Mode;
  consumer: Consumer;
  runs: number;
  syscallsPerSecond: Spread | null;
  /** The consumer's rate over the drain ceiling's in the same repeat (paired), then summarized. */
  ratioToDrain: Spread | null;
  cpuMsPer1000Events: Spread | null;
  cpuMsPer1000EventsWithHelper: Spread | null;
  /** Consumer CPU as a share of one core over the run (fixed runs). */
  cpuShareOfCore: Spread | null;
  peakRssBytes: Spread | null;
  kernelLost: number;
  serialGaps: number;
  flowsExpected: number;
  flowsPublished: number | null;
  /** Loss entries in the stream, all reasons, summed over the runs. */
  lossEntries: number | null;
  idLatencyP50: Spread | null;
  idLatencyP99: Spread | null;
  readLatencyP50: Spread | null;
  readLatencyP99: Spread | null;
}

const numbers = (values: Array<number | null | undefined>): number[] => values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));

export function summarize(samples: readonly Sample[]): Summary[] {
  const keys = new Map<string, Sample[]>();
  for (const sample of samples) {
    const key = `${sample.run}/${sample.mode}/${sample.consumer}`;
    keys.set(key, [...(keys.get(key) ?? []), sample]);
  }
  const drainRate = (sample: Sample): number | undefined =>
    samples.find((s) => s.run === sample.run && s.mode === sample.mode && s.repeat === sample.repeat && s.consumer === 'drain')?.syscallsPerSecond;
  return [...keys.values()].map((group) => {
    const first = group[0] as Sample;
    const flows = group.map((s) => s.figures?.flows);
    const hasFlows = flows.every((f) => f !== undefined);
    return {
      run: first.run,
      mode: first.mode,
      consumer: first.consumer,
      runs: group.length,
      syscallsPerSecond: spread(group.map((s) => s.syscallsPerSecond)),
      ratioToDrain: spread(
        numbers(
          group.map((s) => {
            const drain = drainRate(s);
            return drain === undefined ? undefined : s.syscallsPerSecond / drain;
          }),
        ),
      ),
      cpuMsPer1000Events: spread(numbers(group.map((s) => s.cpuMsPer1000Events))),
      cpuMsPer1000EventsWithHelper: spread(numbers(group.map((s) => s.cpuMsPer1000EventsWithHelper))),
      // Over the workload's own time: a consumer that keeps up at a fixed rate works while it runs.
      cpuShareOfCore: spread(numbers(group.map((s) => (s.consumerCpuMs !== undefined ? s.consumerCpuMs / (s.workload.seconds * 1000) : undefined)))),
      peakRssBytes: spread(numbers(group.map((s) => s.peakRssBytes))),
      kernelLost: group.reduce((sum, s) => sum + (s.kernelLost ?? 0), 0),
      serialGaps: group.reduce((sum, s) => sum + (s.figures?.serialGaps ?? 0), 0),
      flowsExpected: group.reduce((sum, s) => sum + s.workload.flows, 0),
      flowsPublished: hasFlows ? flows.reduce((sum, f) => sum + (f?.published ?? 0), 0) : null,
      lossEntries: hasFlows ? flows.reduce((sum, f) => sum + Object.values(f?.losses ?? {}).reduce((a, b) => a + b, 0), 0) : null,
      idLatencyP50: spread(numbers(flows.map((f) => f?.idLatencyMs.p50))),
      idLatencyP99: spread(numbers(flows.map((f) => f?.idLatencyMs.p99))),
      readLatencyP50: spread(numbers(flows.map((f) => f?.readLatencyMs?.p50))),
      readLatencyP99: spread(numbers(flows.map((f) => f?.readLatencyMs?.p99))),
    };
  });
}

function compact(value: number): string {
  if (Math.abs(value) >= 10_000) return `${(value / 1000).toFixed(1)}k`;
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** `median (min–max)`, or the median alone for a single run. */
export function formatSpread(s: Spread | null, format: (value: number) => string = compact): string {
  if (s === null) return '–';
  if (s.n === 1 || s.min === s.max) return format(s.median);
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const ratio = (value: number): string => value.toFixed(2);
const ms = (value: number): string => value.toFixed(0);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function flowCell(s: Summary): string {
  if (s.flowsPublished === null) return '–';
  const share = s.flowsExpected === 0 ? '' : ` (${((100 * s.flowsPublished) / s.flowsExpected).toFixed(1)}%)`;
  return `${s.flowsPublished} of ${s.flowsExpected}${share}`;
}

function latencyCell(p50: Spread | null, p99: Spread | null): string {
  if (p50 === null || p99 === null) return '–';
  return `${ms(p50.median)} / ${ms(p99.median)}${p99.n > 1 ? ` (p99 ${ms(p99.min)}–${ms(p99.max)})` : ''}`;
}

export function saturatedTable(summaries: readonly Summary[]): string {
  const rows = summaries
    .filter((s) => s.run === 'saturated')
    .map((s) => [
      s.mode,
      s.consumer,
      formatSpread(s.syscallsPerSecond),
      s.consumer === 'bare' || s.consumer === 'drain' ? (s.consumer === 'drain' ? '1' : '–') : formatSpread(s.ratioToDrain, ratio),
      formatSpread(s.cpuMsPer1000Events),
      formatSpread(s.cpuMsPer1000EventsWithHelper),
      s.peakRssBytes === null ? '–' : mb(s.peakRssBytes.max),
      s.consumer === 'bare' ? '–' : String(s.kernelLost),
      s.consumer === 'bare' ? '–' : String(s.serialGaps),
      flowCell(s),
      s.lossEntries === null ? '–' : String(s.lossEntries),
      latencyCell(s.idLatencyP50, s.idLatencyP99),
    ]);
  return table(['mode', 'consumer', 'syscalls/s', 'vs drain', 'CPU ms/1k ev', '+redis', 'peak RSS', 'lost', 'gaps', 'workload flows published', 'loss entries', 'ID latency p50/p99 ms'], rows);
}

export function fixedTable(summaries: readonly Summary[]): string {
  const rows = summaries
    .filter((s) => s.run === 'fixed')
    .map((s) => [
      s.consumer,
      formatSpread(s.syscallsPerSecond),
      formatSpread(s.cpuMsPer1000Events),
      formatSpread(s.cpuMsPer1000EventsWithHelper),
      formatSpread(s.cpuShareOfCore, (v) => `${(100 * v).toFixed(0)}%`),
      s.peakRssBytes === null ? '–' : mb(s.peakRssBytes.max),
      String(s.kernelLost),
      String(s.serialGaps),
      flowCell(s),
      latencyCell(s.idLatencyP50, s.idLatencyP99),
      latencyCell(s.readLatencyP50, s.readLatencyP99),
    ]);
  return table(['consumer', 'syscalls/s', 'CPU ms/1k ev', '+redis', 'CPU of a core', 'peak RSS', 'lost', 'gaps', 'workload flows published', 'ID latency p50/p99 ms', 'read latency p50/p99 ms'], rows);
}

/**
 * Where each auditflow consumer's CPU went in the fixed-rate runs: ms per 1,000 events by thread
 * (median over the runs), largest first, threads under 0.5 ms left out.
 */
export function threadLines(samples: readonly Sample[]): string {
  const byConsumer = new Map<string, Array<Record<string, number>>>();
  for (const s of samples) {
    if (s.run !== 'fixed' || s.threadMsPer1000Events === undefined || (s.consumer !== 'auditflow' && s.consumer !== 'baseline')) continue;
    byConsumer.set(s.consumer, [...(byConsumer.get(s.consumer) ?? []), s.threadMsPer1000Events]);
  }
  return [...byConsumer]
    .map(([consumer, runs]) => {
      const names = [...new Set(runs.flatMap((run) => Object.keys(run)))];
      const medians = names
        .map((name) => [name, spread(runs.map((run) => run[name] ?? 0))?.median ?? 0] as const)
        .filter(([, median]) => median >= 0.5)
        .sort((a, b) => b[1] - a[1]);
      return `${consumer}: ${medians.map(([name, median]) => `${name} ${median.toFixed(1)}`).join(', ')}`;
    })
    .join('\n');
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

export function targets(summaries: readonly Summary[], fixedRate: number): Target[] {
  const list: Target[] = [];
  const flow = summaries.filter((s) => s.consumer === 'auditflow');
  const saturated = flow.filter((s) => s.run === 'saturated' && s.ratioToDrain !== null);
  if (saturated.length > 0) {
    list.push({
      name: 'saturated rate vs the drain ceiling',
      goal: '≥ 0.90 in every mode',
      measured: saturated.map((s) => `${s.mode} ${ratio((s.ratioToDrain as Spread).median)}`).join(', '),
      met: saturated.every((s) => (s.ratioToDrain as Spread).median >= 0.9),
    });
  }
  const fixed = flow.find((s) => s.run === 'fixed');
  if (fixed !== undefined) {
    const alone = fixed.cpuMsPer1000Events?.median;
    const withRedis = fixed.cpuMsPer1000EventsWithHelper?.median;
    list.push({ name: `CPU per 1,000 events at ${fixedRate}/s mixed`, goal: '≤ 20 ms', measured: alone === undefined ? '–' : `${alone.toFixed(1)} ms`, met: alone === undefined ? null : alone <= 20 });
    list.push({
      name: `CPU per 1,000 events at ${fixedRate}/s mixed, with redis-server`,
      goal: '≤ 30 ms',
      measured: withRedis === undefined ? '–' : `${withRedis.toFixed(1)} ms`,
      met: withRedis === undefined ? null : withRedis <= 30,
    });
    const p99 = fixed.readLatencyP99 ?? fixed.idLatencyP99;
    list.push({
      name: `p99 latency at ${fixedRate}/s, kernel timestamp → readable in Redis`,
      goal: '< 100 ms',
      measured: p99 === null ? '–' : `${ms(p99.median)} ms (runs: ${ms(p99.min)}–${ms(p99.max)})`,
      met: p99 === null ? null : p99.median < 100,
    });
  }
  // The realistic load decides the target; saturated runs are reported beside it, since there the
  // reader thread's queue holds what JavaScript has not taken yet (up to maxQueueBytes, 256 MiB).
  const peak = (runs: Summary[]): number => Math.max(0, ...runs.map((s) => s.peakRssBytes?.max ?? 0));
  const fixedFlow = flow.filter((s) => s.run === 'fixed');
  const saturatedRss = peak(flow.filter((s) => s.run === 'saturated'));
  if (flow.length > 0) {
    const judged = fixedFlow.length > 0 ? peak(fixedFlow) : saturatedRss;
    list.push({
      name: 'peak RSS',
      goal: '< 150 MB',
      measured: `${mb(judged)}${fixedFlow.length > 0 ? ` at ${fixedRate}/s` : ''}${fixedFlow.length > 0 && saturatedRss > 0 ? `; saturated runs up to ${mb(saturatedRss)}` : ''}`,
      met: judged < 150 * 1024 * 1024,
    });
  }
  if (flow.length > 0) {
    const missing = flow.reduce((sum, s) => sum + Math.max(0, s.flowsExpected - (s.flowsPublished ?? 0)), 0);
    const counted = flow.reduce((sum, s) => sum + (s.lossEntries ?? 0), 0);
    list.push({
      name: 'loss that is not counted',
      goal: 'none',
      measured: `${missing} workload flows missing, ${counted} losses in the stream's loss entries`,
      met: missing <= counted,
    });
  }
  return list;
}

export function targetLines(list: readonly Target[]): string {
  return list.map((t) => `${t.met === null ? '[ n/a ]' : t.met ? '[ met ]' : '[missed]'} ${t.name}: ${t.measured} (target ${t.goal})`).join('\n');
}
