// npm run bench:process: what the process stage costs per flow. No kernel needed: the records
// are a captured connect (test/fixtures/connect-tcp4-ok.log: socket, bind, socket, connect)
// with its pid replaced by live `sleep` processes this script starts, so /proc is the real one.
// Three runs of the same records through the Pipeline: without the process stage; with it and
// a warm cache (every flow a hit: one /proc/<pid>/stat read); and with new processes only
// (every process a miss: the asynchronous /proc reads). Figures are CPU time of this process
// (user + system) per flow, and for misses also the wall time until the flows came out.
// Options: --flows N (hit and baseline runs, default 200000) --processes N (default 500).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { createProcessResolver } from '../src/pipeline/process/index.js';

const { values } = parseArgs({ options: { flows: { type: 'string', default: '200000' }, processes: { type: 'string', default: '500' } } });
const totalFlows = Number(values.flows);
const processCount = Number(values.processes);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const template = readFileSync(join(root, 'test', 'fixtures', 'connect-tcp4-ok.log'), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('type='));
const FLOWS_PER_ROUND = 2; // bind and connect

let serial = 1_000_000;
/** One round of the captured events as process `pid` (parent: this process), stamped now. */
function round(pid: number, now: number): string[] {
  const lines: string[] = [];
  let last = '';
  for (const line of template) {
    const header = /audit\(\d+\.\d+:(\d+)\)/.exec(line)?.[1] ?? '';
    if (header !== last) {
      last = header;
      serial++;
    }
    lines.push(
      line
        .replace(/audit\(\d+\.\d+:\d+\)/, `audit(${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')}:${serial})`)
        .replace(/ ppid=\d+ pid=\d+ /, ` ppid=${process.pid} pid=${pid} `),
    );
  }
  return lines;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function startSleepers(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn('sleep', ['300'], { stdio: 'ignore' }));
}

async function measure(name: string, pids: number[], rounds: number, withProcess: boolean, warmUpPids: number[] = []): Promise<void> {
  let flows = 0;
  const processContext = withProcess ? createProcessResolver() : undefined;
  await processContext?.ready();
  const pipeline = new Pipeline({ onFlow: () => flows++, processContext, aggregateWindowMs: 0 });
  // Warm-up (not measured): one round per process, so that the code is compiled and, for the
  // warm run, the measured rounds are cache hits.
  for (const pid of warmUpPids) for (const line of round(pid, Date.now())) pipeline.pushLogLine(line);
  await pipeline.drain();
  flows = 0;
  const before = pipeline.stats().process;
  const batches = Array.from({ length: rounds }, (_, i) => round(pids[i % pids.length] ?? 0, Date.now()));
  const cpu = cpuMs();
  const wall = performance.now();
  for (const lines of batches) for (const line of lines) pipeline.pushLogLine(line);
  await pipeline.drain();
  const cpuPerFlow = ((cpuMs() - cpu) * 1000) / flows;
  const wallMs = performance.now() - wall;
  const stats = pipeline.stats().process;
  const detail = stats ? `lookups ${stats.lookups - (before?.lookups ?? 0)}, hits ${stats.hits - (before?.hits ?? 0)}, gone ${stats.gone - (before?.gone ?? 0)}, timeouts ${stats.timeouts - (before?.timeouts ?? 0)}` : '';
  await processContext?.close();
  console.log(`${name.padEnd(34)} ${String(flows).padStart(7)} flows  ${cpuPerFlow.toFixed(2).padStart(7)} µs CPU/flow  ${wallMs.toFixed(0).padStart(6)} ms wall  ${detail}`);
}

async function main(): Promise<void> {
  const sleepers = startSleepers(processCount * 3);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const pids = sleepers.map((child) => child.pid ?? 0);
    const [warm, fresh, compile] = [pids.slice(0, processCount), pids.slice(processCount, 2 * processCount), pids.slice(2 * processCount)];
    const rounds = Math.ceil(totalFlows / FLOWS_PER_ROUND);
    console.log(`node ${process.version}, records of test/fixtures/connect-tcp4-ok.log (2 flows per round), ${processCount} live processes`);
    await measure('pipeline without process stage', warm, rounds, false, warm);
    await measure('with process stage, cache warm', warm, rounds, true, warm);
    // Every process new to the resolver; the processes of the warm-up are others.
    await measure('with process stage, all new', fresh, fresh.length, true, compile);
  } finally {
    for (const child of sleepers) child.kill();
  }
}

await main();
