// auditflow itself: `auditflow run` as a child, publishing to the benchmark's redis-server. It loads
// rules/network.rules, registers, sets the backlog and turns auditing on by itself, and puts all of
// it back when it stops, as in production. The settings are the defaults except: a private stream,
// state and runtime directory, no metrics listener, no stats log line, and no sendto aggregation
// (the workload repeats one datagram flow, which the default 10 s window would fold into one entry;
// off, every event is an entry: the most work for the publisher, and flows compare one to one).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGroup } from '../processes.js';
import { readStream, type BenchRedis } from '../redis.js';
import { percentile } from '../stats.js';
import type { ConsumerFigures, FlowFigures, RunningConsumer } from './types.js';

export interface AuditflowRun {
  root: string;
  directory: string;
  redis: BenchRedis;
  stream: string;
  workloadExe: string;
  /** Read the stream live while the workload runs, for kernel → readable-in-Redis latency. */
  liveReader: boolean;
  /** `node --cpu-prof` into this directory; empty = off. */
  cpuProfDir: string;
  /** Node options before the script (the bench's --node-arg). */
  nodeArgs: readonly string[];
  /** More `key = value` lines for the config (the daemon refuses an unknown key). */
  settings: readonly string[];
}

interface StatusFile {
  updated: number;
  pipeline: { records: number; events: number; flows: number; losses: Record<string, number> };
  reader: { records: number };
  sinkHealth: { queued: number; spoolBytes: number; counters: { written: number } };
  backpressure: { blocked: boolean; heldBatches: number };
  losses: Record<string, number>;
}

/**
 * The daemon has nothing left to do: two of its status files (written every second by its timer, so
 * only when its event loop is free) in a row show the same counts, and nothing waits in the sink's
 * queue, the spool or the held batches.
 */
export function daemonIdle(previous: StatusFile | undefined, current: StatusFile): boolean {
  return (
    previous !== undefined &&
    current.updated > previous.updated &&
    current.reader.records === previous.reader.records &&
    current.pipeline.records === previous.pipeline.records &&
    current.sinkHealth.counters.written === previous.sinkHealth.counters.written &&
    current.sinkHealth.queued === 0 &&
    current.sinkHealth.spoolBytes === 0 &&
    !current.backpressure.blocked &&
    current.backpressure.heldBatches === 0
  );
}

function latencies(sorted: number[]): { p50: number | null; p99: number | null; max: number | null } {
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length === 0 ? null : (sorted[sorted.length - 1] as number) };
}

/** Reads new entries as they arrive and notes how long after its kernel timestamp each one was readable. */
function startLiveReader(run: AuditflowRun): { stop: () => Promise<number[]> } {
  const samples: number[] = [];
  let stopping = false;
  const loop = (async () => {
    let last = '0-0';
    while (!stopping) {
      const reply = (await run.redis.reader.xread('COUNT', 1000, 'BLOCK', 200, 'STREAMS', run.stream, last)) as Array<[string, Array<[string, string[]]>]> | null;
      const now = Date.now();
      for (const [, entries] of reply ?? []) {
        for (const [id, flat] of entries) {
          last = id;
          let exe: string | undefined;
          let ts: string | undefined;
          for (let i = 0; i + 1 < flat.length; i += 2) {
            if (flat[i] === 'exe') exe = flat[i + 1];
            else if (flat[i] === 'ts') ts = flat[i + 1];
          }
          if (exe === run.workloadExe && ts !== undefined) samples.push(now - Number(ts));
        }
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return samples;
    },
  };
}

export async function startAuditflow(run: AuditflowRun): Promise<RunningConsumer> {
  const config = join(run.directory, 'auditflow.conf');
  writeFileSync(
    config,
    [
      `redis_url = ${run.redis.url}`,
      `stream = ${run.stream}`,
      'redis_required = true',
      'metrics_listen = off',
      'stats_interval_s = 0',
      'aggregate_window_ms = 0',
      `state_dir = ${join(run.directory, 'state')}`,
      `runtime_dir = ${join(run.directory, 'run')}`,
      ...run.settings,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // The bench's own AUDITFLOW_* variables (a developer's shell) must not change what is measured.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AUDITFLOW_')));
  // Node 20 refuses --cpu-prof in NODE_OPTIONS: it goes on the command line. The profile is written
  // when the daemon exits normally (after SIGTERM).
  const profile = run.cpuProfDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${run.cpuProfDir}`];
  const child = spawnGroup(process.execPath, [...run.nodeArgs, ...profile, join(run.root, 'dist', 'src', 'cli', 'main.js'), 'run', '--config', config], { env });
  await child.line((line) => line.includes('"msg":"running"'), 30_000);
  const live = run.liveReader ? startLiveReader(run) : undefined;
  const { client } = run.redis;
  const statusPath = join(run.directory, 'run', 'status.json');
  let lastStatus: StatusFile | undefined;
  return {
    pid: child.pid,
    helperPid: run.redis.pid,
    settleMs: 300,
    async done() {
      const status = JSON.parse(readFileSync(statusPath, 'utf8')) as StatusFile;
      const idle = daemonIdle(lastStatus, status);
      if (lastStatus === undefined || status.updated > lastStatus.updated) lastStatus = status;
      return idle;
    },
    progress: () => client.xlen(run.stream),
    async finish(): Promise<ConsumerFigures> {
      const readSamples = live === undefined ? undefined : await live.stop();
      const exit = await child.stop(15_000);
      if (exit.code !== 0) throw new Error(`auditflow run exited with ${exit.signal ?? exit.code}: ${child.stderr().trim().slice(-1000)}`);
      const status = JSON.parse(readFileSync(statusPath, 'utf8')) as StatusFile;
      const idLatency: number[] = [];
      const losses: Record<string, number> = {};
      for await (const entry of readStream(client, run.stream)) {
        const kind = entry.fields.get('kind');
        if (kind === 'loss') {
          const reason = entry.fields.get('reason') ?? 'unknown';
          losses[reason] = (losses[reason] ?? 0) + Number(entry.fields.get('count') ?? 0);
        } else if (kind === 'flow' && entry.fields.get('exe') === run.workloadExe) {
          idLatency.push(Number(entry.id.slice(0, entry.id.indexOf('-'))) - Number(entry.fields.get('ts')));
        }
      }
      await client.del(run.stream);
      idLatency.sort((a, b) => a - b);
      const flows: FlowFigures = {
        published: idLatency.length,
        losses,
        idLatencyMs: latencies(idLatency),
        daemon: {
          records: status.pipeline.records,
          events: status.pipeline.events,
          flows: status.pipeline.flows,
          written: status.sinkHealth.counters.written,
          losses: status.losses,
          filtered: status.pipeline.losses,
        },
      };
      if (readSamples !== undefined) {
        readSamples.sort((a, b) => a - b);
        flows.readLatencyMs = { ...latencies(readSamples), n: readSamples.length };
      }
      const gaps = status.losses.serial_gap ?? 0;
      return { events: status.pipeline.events, serialGaps: gaps, flows };
    },
    async abort() {
      await live?.stop().catch(() => []);
      await child.stop(15_000);
      await client.del(run.stream).catch(() => 0);
    },
  };
}
