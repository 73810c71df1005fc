// A directory laid out like /proc for the process resolver's procRoot option: per process
// stat (in the kernel's format: fs/proc/array.c do_task_stat), exe, cwd and ns/net symlinks, cmdline
// (NUL-terminated arguments) and cgroup; and uptime. Tests add, change and remove processes to
// stage exits, pid reuse and execs that a real /proc cannot be made to show on demand.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeProcess {
  pid: number;
  ppid: number;
  comm: string;
  /** Clock ticks (USER_HZ = 100) after boot. */
  startTicks: number;
  state?: string;
  exe?: string;
  cwd?: string;
  argv?: string[];
  /** /proc/<pid>/cgroup contents. */
  cgroup?: string;
  /** The inode /proc/<pid>/ns/net names (`net:[<inode>]`). */
  netns?: number;
}

export class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'auditflow-proc-'));

  /** A machine booted at `bootMs` (ms since the epoch), as seen at `nowMs`. */
  constructor(
    readonly bootMs: number,
    nowMs: number,
  ) {
    this.setNow(nowMs);
  }

  /** Time passes: /proc/uptime counts from boot to `nowMs`. */
  setNow(nowMs: number): void {
    writeFileSync(join(this.root, 'uptime'), `${((nowMs - this.bootMs) / 1000).toFixed(2)} 1234.56\n`);
  }

  /** The ms-since-epoch start time of a process started `ticks` after boot. */
  startMs(ticks: number): number {
    return this.bootMs + ticks * 10;
  }

  add(process: FakeProcess): void {
    const dir = join(this.root, String(process.pid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    // The fields of a real line (this machine's /proc/1/stat), with pid, comm, state, ppid and starttime set.
    const fields = [process.state ?? 'S', process.ppid, process.pid, process.pid, 0, -1, 4194560, 103121, 0, 0, 0, 127, 547, 0, 0, 20, 0, 1, 0, process.startTicks, 43966464, 3344, '18446744073709551615', 1, 1, 0, 0, 0, 0, 0, 4096, 1256, 0, 0, 0, 17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    writeFileSync(join(dir, 'stat'), `${process.pid} (${process.comm}) ${fields.join(' ')}\n`);
    if (process.exe !== undefined) symlinkSync(process.exe, join(dir, 'exe'));
    if (process.cwd !== undefined) symlinkSync(process.cwd, join(dir, 'cwd'));
    writeFileSync(join(dir, 'cmdline'), (process.argv ?? []).map((arg) => `${arg}\0`).join(''));
    writeFileSync(join(dir, 'cgroup'), process.cgroup ?? '0::/\n');
    if (process.netns !== undefined) {
      mkdirSync(join(dir, 'ns'));
      symlinkSync(`net:[${process.netns}]`, join(dir, 'ns', 'net'));
    }
  }

  remove(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
