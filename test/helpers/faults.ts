// Shared parts of the fault suite (test/kernel/faults-*.test.ts): the C workload, and the
// conservation check that says whether every connect the workload made is a flow or inside a
// counted loss.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finished, type Finished } from './child.js';

const SOURCE = fileURLToPath(new URL('./fault-workload.c', import.meta.url));
let built: string | undefined;

/** Compiles test/helpers/fault-workload.c once per process; returns the binary's path. */
export function faultWorkload(): string {
  if (built !== undefined && existsSync(built)) return built;
  const output = join(mkdtempSync(join(tmpdir(), 'auditflow-fault-workload-')), 'fault-workload');
  execFileSync('gcc', ['-O1', '-Wall', '-o', output, SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  built = output;
  return output;
}

export interface ConnectRun {
  pid: number;
  firstPort: number;
  count: number;
  /** How many connects the workload has made so far (every 256). */
  progress(): number;
  done: Promise<Finished>;
}

/** Starts `count` connects to 127.0.0.1:firstPort, firstPort+1, ... (one process, one after another, `pauseUs` apart). */
export function startConnects(firstPort: number, count: number, pauseUs = 0): ConnectRun {
  if (firstPort < 1 || firstPort + count - 1 > 65535) throw new Error(`ports ${firstPort}..${firstPort + count - 1} are not all valid`);
  const progressFile = join(mkdtempSync(join(tmpdir(), 'auditflow-fault-progress-')), 'progress');
  const child = spawn(faultWorkload(), ['connect', String(firstPort), String(count), progressFile, String(pauseUs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    pid: child.pid ?? 0,
    firstPort,
    count,
    progress: () => {
      try {
        const lines = readFileSync(progressFile, 'utf8').trim().split('\n');
        return Number(lines.at(-1) ?? 0);
      } catch {
        return 0;
      }
    },
    done: finished(child),
  };
}

type Fields = Record<string, string>;

export interface ConservationReport {
  /** Connects that are flows. */
  flows: number;
  /** Ports that have more than one connect flow (each connect must be exactly one). */
  duplicates: number[];
  /** Ports without a flow. */
  missing: number[];
  /** Missing connects that no serial-ranged loss can hold: they must fit in the unranged losses. */
  deficit: number;
  /** Sum of the counts of loss entries without a serial range (kernel_lost, enobufs, ...). */
  unranged: number;
  /** Loss counts by reason. */
  losses: Record<string, number>;
  /**
   * Losses that can concern the workload: those whose serial range meets the serials of its flows,
   * and those without a range. (The daemon audits the whole machine: a loss in another process's
   * event before or after the workload is not the workload's.)
   */
  lossesDuring: number;
  /** True when every connect is a flow or can be inside a counted loss. */
  conserved: boolean;
}

/**
 * Conservation of the connects `run` made, from a stream's entries. A connect without a flow must be
 * inside a loss: its connect event's serial lies between the serials of the flows of the nearest
 * connects before and after it (one process, one connect after another, and the kernel numbers events
 * in the order it makes them), so the losses with a serial range inside that window must count at
 * least one serial per missing connect there; what they cannot hold must fit in the losses without
 * a serial range (the kernel's `lost` counter counts records, the reader's ENOBUFS datagrams: each
 * can take at most one event). `serialFloor` is a serial the daemon had read before the workload
 * started.
 */
export function checkConservation(entries: Fields[], run: { pid: number; firstPort: number; count: number }, serialFloor: number): ConservationReport {
  const serialOf = new Map<number, number>();
  const duplicates: number[] = [];
  for (const f of entries) {
    if (f.kind !== 'flow' || f.op !== 'connect' || f.pid !== String(run.pid)) continue;
    // A connect whose SOCKADDR record the kernel dropped is a flow without a remote end: it cannot be
    // told apart, and stays missing (its record is in the kernel's lost count).
    const port = Number(f.remote_port ?? NaN);
    if (!(port >= run.firstPort && port < run.firstPort + run.count)) continue;
    if (serialOf.has(port)) duplicates.push(port);
    serialOf.set(port, Number(f.serial));
  }
  // One loss entry merges the losses of a reason over a second: its range can be wider than its count.
  // Each entry lends at most `count` serials, taken in serial order.
  const ranged: Array<{ first: number; last: number; left: number }> = [];
  let unranged = 0;
  const losses: Record<string, number> = {};
  for (const f of entries) {
    if (f.kind !== 'loss') continue;
    const count = Number(f.count);
    losses[f.reason ?? '?'] = (losses[f.reason ?? '?'] ?? 0) + count;
    if (f.first_serial !== undefined && f.last_serial !== undefined) ranged.push({ first: Number(f.first_serial), last: Number(f.last_serial), left: count });
    else unranged += count;
  }
  ranged.sort((a, b) => a.first - b.first);
  /** Takes up to `need` lost serials from the entries whose range meets the open window (low, high). */
  const takeLostSerials = (low: number, high: number, need: number): number => {
    let taken = 0;
    for (const range of ranged) {
      const overlap = Math.min(range.last, high - 1) - Math.max(range.first, low + 1) + 1;
      const take = Math.min(need - taken, overlap, range.left);
      if (take <= 0) continue;
      range.left -= take;
      taken += take;
    }
    return taken;
  };

  const missing: number[] = [];
  let deficit = 0;
  let runStart: number | undefined;
  let low = serialFloor;
  for (let port = run.firstPort; port <= run.firstPort + run.count; port++) {
    const serial = port < run.firstPort + run.count ? serialOf.get(port) : Number.MAX_SAFE_INTEGER;
    if (serial === undefined) {
      missing.push(port);
      runStart ??= port;
      continue;
    }
    if (runStart !== undefined) {
      deficit += port - runStart - takeLostSerials(low, serial, port - runStart);
      runStart = undefined;
    }
    low = serial;
  }
  const serials = [...serialOf.values()];
  const [first, last] = [Math.min(...serials), Math.max(...serials)];
  const lossesDuring = unranged + entries.filter((f) => f.kind === 'loss' && f.first_serial !== undefined && Number(f.first_serial) <= last && Number(f.last_serial) >= first).reduce((sum, f) => sum + Number(f.count), 0);
  return { flows: serialOf.size, duplicates, missing, deficit, unranged, losses, lossesDuring, conserved: duplicates.length === 0 && deficit <= unranged };
}
