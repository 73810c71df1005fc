// /proc/<pid>/stat: the process's identity. A pid alone names a process only while it lives;
// the kernel hands the number out again after it exits (pid reuse). (pid, start time) names
// one process for the whole boot, so it is the process cache's key.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface ProcStat {
  pid: number;
  /** The name in parentheses (TASK_COMM_LEN, at most 15 bytes), UTF-8 decoded. */
  comm: string;
  /** R, S, D, Z, ... (man 5 proc_pid_stat, field 3). */
  state: string;
  ppid: number;
  /** Field 22, starttime: clock ticks (USER_HZ) after boot. */
  startTicks: number;
}

/**
 * USER_HZ, the unit of starttime (fs/proc/array.c do_task_stat: nsec_to_clock_t). It is 100 on
 * every architecture Linux runs auditflow on (include/asm-generic/param.h; x86 and arm64 do
 * not override it), which is why sysconf(_SC_CLK_TCK) answers 100 there.
 */
export const USER_HZ = 100;

// The fields after "(comm) ", counted from field 3 (state).
const FIELD_STATE = 0;
const FIELD_PPID = 1;
const FIELD_STARTTIME = 19;

/**
 * Parses /proc/<pid>/stat. comm may hold spaces and parentheses ("(sd-pam)", "a) b"), so it
 * ends at the LAST ')' of the line, not the first. Undefined for anything malformed.
 */
export function parseProcStat(bytes: Buffer): ProcStat | undefined {
  const open = bytes.indexOf(0x28); // '('
  const close = bytes.lastIndexOf(0x29); // ')'
  if (open <= 0 || close < open) return undefined;
  const pid = Number(bytes.subarray(0, open).toString('latin1').trim());
  const rest = bytes
    .subarray(close + 1)
    .toString('latin1')
    .trim()
    .split(' ');
  const ppid = Number(rest[FIELD_PPID]);
  const startTicks = Number(rest[FIELD_STARTTIME]);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTicks)) return undefined;
  return { pid, comm: bytes.subarray(open + 1, close).toString('utf8'), state: rest[FIELD_STATE] ?? '', ppid, startTicks };
}

// One buffer for every stat read: the pipeline's thread reads one file at a time, and a stat
// line is a few hundred bytes (52 numbers and a 15-byte comm).
const statBuffer = Buffer.alloc(4096);

/**
 * The process at `pid` now, or undefined when there is none. open/read/close into a reused
 * buffer: about half the cost of readFileSync, and this runs once per flow.
 */
export function readProcStat(procRoot: string, pid: number): ProcStat | undefined {
  let fd: number;
  try {
    fd = openSync(`${procRoot}/${pid}/stat`, 'r');
  } catch {
    return undefined;
  }
  try {
    const length = readSync(fd, statBuffer, 0, statBuffer.length, 0);
    return parseProcStat(statBuffer.subarray(0, length));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const readUptime = (procRoot: string): number => Number(readFileSync(`${procRoot}/uptime`, 'latin1').split(' ')[0]);

/**
 * The wall-clock time of boot in ms: now minus /proc/uptime. uptime counts CLOCK_BOOTTIME
 * (fs/proc/uptime.c), the clock starttime is measured on, in steps of 10 ms, much finer than
 * /proc/stat's btime (whole seconds). With `atTick`, it waits (at most ~12 ms) for uptime to
 * step and reads the clock right then, when uptime is exact instead of up to 10 ms behind.
 */
export function readBootTimeMs(procRoot: string, now: () => number, atTick = false): number {
  const first = readUptime(procRoot);
  if (!Number.isFinite(first)) throw new Error(`${procRoot}/uptime: not a number of seconds`);
  const deadline = performance.now() + 12;
  while (atTick && performance.now() < deadline) {
    const next = readUptime(procRoot);
    if (next !== first && Number.isFinite(next)) return Math.round(now() - next * 1000);
  }
  return Math.round(now() - first * 1000);
}

/**
 * A process cannot make a syscall before it starts. The computed start time may lie a few ms
 * after the true one (10 ms ticks, a coarse event clock): a process that "started" more than
 * this after the event is another process. The addon uses the same (native/process_start.h).
 */
export const START_TOLERANCE_MS = 100;

/** starttime as ms since the epoch, given the boot time. */
export const startTimeMs = (bootTimeMs: number, startTicks: number): number => bootTimeMs + Math.round((startTicks * 1000) / USER_HZ);

/** Z (zombie) and X (dead): the process has exited; its pid is not yet free, but its /proc data is gone. */
export const hasExited = (state: string): boolean => state === 'Z' || state === 'X';
