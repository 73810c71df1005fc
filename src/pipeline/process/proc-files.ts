// Reading a process's /proc files, split by whether the read can wait on another task:
//   exe, cwd (readlink): fs/proc/base.c proc_exe_link and proc_cwd_link take only the task's
//     own short locks (task_lock, fs->lock), so they are read at once on the pipeline's thread.
//   cgroup, cmdline: proc_cgroup_show has waited on cgroup_mutex while a container runtime
//     held it (readers hung in D state on a 4.12 kernel, SUSE bsc#1228347), and
//     proc_pid_cmdline_read takes the target's mmap lock (get_mm_cmdline → access_remote_vm),
//     which the target may hold for as long as it likes. These are read in a worker thread of
//     their own: a stuck read holds up only that thread, never the pipeline, nor the thread
//     pool the sink's spool writes through.
import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** The target of a /proc/<pid> symlink (`exe`, `cwd`); null when gone, a kernel thread, or not permitted. */
export function readProcLink(procRoot: string, pid: number, name: 'exe' | 'cwd'): string | null {
  try {
    return readlinkSync(`${procRoot}/${pid}/${name}`);
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

export interface SlowProcFiles {
  /** /proc/<pid>/cgroup; null when it could not be read. */
  cgroup: string | null;
  cmdline: Buffer | null;
}

// The worker: plain CommonJS given as source text (no build step, the same under tsx and
// node), one request at a time, every failure answered with null.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const read = (path, encoding) => { try { return readFileSync(path, encoding); } catch { return null; } };
parentPort.on('message', ({ id, dir }) => {
  parentPort.postMessage({ id, cgroup: read(dir + '/cgroup', 'utf8'), cmdline: read(dir + '/cmdline') });
});
`;

interface Answer {
  id: number;
  cgroup: string | null;
  cmdline: Uint8Array | null;
}

const NOTHING: SlowProcFiles = { cgroup: null, cmdline: null };

/** Reads cgroup and cmdline of a process in the worker thread, started on first use. */
export class SlowProcReader {
  private worker: { thread: Worker; online: Promise<void> } | undefined;
  private readonly waiting = new Map<number, (files: SlowProcFiles) => void>();
  private nextId = 0;

  constructor(private readonly procRoot: string) {}

  read(pid: number): Promise<SlowProcFiles> {
    const worker = this.start().thread;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      // Only a worker with questions open keeps the process alive.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ id, dir: `${this.procRoot}/${pid}` });
    });
  }

  /** Stops the worker; open questions are answered with nothing. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.answerAll();
    await worker?.thread.terminate();
  }

  /** The worker thread, started if it is not running; `online` resolves once it runs. */
  start(): { thread: Worker; online: Promise<void> } {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const online = new Promise<void>((resolve) => {
      worker.once('online', resolve);
      worker.once('exit', () => resolve());
    });
    worker.on('message', (answer: Answer) => {
      const resolve = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      resolve?.({ cgroup: answer.cgroup, cmdline: answer.cmdline ? Buffer.from(answer.cmdline.buffer, answer.cmdline.byteOffset, answer.cmdline.byteLength) : null });
    });
    // A worker that died answers nothing more: its questions get nothing, the next read starts another.
    worker.on('error', () => this.lose(worker));
    worker.on('exit', () => this.lose(worker));
    worker.unref();
    this.worker = { thread: worker, online };
    return this.worker;
  }

  private lose(worker: Worker): void {
    if (this.worker?.thread !== worker) return;
    this.worker = undefined;
    this.answerAll();
  }

  private answerAll(): void {
    for (const resolve of this.waiting.values()) resolve(NOTHING);
    this.waiting.clear();
  }
}
