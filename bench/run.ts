// npm run bench: what the native reader costs and whether it keeps up. For each workload
// mode, interleaved and repeated: the workload alone (bare), then the workload audited by
// one rule with auditflow's reader as the audit daemon, draining and counting records.
// Figures: the workload's rate (and its ratio to bare), the reader's CPU per 1,000 events,
// kernel lost, serial gaps and dropped records. The kernel state is restored afterwards,
// also on Ctrl-C. Options: --seconds N --repeats N --workers N.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuditControl } from '../src/audit/control.js';
import { acquireKernelLock } from '../src/audit/kernel-lock.js';
import { AuditSocket } from '../src/audit/socket.js';
import { AUDIT_EOE } from '../src/pipeline/types.js';
import { restoreAuditState, snapshotAuditState } from '../src/audit/state-guard.js';
import { compileRule, encodeRule } from '../src/rules/index.js';

const MODES = ['connect', 'sendto'] as const;
type Mode = (typeof MODES)[number];

interface Sample {
  mode: Mode;
  phase: 'bare' | 'reader';
  ops: number;
  opsPerSecond: number;
  events?: number;
  records?: number;
  cpuMsPer1000Events?: number;
  lost?: number;
  serialGaps?: number;
  droppedRecords?: number;
  enobufs?: number;
}

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, repeats: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } },
});
const seconds = Number(values.seconds);
const repeats = Number(values.repeats);
const workers = Number(values.workers);

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const root = projectRoot();
const workloadPath = join(root, 'build', 'bench', 'workload');
let running: ChildProcess | undefined;

function buildWorkload(): void {
  mkdirSync(dirname(workloadPath), { recursive: true });
  const gcc = spawnSync('gcc', ['-O2', '-Wall', '-o', workloadPath, join(root, 'bench', 'workload.c')], { stdio: 'inherit' });
  if (gcc.status !== 0) throw new Error('building bench/workload.c failed (is gcc installed?)');
}

function runWorkload(mode: Mode): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(workloadPath, [mode, String(workers), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    running = child;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      running = undefined;
      const ops = Number(/ops (\d+)/.exec(out)?.[1]);
      if (code !== 0 || !Number.isFinite(ops)) reject(new Error(`workload ${mode} failed (exit ${code})`));
      else resolve(ops);
    });
  });
}

function serialOf(payload: Buffer): number {
  const colon = payload.indexOf(0x3a, 6);
  const close = payload.indexOf(0x29, colon);
  return Number(payload.toString('latin1', colon + 1, close));
}

async function readerPhase(mode: Mode, control: AuditControl): Promise<Sample> {
  let records = 0;
  let events = 0;
  let minSerial = Infinity;
  let maxSerial = 0;
  const socket = new AuditSocket({
    onRecords: (batch) => {
      records += batch.length;
      for (const record of batch) {
        if (record.type !== AUDIT_EOE) continue;
        events++;
        const serial = serialOf(record.payload);
        if (serial < minSerial) minSerial = serial;
        if (serial > maxSerial) maxSerial = serial;
      }
    },
  });
  const daemon = new AuditControl(socket);
  const rule = encodeRule(compileRule(`-a always,exit -F arch=b64 -S ${mode} -F exe=${workloadPath} -k auditflow-bench`));
  try {
    await daemon.register();
    await control.set({ enabled: 1, backlogLimit: 8192 });
    await control.addRule(rule);
    const lostBefore = (await control.status()).lost;
    const cpuBefore = process.cpuUsage();
    const ops = await runWorkload(mode);
    // Drain: wait until every audited call's event has arrived, or nothing new for 2 s.
    for (let idle = 0, seen = -1; events < ops && idle < 20; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      idle = events === seen ? idle + 1 : 0;
      seen = events;
    }
    const cpu = process.cpuUsage(cpuBefore);
    const stats = socket.stats();
    return {
      mode,
      phase: 'reader',
      ops,
      opsPerSecond: ops / seconds,
      events,
      records,
      cpuMsPer1000Events: events === 0 ? 0 : (cpu.user + cpu.system) / events,
      lost: (await control.status()).lost - lostBefore,
      serialGaps: events === 0 ? 0 : maxSerial - minSerial + 1 - events,
      droppedRecords: stats.droppedRecords,
      enobufs: stats.enobufs,
    };
  } finally {
    await control.deleteRule(rule).catch(() => {});
    await daemon.unregister().catch(() => {});
    await socket.close();
  }
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function report(samples: Sample[]): string {
  const lines = [
    `auditflow reader benchmark: ${workers} workers, ${seconds} s per run, ${repeats} runs each, interleaved; median (min–max)`,
    '',
    'mode     bare ops/s          reader ops/s        ratio   reader CPU ms/1000 events   lost  gaps  dropped',
  ];
  for (const mode of MODES) {
    const bare = samples.filter((s) => s.mode === mode && s.phase === 'bare').map((s) => s.opsPerSecond);
    const reader = samples.filter((s) => s.mode === mode && s.phase === 'reader');
    const rates = reader.map((s) => s.opsPerSecond);
    const cpu = reader.map((s) => s.cpuMsPer1000Events ?? 0);
    const range = (xs: number[], digits = 0) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
    const sum = (key: 'lost' | 'serialGaps' | 'droppedRecords') => reader.reduce((total, s) => total + (s[key] ?? 0), 0);
    lines.push(
      `${mode.padEnd(8)} ${range(bare).padEnd(19)} ${range(rates).padEnd(19)} ${(median(rates) / median(bare)).toFixed(2).padEnd(7)} ` +
        `${range(cpu, 2).padEnd(27)} ${String(sum('lost')).padEnd(5)} ${String(sum('serialGaps')).padEnd(5)} ${sum('droppedRecords')}`,
    );
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  buildWorkload();
  const lock = await acquireKernelLock();
  const control = AuditControl.open();
  const snapshot = await snapshotAuditState(control);
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
    running?.kill('SIGTERM');
  });
  const samples: Sample[] = [];
  try {
    for (let run = 0; run < repeats && !interrupted; run++) {
      for (const mode of MODES) {
        if (interrupted) break;
        const ops = await runWorkload(mode);
        samples.push({ mode, phase: 'bare', ops, opsPerSecond: ops / seconds });
        if (interrupted) break;
        samples.push(await readerPhase(mode, control));
      }
    }
  } finally {
    await restoreAuditState(control, snapshot);
    await control.close();
    lock.release();
  }
  if (interrupted) {
    process.stderr.write('interrupted; the kernel audit state was restored\n');
    process.exitCode = 130;
    return;
  }
  const text = report(samples);
  process.stdout.write(text);
  const results = join(root, 'bench', 'results');
  mkdirSync(results, { recursive: true });
  const uname = spawnSync('uname', ['-srm']).stdout.toString().trim();
  writeFileSync(join(results, 'latest.json'), JSON.stringify({ machine: uname, node: process.version, workers, seconds, repeats, samples }, null, 2) + '\n');
  process.stdout.write(`\nraw samples: bench/results/latest.json\n`);
}

await main();
