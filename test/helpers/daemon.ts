// `auditflow run` as a child process, the way systemd runs it, for the daemon's end-to-end tests:
// private state, runtime and spool directories, metrics off unless asked, and its JSON log lines
// collected so a test can wait for one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from './redis-server.js';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { request } from 'node:http';

export const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface DaemonChild {
  child: ChildProcess;
  pid: number;
  dirs: { state: string; runtime: string };
  /** Log lines so far (stdout, or stderr with --stdout). */
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and resolves with the exit code (or the signal) once it exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface DaemonStart {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Reuse the directories of an earlier run (restart tests). */
  dirs?: { state: string; runtime: string };
  /** A command that execs the daemon, e.g. setpriv with its options (the pid stays the daemon's). */
  prefix?: string[];
}

const started = new Set<ChildProcess>();

/**
 * SIGKILLs every daemon a test started that is still running: a test that failed before its stop
 * must not leave a daemon behind (call it in afterAll, before the kernel is restored).
 */
export async function killLeftoverDaemons(): Promise<void> {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
    }
  }
  started.clear();
}

export function startDaemon(options: DaemonStart = {}): DaemonChild {
  const dirs = options.dirs ?? { state: mkdtempSync(join(tmpdir(), 'auditflow-state-')), runtime: mkdtempSync(join(tmpdir(), 'auditflow-run-')) };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AUDITFLOW_STATE_DIR: dirs.state,
    AUDITFLOW_RUNTIME_DIR: dirs.runtime,
    AUDITFLOW_METRICS_LISTEN: 'off',
    AUDITFLOW_STATS_INTERVAL_S: '0',
    AUDITFLOW_LOG_LEVEL: 'debug',
    ...options.env,
  };
  const command = [...(options.prefix ?? []), process.execPath, cli, 'run', ...(options.args ?? [])];
  const child = spawn(command[0] as string, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const logs: LogLine[] = [];
  let stdout = '';
  let stderr = '';
  const logStream = (options.args ?? []).includes('--stdout') || env.AUDITFLOW_SINK === 'stdout' ? 'stderr' : 'stdout';
  let partial = '';
  const waiters: Array<() => void> = [];
  const onLog = (chunk: string): void => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (the CLI's one-line error on stderr)
      }
    }
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (logStream === 'stdout') onLog(chunk.toString());
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (logStream === 'stderr') onLog(chunk.toString());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    });
  });
  const matches = (line: LogLine, msg: string | RegExp): boolean => (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg));
  return {
    child,
    pid: child.pid ?? 0,
    dirs,
    logs,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitForLog(msg, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.find((line) => matches(line, msg));
        if (found !== undefined) return found;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the daemon exited before logging ${String(msg)}:\n${stdout}\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`no log line ${String(msg)} within ${timeoutMs} ms:\n${stdout}\n${stderr}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, signal);
      return exited;
    },
  };
}

/** Every entry of a stream, fields as an object, with its ID. */
export async function readStream(url: string, key: string): Promise<Array<{ id: string; fields: Record<string, string> }>> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const entries = await client.xrange(key, '-', '+');
    return entries.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      return { id, fields };
    });
  } finally {
    client.disconnect();
  }
}

/**
 * A daemon test file's private redis-server, started before its tests and stopped after them, and
 * every daemon the file started killed first (call after useKernel(), so the kernel is restored last).
 */
export function useDaemonRedis(): { readonly redis: RedisServer } {
  const fixture = {} as { redis: RedisServer };
  beforeAll(async () => {
    fixture.redis = await startRedis();
  });
  afterAll(async () => {
    await killLeftoverDaemons();
    await fixture.redis?.stop();
  });
  return fixture;
}

/**
 * Makes `count` TCP connects on loopback to one fresh listening port and keeps them open until
 * `close()`: the daemon asks a connect's socket for its local end, which needs the socket alive.
 */
export async function tcpConnects(count: number): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', resolve);
      socket.on('error', reject);
      sockets.push(socket);
    });
  }
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The text of a running daemon's /metrics on 127.0.0.1:`port`. */
export function scrapeMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
