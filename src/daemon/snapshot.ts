// What the running daemon knows about itself, in one object: the stats log line, the Prometheus
// metrics and the status file (read by `auditflow status`) are all views of it.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeSocketStats } from '../native/binding.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { SinkHealth } from '../sink/index.js';
import type { DnsSnapshot } from './dns-session.js';

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
  /** The DNS answer capture and the names it gave flows; absent before the daemon set it up (and in a status file of an older version). */
  dns?: DnsSnapshot;
  reader: NativeSocketStats;
  kernel: { enabled: number | null; lost: number | null; backlog: number | null; backlogLimit: number | null; immutable: boolean };
  /** Losses since start, by reason (the same counts the loss entries carry). */
  losses: Record<string, number>;
  /** Flows of the daemon's own pid, dropped (multicast beside another daemon's rules, or a rule race). */
  selfFlows: number;
  /**
   * Socket lookups of JavaScript's resolver not answered because the process at the event's pid had
   * started after the event (pid reuse); the addon's own lookups count theirs in reader.lookups.failed.reused.
   */
  socketsReused?: number;
  sinkHealth: SinkHealth;
  backpressure: { blocked: boolean; heldBatches: number; heldBytes: number };
  memory: { rss: number; heapUsed: number };
  cpuSeconds: number;
}

const FILE = 'status.json';
/** A status file is a few KB; anything far larger is not one. */
const MAX_BYTES = 1024 * 1024;

/**
 * Writes the snapshot so a reader never sees half a file: into a new file of an unpredictable
 * name (O_CREAT|O_EXCL|O_NOFOLLOW: never an existing file or a symbolic link someone placed),
 * mode 0600, then renamed over status.json (rename replaces a link itself, never its target).
 * The directory is the daemon's own (preparePrivateDir); only root reads the file: `auditflow
 * status` needs root for the kernel's side anyway.
 */
export function writeSnapshot(directory: string, snapshot: DaemonSnapshot): void {
  const path = join(directory, FILE);
  const temporary = join(directory, `.${FILE}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      writeSync(fd, JSON.stringify(snapshot) + '\n');
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

export type SnapshotRead =
  | { kind: 'none' }
  | { kind: 'ok'; snapshot: DaemonSnapshot }
  /** There is a file, but it is not one the daemon's user wrote, or not a snapshot: why. */
  | { kind: 'refused'; reason: string };

/**
 * The last snapshot a daemon wrote there, checked before anything in it is trusted (a restarted
 * daemon counts its predecessor's downtime from it): a regular file, not a link, of `owner` (the
 * daemon's uid) and writable by no one else, within MAX_BYTES, and of the snapshot's shape.
 */
export function inspectSnapshot(directory: string, owner: number | undefined = process.getuid?.()): SnapshotRead {
  const path = join(directory, FILE);
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return { kind: 'refused', reason: `${path} is not a regular file` };
      if (owner !== undefined && stat.uid !== owner) return { kind: 'refused', reason: `${path} belongs to uid ${stat.uid}, not to the daemon's user` };
      if ((stat.mode & 0o022) !== 0) return { kind: 'refused', reason: `${path} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)})` };
      if (stat.size > MAX_BYTES) return { kind: 'refused', reason: `${path} is ${stat.size} bytes, more than a status file holds` };
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    // O_NOFOLLOW on a symbolic link: ELOOP (open(2)).
    if (code === 'ELOOP') return { kind: 'refused', reason: `${path} is a symbolic link` };
    return { kind: 'refused', reason: `${path}: ${code ?? (error as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'refused', reason: `${path} is not JSON` };
  }
  const problem = snapshotProblem(value);
  return problem === undefined ? { kind: 'ok', snapshot: value as DaemonSnapshot } : { kind: 'refused', reason: `${path}: ${problem}` };
}

/** The snapshot there if it passes inspectSnapshot() (of `owner`, by default this process's uid), else undefined. */
export function readSnapshot(directory: string, owner?: number): DaemonSnapshot | undefined {
  const read = inspectSnapshot(directory, owner ?? process.getuid?.());
  return read.kind === 'ok' ? read.snapshot : undefined;
}

/**
 * Whose status file a reader (`auditflow status`, often root) trusts in `directory`: the directory's
 * owner, the daemon's user (the service runs as `auditflow`, systemd makes its RuntimeDirectory=
 * that user's), when the directory is a real one writable by no one else; else the reader's own uid.
 */
export function snapshotOwner(directory: string): number | undefined {
  try {
    const stat = lstatSync(directory);
    if (stat.isDirectory() && (stat.mode & 0o022) === 0) return stat.uid;
  } catch {
    // No directory: no status file either.
  }
  return process.getuid?.();
}

// Serials are the kernel's audit serials (unsigned int, kernel/audit.c audit_serial); times ms since the epoch.
const MAX_SERIAL = 0xffff_ffff;
const isCount = (value: unknown, max = Number.MAX_SAFE_INTEGER): boolean => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;
const isCountOrNull = (value: unknown, max?: number): boolean => value === null || isCount(value, max);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a parsed status file, as a DaemonSnapshot; undefined if nothing (the fields crash recovery and status read). */
function snapshotProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  const checks: Array<[string, boolean]> = [
    ['pid', isCount(value.pid) && (value.pid as number) > 0],
    ['stopped', typeof value.stopped === 'boolean'],
    ['started', isCount(value.started)],
    ['updated', isCount(value.updated)],
    ['lastSerial', isCountOrNull(value.lastSerial, MAX_SERIAL)],
    ['firstSerial', isCountOrNull(value.firstSerial, MAX_SERIAL)],
    ['safeSerial', value.safeSerial === undefined || isCountOrNull(value.safeSerial, MAX_SERIAL)],
    ['lastRecordTs', isCountOrNull(value.lastRecordTs)],
    ['kernel', isObject(value.kernel) && isCountOrNull(value.kernel.lost) && isCountOrNull(value.kernel.backlog) && isCountOrNull(value.kernel.enabled)],
    ['pipeline', isObject(value.pipeline)],
    ['sinkHealth', isObject(value.sinkHealth)],
    ['losses', isObject(value.losses)],
  ];
  const bad = checks.filter(([, ok]) => !ok).map(([name]) => name);
  return bad.length === 0 ? undefined : `not a status file (${bad.join(', ')})`;
}
