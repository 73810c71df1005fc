// The process figures every Prometheus client exports under the same names (the client libraries'
// "process" and Node "runtime" collectors; prom-client is not a dependency, so they are read here),
// sampled on each scrape.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
  /** process_cpu_seconds_total: user + system CPU time. */
  cpuSeconds: number;
  /** process_resident_memory_bytes. */
  residentBytes: number;
  /** process_start_time_seconds: since the Unix epoch. */
  startTimeSeconds: number;
  /** process_open_fds; null where /proc cannot be read. */
  openFds: number | null;
  /** process_max_fds: the soft RLIMIT_NOFILE; null where /proc cannot be read. */
  maxFds: number | null;
  /** nodejs_heap_size_total_bytes, nodejs_heap_size_used_bytes, nodejs_external_memory_bytes. */
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

/** The soft "Max open files" of a proc(5) limits file ("unlimited" counts as no number). */
export function softFdLimit(limits: string): number | null {
  const match = /^Max open files\s+(\d+)\s/m.exec(limits);
  return match === null ? null : Number(match[1]);
}

function openFds(procSelf: string): number | null {
  try {
    // The listing's own directory fd is one of the entries: not one the process holds otherwise.
    return readdirSync(`${procSelf}/fd`).length - 1;
  } catch {
    return null;
  }
}

function maxFds(procSelf: string): number | null {
  try {
    return softFdLimit(readFileSync(`${procSelf}/limits`, 'utf8'));
  } catch {
    return null;
  }
}

/** `now` is ms since the epoch; the start time is derived from it and the process uptime. */
export function sampleProcess(now: number, procSelf = '/proc/self'): ProcessSample {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: memory.rss,
    // Not rounded: rounding could put the start up to half a second in the future (a scrape right
    // after start then saw it later than the clock), and Prometheus takes the fraction as it is.
    startTimeSeconds: now / 1000 - process.uptime(),
    openFds: openFds(procSelf),
    maxFds: maxFds(procSelf),
    heapTotalBytes: memory.heapTotal,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
  };
}
