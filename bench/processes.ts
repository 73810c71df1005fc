// Children of the benchmark. Each runs in its own process group (detached), so a Ctrl-C in the
// terminal reaches only the driver, which then stops them in order (the workload first, then the
// consumer, then the kernel state) instead of every process dying at once. They are signalled by
// their own pid (or the workload's own group), never by name.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly pid: number;
  /** What the child is to the benchmark ('workload', 'consumer', ...), for the interrupt handler. */
  readonly role: string;
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line that `match` accepts; rejects if the child exits first. */
  line(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Sends `signal` to the child (and its group with `group`); harmless once it has exited. */
  kill(signal: NodeJS.Signals, group?: boolean): void;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<Exit>;
  isRunning(): boolean;
}

const live = new Set<ChildHandle>();

/** Every child still running: the interrupt handler kills the workloads among them at once. */
export function liveChildren(): ChildHandle[] {
  return [...live];
}

export function spawnGroup(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; role?: string } = {}): ChildHandle {
  let err = '';
  const child: ChildProcess = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
  // A child that cannot start (ENOENT, EACCES) reports it as an 'error' event, which must have a
  // listener or it takes the driver down before it can put the kernel back.
  child.on('error', (error) => {
    err += String(error);
  });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const pid = child.pid;
  let out = '';
  let pending = '';
  const watchers: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      for (const watcher of watchers.splice(0)) {
        if (watcher.match(line)) watcher.resolve(line);
        else watchers.push(watcher);
      }
    }
  });
  child.stderr?.on('data', (chunk: string) => {
    // Keep the tail only: a chatty child must not grow the driver's memory without bound.
    err = (err + chunk).slice(-64 * 1024);
  });
  let done: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      done = { code, signal };
      live.delete(handle);
      resolve(done);
    });
  });
  const handle: ChildHandle = {
    pid,
    role: options.role ?? 'consumer',
    exited,
    stdout: () => out,
    stderr: () => err,
    line(match, timeoutMs) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${command}: no expected output within ${timeoutMs} ms; stderr: ${err.trim().slice(-500)}`)), timeoutMs);
        watchers.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then((exit) => {
          clearTimeout(timer);
          reject(new Error(`${command} exited (${exit.signal ?? `exit ${exit.code}`}) before it was ready: ${err.trim().slice(-500)}`));
        });
      });
    },
    kill(signal, group = false) {
      if (done !== undefined) return;
      try {
        process.kill(group ? -pid : pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
    async stop(graceMs = 10_000, signal = 'SIGTERM') {
      handle.kill(signal);
      const timer = setTimeout(() => handle.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    isRunning: () => done === undefined,
  };
  live.add(handle);
  return handle;
}
