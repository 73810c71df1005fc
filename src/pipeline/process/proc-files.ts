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
import { utf8Boundary } from '../utf8.js';

/** The target of a /proc/<pid> symlink (`exe`, `cwd`); null when gone, a kernel thread, or not permitted. */
export function readProcLink(procRoot: string, pid: number, name: 'exe' | 'cwd'): string | null {
  try {
    return readlinkSync(`${procRoot}/${pid}/${name}`);
  } catch {
    return null;
  }
}

/**
 * The inode of a process's network namespace: /proc/<pid>/ns/net links to `net:[<inode>]`
 * (namespaces(7)); null when gone or not permitted (reading it needs ptrace read access, as exe does).
 */
export function readNetns(procRoot: string, pid: number | 'self'): number | null {
  try {
    const match = /^net:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/ns/net`));
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}

/** A command line from /proc/<pid>/cmdline, at most a given number of bytes of it. */
export interface BoundedArgv {
  argv: string[];
  /** The process's command line is longer than what argv holds. */
  truncated: boolean;
}

/** The first `maxArgs` arguments; `truncated` when there were more. */
export function capArgs(argv: string[], maxArgs: number): BoundedArgv {
  return argv.length > maxArgs ? { argv: argv.slice(0, maxArgs), truncated: true } : { argv, truncated: false };
}

/**
 * The argument area as the kernel shows it: NUL-terminated strings (trailing NULs dropped),
 * cut to `maxBytes` (its arguments joined by NUL) at a UTF-8 character boundary and to
 * `maxArgs` arguments (the byte bound alone lets a command line of empty arguments make
 * `maxBytes` array elements). `more`: the file went on past `bytes`.
 */
export function cmdlineArgv(bytes: Buffer, maxBytes: number, more = false, maxArgs = Number.POSITIVE_INFINITY): BoundedArgv {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let truncated = more;
  if (end > maxBytes) {
    end = utf8Boundary(bytes, maxBytes);
    truncated = true;
  }
  if (end === 0) return { argv: [], truncated };
  // bytes[0, end) holds one argument more than NULs. Those past the count bound are not even made
  // into strings: the text ends at the NUL after the last one kept.
  for (let at = 0, args = 1; ; args++) {
    const nul = bytes.indexOf(0, at);
    if (nul < 0 || nul >= end) break;
    if (args === maxArgs) {
      end = nul;
      truncated = true;
      break;
    }
    at = nul + 1;
  }
  return { argv: bytes.subarray(0, end).toString('utf8').split('\0'), truncated };
}

export interface SlowProcFiles {
  /** /proc/<pid>/cgroup; null when it could not be read. */
  cgroup: string | null;
  /** The first bytes of /proc/<pid>/cmdline (at most the reader's cmdlineMax + 1). */
  cmdline: Buffer | null;
  /** cmdline stopped before the end of the file. */
  cmdlineMore: boolean;
}

// The worker: plain CommonJS given as source text (no build step, the same under tsx and
// node), one request at a time, every failure answered with null. cmdline is read only up to
// `max` + 1 bytes: the kernel copies what a read asks for (fs/proc/base.c get_mm_cmdline), so
// a process with megabytes of arguments costs no more than one within the bound. One byte past
// the bound tells a longer command line; if that byte ends an argument, one more read tells
// whether another follows.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readFileSync, openSync, readSync, closeSync } = require('node:fs');
const read = (path, encoding) => { try { return readFileSync(path, encoding); } catch { return null; } };
const readCapped = (path, max) => {
  let fd;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (let got = 1; got > 0 && length < buffer.length; length += got) got = readSync(fd, buffer, length, buffer.length - length, null);
    const more = length === buffer.length && (buffer[max] !== 0 || readSync(fd, Buffer.alloc(1), 0, 1, null) > 0);
    return { bytes: buffer.subarray(0, length), more };
  } catch {
    return { bytes: null, more: false };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};
parentPort.on('message', ({ id, dir, max }) => {
  const cmdline = readCapped(dir + '/cmdline', max);
  parentPort.postMessage({ id, cgroup: read(dir + '/cgroup', 'utf8'), cmdline: cmdline.bytes, cmdlineMore: cmdline.more });
});
`;

interface Answer {
  id: number;
  cgroup: string | null;
  cmdline: Uint8Array | null;
  cmdlineMore: boolean;
}

const NOTHING: SlowProcFiles = { cgroup: null, cmdline: null, cmdlineMore: false };

/** Reads cgroup and cmdline of a process in the worker thread, started on first use. */
export class SlowProcReader {
  private worker: { thread: Worker; online: Promise<void> } | undefined;
  private readonly waiting = new Map<number, (files: SlowProcFiles) => void>();
  private nextId = 0;

  /** cmdlineMax: bytes of a command line kept (see cmdlineArgv); the worker reads one more. */
  constructor(
    private readonly procRoot: string,
    private readonly cmdlineMax: number,
  ) {}

  read(pid: number): Promise<SlowProcFiles> {
    const worker = this.start().thread;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      // Only a worker with questions open keeps the process alive.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ id, dir: `${this.procRoot}/${pid}`, max: this.cmdlineMax });
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
      resolve?.({ cgroup: answer.cgroup, cmdline: answer.cmdline ? Buffer.from(answer.cmdline.buffer, answer.cmdline.byteOffset, answer.cmdline.byteLength) : null, cmdlineMore: answer.cmdlineMore });
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
