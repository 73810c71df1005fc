// CPU time and peak memory of a process, from /proc (proc(5)). CPU is the whole thread group's
// utime + stime, so a consumer's helper threads (auditflow's reader thread, auditd's flush thread)
// are counted with it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** sysconf(_SC_CLK_TCK): the unit of utime and stime in /proc/<pid>/stat. */
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/**
 * utime + stime in clock ticks, from the text of /proc/<pid>/stat. comm (field 2) is in parentheses
 * and may itself hold spaces and ')', so the fields are counted from the last ')'; after it come
 * field 3 (state) onwards, which puts utime (field 14) and stime (field 15) at 11 and 12.
 */
export function parseStatTicks(text: string): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc/<pid>/stat: ${text.slice(0, 120)}`);
  return utime + stime;
}

/** CPU milliseconds the process has used so far. */
export function cpuMs(pid: number): number {
  return (parseStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / clockTicks();
}

/**
 * CPU milliseconds used so far by each thread of the process, summed by name: `main` for the thread
 * whose id is the pid, the others by their comm (task/<tid>/comm: the addon names its threads
 * af-audit-read, af-lookup and af-dns-read; V8's and libuv's have their own names). A thread that ended is not counted.
 */
export function threadCpuMs(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      byName[name] = (byName[name] ?? 0) + (parseStatTicks(stat) * 1000) / clockTicks();
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}

/** VmHWM (peak resident set) in bytes, from the text of /proc/<pid>/status. */
export function parsePeakRss(text: string): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(text);
  if (match === null) throw new Error('no VmHWM line in /proc/<pid>/status');
  return Number(match[1]) * 1024;
}

export function peakRss(pid: number): number {
  return parsePeakRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
}
