// Reads what /proc knows about one process, asynchronously (on libuv's thread pool): a read
// of /proc/<pid>/cmdline takes the target's mmap lock and can wait as long as the target
// holds it, so it must never run on the pipeline's thread. The reads are checked against the
// process's identity afterwards: if the pid now belongs to another process (it exited and the
// number was reused while we read), nothing that was read is kept.
import { readFile, readlink } from 'node:fs/promises';
import { cgroupContext, parseCgroupFile, type CgroupContext } from './cgroup.js';
import { hasExited, readProcStatAsync } from './proc-stat.js';

export interface ProcessSnapshot {
  pid: number;
  startTicks: number;
  ppid: number;
  /** From stat: the main thread's name. */
  comm: string;
  /** /proc/<pid>/exe as this daemon sees it (a container's process: the host's path). null for kernel threads, or without permission. */
  exe: string | null;
  /** /proc/<pid>/cmdline split at NULs: the whole command line, not PROCTITLE's first 128 bytes. */
  argv: string[] | null;
  cwd: string | null;
  cgroup: CgroupContext;
}

const NO_CGROUP: CgroupContext = { containerId: null, runtime: null, podUid: null, unit: null };

async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch {
    return null;
  }
}

/** The argument area as the kernel shows it: NUL-terminated strings (trailing NULs dropped). */
export function splitCmdline(bytes: Buffer): string[] {
  const parts = bytes.toString('utf8').split('\0');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The process (pid, startTicks), or undefined when it is gone (exited, or its pid reused). */
export async function readProcessSnapshot(procRoot: string, pid: number, startTicks: number): Promise<ProcessSnapshot | undefined> {
  const base = `${procRoot}/${pid}`;
  const [exe, cwd, cmdline, cgroup] = await Promise.all([orNull(readlink(`${base}/exe`)), orNull(readlink(`${base}/cwd`)), orNull(readFile(`${base}/cmdline`)), orNull(readFile(`${base}/cgroup`, 'utf8'))]);
  const stat = await readProcStatAsync(procRoot, pid);
  if (!stat || stat.startTicks !== startTicks || hasExited(stat.state)) return undefined;
  return {
    pid,
    startTicks,
    ppid: stat.ppid,
    comm: stat.comm,
    exe,
    argv: cmdline === null ? null : splitCmdline(cmdline),
    cwd,
    cgroup: cgroup === null ? NO_CGROUP : cgroupContext(parseCgroupFile(cgroup)),
  };
}
