// One measured run: a workload under one consumer. The kernel state is put back after each.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startAuditd, type AuditdBinary } from './consumers/auditd.js';
import { startAuditflow } from './consumers/auditflow.js';
import { startDrain } from './consumers/drain.js';
import type { ConsumerFigures, Owed, RunningConsumer } from './consumers/types.js';
import { benchRules, rulesSetting, type BenchKernel } from './kernel.js';
import type { Consumer, Mode } from './options.js';
import { cpuMs, peakRss, threadCpuMs } from './proc.js';
import type { BenchRedis } from './redis.js';
import { runWorkload, type WorkloadResult } from './workload.js';

export interface Sample {
  /** saturated: as fast as the workload can; fixed: paced at a given rate. */
  run: 'saturated' | 'fixed';
  mode: Mode;
  consumer: Consumer;
  repeat: number;
  /** The rate asked for (fixed runs). */
  rate?: number;
  workload: WorkloadResult;
  syscallsPerSecond: number;
  /** From the workload's start until the consumer had caught up. */
  windowMs?: number;
  consumerCpuMs?: number;
  /** redis-server's CPU over the same window (auditflow). */
  helperCpuMs?: number;
  cpuMsPer1000Events?: number | null;
  cpuMsPer1000EventsWithHelper?: number | null;
  /** The consumer's CPU per 1,000 events by thread name (proc.ts threadCpuMs): where the CPU went. */
  threadMsPer1000Events?: Record<string, number>;
  peakRssBytes?: number;
  /** The kernel's `lost` counter's increase over the run (AUDIT_GET). */
  kernelLost?: number;
  /** Jiffies audited tasks spent waiting for backlog room over the run (backlog_wait_time_actual). */
  backlogWaitJiffies?: number;
  figures?: ConsumerFigures;
}

export interface SampleContext {
  kernel: BenchKernel;
  programs: { workload: string; drain: string };
  workers: number;
  root: string;
  tmp: string;
  auditd: AuditdBinary | undefined;
  redis: BenchRedis | undefined;
  cpuProfDir: string;
  /** The --baseline checkout. */
  baseline: string;
  /** --set lines for the daemons' config. */
  daemonSettings: readonly string[];
  /** --node-arg options for the auditflow daemon (not the baseline's). */
  nodeArgs: readonly string[];
}

