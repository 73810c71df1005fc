// What the running daemon knows about itself, in one object: the stats log line, the Prometheus
// metrics and the status file (read by `auditflow status`) are all views of it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeSocketStats } from '../native/binding.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { SinkHealth } from '../sink/index.js';

export interface DaemonSnapshot {
  pid: number;
  version: string;
  host: string;
  mode: 'unicast' | 'multicast';
  sink: 'redis' | 'stdout';
  /** The stream key (Redis sink). */
  stream: string;
  /** ms since the epoch. */
  started: number;
  updated: number;
  /** True once the daemon stopped cleanly; a snapshot left with false belongs to a daemon that died. */
  stopped: boolean;
  /** Serial and time of the newest record read. */
  lastSerial: number | null;
  /** The first serial it read (its own configuration changes, at start). */
  firstSerial: number | null;
  /**
   * Its crash checkpoint: every event up to this serial gave its flows and losses to the sink, and
   * they are in Redis or in the spool. A daemon started after a crash counts the events after it.
   */
  safeSerial: number | null;
  lastRecordTs: number | null;
  pipeline: PipelineStats;
  reader: NativeSocketStats;
  kernel: { enabled: number | null; lost: number | null; backlog: number | null; backlogLimit: number | null; immutable: boolean };
  /** Losses since start, by reason (the same counts the loss entries carry). */
  losses: Record<string, number>;
  /** Flows of the daemon's own pid, dropped (multicast beside another daemon's rules, or a rule race). */
  selfFlows: number;
  sinkHealth: SinkHealth;
  backpressure: { blocked: boolean; heldBatches: number; heldBytes: number };
  memory: { rss: number; heapUsed: number };
  cpuSeconds: number;
}

const FILE = 'status.json';

/** Writes the snapshot so a reader never sees half a file (write, then rename over). */
export function writeSnapshot(directory: string, snapshot: DaemonSnapshot): void {
  mkdirSync(directory, { recursive: true, mode: 0o755 });
  const path = join(directory, FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(snapshot) + '\n', { mode: 0o644 });
  renameSync(temporary, path);
}

/** The last snapshot a daemon wrote there, or undefined if none (or unreadable). */
export function readSnapshot(directory: string): DaemonSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(join(directory, FILE), 'utf8')) as DaemonSnapshot;
  } catch {
    return undefined;
  }
}
