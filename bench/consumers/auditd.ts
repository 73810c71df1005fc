// Debian's auditd, side by side: run in the foreground (-n, as systemd runs it) with a private
// configuration whose log goes to a temporary directory. Everything that decides its cost per event
// is Debian's default (log_format ENRICHED, flush INCREMENTAL_ASYNC every 50 records,
// priority_boost 4); only paths, log rotation and the disk-space actions differ, so a benchmark
// never rotates, suspends or mails. It loads no rules: the driver loads rules/network.rules and
// turns auditing on, as for the drain ceiling (-s nochange).
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnGroup } from '../processes.js';
import type { ConsumerFigures, RunningConsumer } from './types.js';

export interface AuditdBinary {
  path: string;
  env: NodeJS.ProcessEnv;
  version: string;
}

/** How a person gets auditd for the benchmark, printed when it is missing. */
export const AUDITD_HINT =
  'auditd is not available: run scripts/fetch-auditd.sh (unpacks Debian\'s auditd into .cache/auditd without installing it), ' +
  'or install it (apt-get install auditd; then systemctl disable --now auditd, since the benchmark needs the daemon slot) and pass --auditd /sbin/auditd';

/**
 * The auditd to run: --auditd PATH, or Debian's, unpacked into .cache/auditd by
 * scripts/fetch-auditd.sh (run here when the cache is missing). Undefined when there is none.
 */
export function findAuditd(root: string, explicit: string): AuditdBinary | undefined {
  const cache = join(root, '.cache', 'auditd');
  const multiarch = spawnSync('dpkg-architecture', ['-qDEB_HOST_MULTIARCH'], { encoding: 'utf8' }).stdout?.trim() || `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  let path = explicit;
  let env = process.env;
  if (path === '') {
    path = join(cache, 'sbin', 'auditd');
    if (!existsSync(path)) spawnSync('bash', [join(root, 'scripts', 'fetch-auditd.sh')], { stdio: 'inherit' });
    if (!existsSync(path)) return undefined;
    env = { ...process.env, LD_LIBRARY_PATH: [join(cache, 'lib', multiarch), join(cache, 'usr', 'lib', multiarch)].join(':') };
  }
  // auditd has no --version; auditctl beside it has, and comes from the same package.
  const auditctl = join(path, '..', 'auditctl');
  const version = existsSync(auditctl) ? spawnSync(auditctl, ['-v'], { encoding: 'utf8', env }).stdout?.trim() ?? '' : '';
  // Loads its libraries and prints its usage: proof that it runs here.
  const probe = spawnSync(path, ['-x'], { encoding: 'utf8', env });
  if (!`${probe.stderr}`.includes('Usage')) return undefined;
  return { path, env, version: version === '' ? 'unknown version' : version };
}

function configuration(directory: string): string {
  return `# auditd.conf for the benchmark: Debian 12's defaults, except the paths, rotation and disk-space actions.
local_events = yes
write_logs = yes
log_file = ${join(directory, 'audit.log')}
log_group = root
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 8
num_logs = 5
priority_boost = 4
name_format = NONE
max_log_file_action = IGNORE
space_left = 75
space_left_action = IGNORE
verify_email = no
action_mail_acct = root
admin_space_left = 50
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
use_libwrap = no
tcp_listen_queue = 5
tcp_max_per_addr = 1
tcp_client_max_idle = 0
transport = TCP
distribute_network = no
q_depth = 2000
overflow_action = SYSLOG
max_restarts = 10
plugin_dir = ${join(directory, 'plugins.d')}
end_of_event_timeout = 2
`;
}

const SERIAL = /msg=audit\(\d+\.\d+:(\d+)\)/;

/** Distinct serials, the gaps between them, and the SYSCALL records of one executable, line by line. */
export class AuditLogScan {
  private readonly serials = new Set<number>();
  private min = Infinity;
  private max = -Infinity;
  private exeEvents = 0;
  private readonly exeField: string;

  constructor(exe: string) {
    this.exeField = ` exe="${exe}"`;
  }

  line(text: string): void {
    // auditd's own records (DAEMON_START, DAEMON_END, ...) carry auditd's serials, not the kernel's.
    if (text.startsWith('type=DAEMON_')) return;
    const match = SERIAL.exec(text);
    if (match === null) return;
    const serial = Number(match[1]);
    this.serials.add(serial);
    if (serial < this.min) this.min = serial;
    if (serial > this.max) this.max = serial;
    if (text.startsWith('type=SYSCALL ') && text.includes(this.exeField)) this.exeEvents++;
  }

  result(): { events: number; serialGaps: number; exeEvents: number } {
    const events = this.serials.size;
    return { events, serialGaps: events === 0 ? 0 : this.max - this.min + 1 - events, exeEvents: this.exeEvents };
  }
}

async function scanLogFile(path: string, exe: string): Promise<ReturnType<AuditLogScan['result']>> {
  const scan = new AuditLogScan(exe);
  if (existsSync(path)) {
    // Streamed: a saturated run writes hundreds of megabytes.
    for await (const line of createInterface({ input: createReadStream(path, { encoding: 'latin1' }), crlfDelay: Infinity })) scan.line(line);
  }
  return scan.result();
}

export async function startAuditd(binary: AuditdBinary, directory: string, workloadExe: string, registered: (pid: number) => Promise<boolean>): Promise<RunningConsumer> {
  mkdirSync(join(directory, 'plugins.d'), { recursive: true, mode: 0o750 });
  // auditd refuses a configuration file that is not root's or that others may write.
  writeFileSync(join(directory, 'auditd.conf'), configuration(directory), { mode: 0o640 });
  const log = join(directory, 'audit.log');
  const child = spawnGroup(binary.path, ['-n', '-s', 'nochange', '-c', directory], { env: binary.env });
  const deadline = Date.now() + 10_000;
  while (!(await registered(child.pid))) {
    if (!child.isRunning()) throw new Error(`auditd exited before it registered: ${child.stderr().trim()}`);
    if (Date.now() > deadline) {
      await child.stop(2000);
      throw new Error(`auditd did not register as the audit daemon within 10 s: ${child.stderr().trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    pid: child.pid,
    // Log bytes do not say how many events are still to come: a longer stillness is the sign.
    settleMs: 1000,
    done: async () => true,
    async progress() {
      return existsSync(log) ? statSync(log).size : 0;
    },
    async finish(): Promise<ConsumerFigures> {
      const exit = await child.stop(10_000);
      if (exit.code !== 0) throw new Error(`auditd exited with ${exit.signal ?? exit.code}: ${child.stderr().trim()}`);
      const scan = await scanLogFile(log, workloadExe);
      return { events: scan.events, serialGaps: scan.serialGaps, workloadEvents: scan.exeEvents };
    },
    async abort() {
      await child.stop(2000);
    },
  };
}