export interface SampleSpec {
  run: 'saturated' | 'fixed';
  mode: Mode;
  consumer: Consumer;
  repeat: number;
  seconds: number;
  rate: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface CpuReading {
  at: number;
  consumer: number;
  helper: number;
  threads: Record<string, number>;
}

function readCpu(consumer: RunningConsumer): CpuReading {
  return {
    at: performance.now(),
    consumer: cpuMs(consumer.pid),
    helper: consumer.helperPid === undefined ? 0 : cpuMs(consumer.helperPid),
    threads: threadCpuMs(consumer.pid),
  };
}

/** Each thread name's CPU between two readings, per 1,000 events. */
function threadShares(start: CpuReading, end: CpuReading, events: number): Record<string, number> {
  const shares: Record<string, number> = {};
  if (events <= 0) return shares;
  for (const [name, ms] of Object.entries(end.threads)) {
    const used = ms - (start.threads[name] ?? 0);
    if (used > 0) shares[name] = Number(((used * 1000) / events).toFixed(2));
  }
  return shares;
}

/**
 * Waits until the consumer has taken everything the workload caused: its progress counter and the
 * kernel's backlog have stood still for its settle time and it says it is done (or, for the drain,
 * stood still so long that what is missing was lost). Returns the CPU reading of that moment; an
 * idle consumer uses next to no CPU, so the wait itself adds nothing measurable.
 */
async function caughtUp(consumer: RunningConsumer, kernel: BenchKernel, owed: Omit<Owed, 'progress'>): Promise<CpuReading> {
  let last = await consumer.progress();
  let movedAt = Date.now();
  const deadline = Date.now() + 300_000;
  for (;;) {
    await sleep(100);
    const value = await consumer.progress();
    const { backlog } = await kernel.status();
    if (value !== last || backlog > 0) {
      last = value;
      movedAt = Date.now();
      continue;
    }
    const still = Date.now() - movedAt;
    if (still >= consumer.settleMs && (await consumer.done({ ...owed, progress: value }))) return readCpu(consumer);
    if (consumer.stallMs !== undefined && still >= consumer.stallMs) return readCpu(consumer);
    if (Date.now() > deadline) throw new Error('the consumer did not catch up within 300 s of the workload ending');
  }
}

async function startConsumer(spec: SampleSpec, context: SampleContext, directory: string): Promise<RunningConsumer> {
  switch (spec.consumer) {
    case 'drain':
      return startDrain(context.programs.drain);
    case 'auditd': {
      if (context.auditd === undefined) throw new Error('auditd is not available');
      return startAuditd(context.auditd, directory, context.programs.workload, async (pid) => (await context.kernel.status()).pid === pid);
    }
    case 'auditflow':
    case 'baseline': {
      if (context.redis === undefined) throw new Error('redis-server is not available');
      return startAuditflow({
        root: spec.consumer === 'baseline' ? context.baseline : context.root,
        directory,
        redis: context.redis,
        stream: `bench:${spec.consumer}:${spec.run}:${spec.mode}:${spec.repeat}`,
        workloadExe: context.programs.workload,
        liveReader: spec.run === 'fixed',
        cpuProfDir: context.cpuProfDir,
        nodeArgs: spec.consumer === 'baseline' ? [] : context.nodeArgs,
        // Only the recv mode names its ruleset: a --baseline checkout from before `rules` took items still runs the others.
        settings: [...(spec.mode === 'recv' ? [`rules = ${rulesSetting(spec.mode)}`] : []), ...context.daemonSettings],
      });
    }
    case 'bare':
      throw new Error('bare has no consumer');
  }
}

/** CPU per 1,000 events; none when the workload caused no events (unix: only other processes' few are left). */
const per1000 = (cpu: number, events: number, audited: number): number | null => (events > 0 && audited > 0 ? (cpu * 1000) / events : null);

export async function measure(spec: SampleSpec, context: SampleContext): Promise<Sample> {
  const { kernel } = context;
  const base = { run: spec.run, mode: spec.mode, consumer: spec.consumer, repeat: spec.repeat, ...(spec.rate > 0 ? { rate: spec.rate } : {}) };
  if (spec.consumer === 'bare') {
    const workload = await runWorkload(context.programs.workload, spec.mode, context.workers, spec.seconds, spec.rate);
    return { ...base, workload, syscallsPerSecond: workload.syscalls / workload.seconds };
  }
  const directory = mkdtempSync(join(context.tmp, `${spec.consumer}-`));
  // The drain and auditd load nothing themselves: the ruleset goes in first, auditing is turned on once
  // they are registered (so no record is emitted with nobody to read it). auditflow does both itself.
  const external = spec.consumer !== 'auditflow' && spec.consumer !== 'baseline';
  let consumer: RunningConsumer | undefined;
  try {
    if (external) await kernel.loadRules(benchRules(spec.mode));
    consumer = await startConsumer(spec, context, directory);
    if (external) await kernel.enable(true);
    const before = await kernel.status();
    const progressBefore = await consumer.progress();
    const start = readCpu(consumer);
    const workload = await runWorkload(context.programs.workload, spec.mode, context.workers, spec.seconds, spec.rate);
    const end = await caughtUp(consumer, kernel, { progressBefore, audited: workload.audited, flows: workload.flows });
    const after = await kernel.status();
    const peakRssBytes = peakRss(consumer.pid);
    if (external) await kernel.enable(false);
    const running = consumer;
    consumer = undefined;
    const figures = await running.finish();
    const consumerCpuMs = end.consumer - start.consumer;
    const helperCpuMs = end.helper - start.helper;
    return {
      ...base,
      workload,
      syscallsPerSecond: workload.syscalls / workload.seconds,
      windowMs: end.at - start.at,
      consumerCpuMs,
      ...(running.helperPid !== undefined ? { helperCpuMs, cpuMsPer1000EventsWithHelper: per1000(consumerCpuMs + helperCpuMs, figures.events, workload.audited) } : {}),
      cpuMsPer1000Events: per1000(consumerCpuMs, figures.events, workload.audited),
      threadMsPer1000Events: threadShares(start, end, figures.events ?? workload.audited),
      peakRssBytes,
      kernelLost: after.lost - before.lost,
      backlogWaitJiffies: after.backlogWaitTimeActual - before.backlogWaitTimeActual,
      figures,
    };
  } finally {
    if (consumer !== undefined) await consumer.abort();
    await kernel.restore();
    rmSync(directory, { recursive: true, force: true });
  }
}
