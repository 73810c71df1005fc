// Debian's auditd (3.0.9, unpacked into .cache/auditd by scripts/fetch-auditd.sh, never
// installed) run by a test in the foreground with a private configuration: its log goes to
// a temporary directory, no plugins, no network listener, no log rotation. Only kernel tests
// start it, inside useKernel(), which holds the kernel lock and restores the audit state:
// auditd enables auditing when it starts and leaves enabled=1 (and every rule) behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditControl } from '../../src/audit/control.js';
import { auditdPath, auditPackageEnv, ensureAuditctl } from './auditctl.js';
import { finished, type Finished } from './child.js';

export type LogFormat = 'RAW' | 'ENRICHED';

// auditd 3.0.9 writes its pid here whatever the configuration says (the path is built into
// the binary; seen here: the file is there while it runs and gone after SIGTERM).
export const AUDITD_PID_FILE = '/var/run/auditd.pid';

export interface RunningAuditd {
  pid: number;
  /** The private directory: auditd.conf, plugins/ (empty), log/audit.log. */
  dir: string;
  logFile: string;
  /** SIGTERM (auditd writes DAEMON_END, flushes and unregisters), then waits for its exit. */
  stop(): Promise<Finished>;
}

/**
 * auditd.conf(5) for a test: everything auditd would do besides writing the log is off
 * (plugins: an empty plugin_dir; no libwrap, no tcp_listen_port, no name resolution, no
 * priority change), and no disk-space action can suspend it.
 */
function configText(logFile: string, pluginDir: string, format: LogFormat): string {
  return [
    'local_events = yes',
    'write_logs = yes',
    `log_file = ${logFile}`,
    'log_group = root',
    `log_format = ${format}`,
    'flush = INCREMENTAL_ASYNC',
    'freq = 50',
    'max_log_file = 64',
    'num_logs = 2',
    'max_log_file_action = IGNORE',
    'priority_boost = 0',
    'name_format = NONE',
    // auditd requires space_left > admin_space_left (MB); the actions make both harmless.
    'space_left = 2',
    'space_left_action = IGNORE',
    'admin_space_left = 1',
    'admin_space_left_action = IGNORE',
    'disk_full_action = IGNORE',
    'disk_error_action = IGNORE',
    'use_libwrap = no',
    'distribute_network = no',
    'q_depth = 2000',
    'overflow_action = IGNORE',
    'max_restarts = 0',
    `plugin_dir = ${pluginDir}`,
    'end_of_event_timeout = 2',
    '',
  ].join('\n');
}

/**
 * Starts auditd without forking (`-n`, so its pid is the child's) on a private config
 * directory (`-c`), and resolves once the kernel names it as the audit daemon.
 */
export async function startAuditd(control: AuditControl, format: LogFormat): Promise<RunningAuditd> {
  ensureAuditctl();
  if (existsSync(AUDITD_PID_FILE)) {
    throw new Error(`${AUDITD_PID_FILE} exists: an auditd runs on this machine (it holds the audit daemon slot); stop it to run this test`);
  }
  const dir = mkdtempSync(join(tmpdir(), `auditflow-auditd-${format.toLowerCase()}-`));
  const logFile = join(dir, 'log', 'audit.log');
  mkdirSync(join(dir, 'log'), { mode: 0o700 });
  mkdirSync(join(dir, 'plugins'), { mode: 0o700 });
  // auditd refuses a config file that is not root's or that others can write.
  writeFileSync(join(dir, 'auditd.conf'), configText(logFile, join(dir, 'plugins'), format), { mode: 0o640 });
  const child: ChildProcess = spawn(auditdPath, ['-n', '-c', dir], { env: auditPackageEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const done = finished(child);
  const pid = child.pid ?? -1;
  let exited: Finished | undefined;
  void done.then((result) => (exited = result));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`auditd exited at start (code ${exited.code}, signal ${exited.signal}): ${exited.stderr}${exited.stdout}`);
    if ((await control.status()).pid === pid) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await done;
      throw new Error(`auditd (pid ${pid}) did not register with the kernel within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopping: Promise<Finished> | undefined;
  return {
    pid,
    dir,
    logFile,
    stop() {
      stopping ??= (async () => {
        if (!exited) process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          return await done;
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}
