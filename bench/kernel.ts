// The benchmark's hold on the kernel: the project's kernel lock for the whole run, a snapshot of the
// audit state taken first and put back after every run (and on Ctrl-C), and the ruleset and backlog
// settings for the consumers that do not load them themselves (the drain ceiling and auditd).
import { AuditControl } from '../src/audit/control.js';
import { acquireKernelLock, type KernelLock } from '../src/audit/kernel-lock.js';
import type { AuditStatus } from '../src/audit/status.js';
import { restoreAuditState, snapshotAuditState, type AuditStateSnapshot } from '../src/audit/state-guard.js';
import { settingSpec } from '../src/daemon/settings.js';
import { encodeRule } from '../src/rules/index.js';
import { compileFiles, errorSummary, rulesetFiles } from '../src/rules/ruleset.js';
import type { Mode } from './options.js';

/** auditflow's own defaults, given to every consumer so they all run under the same kernel settings. */
function daemonDefault(key: 'backlog_limit' | 'backlog_wait_time'): number {
  const spec = settingSpec(key);
  if (spec === undefined) throw new Error(`no setting ${key}`);
  return spec.parse(spec.defaultText) as number;
}

export const BACKLOG_LIMIT = daemonDefault('backlog_limit');
export const BACKLOG_WAIT_TIME = daemonDefault('backlog_wait_time');

/** The ruleset of a mode's runs: `default`, or `default,optional:udp-ingress` for recv (the daemon's `rules` setting). */
export const rulesSetting = (mode: Mode): string => (mode === 'recv' ? 'default,optional:udp-ingress' : 'default');

/** A mode's ruleset as kernel bytes, compiled by auditflow's compiler (auditctl is not needed). */
export function benchRules(mode: Mode): Buffer[] {
  const compiled = compileFiles(rulesetFiles(rulesSetting(mode)));
  if (compiled.some((file) => file.errors.length > 0)) throw new Error(`${rulesSetting(mode)}: ${errorSummary(compiled)}`);
  return compiled.flatMap((file) => file.commands).flatMap((command) => (command.kind === 'add_rule' ? [encodeRule(command.rule)] : []));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class BenchKernel {
  private constructor(
    private readonly lock: KernelLock,
    readonly control: AuditControl,
    private readonly snapshot: AuditStateSnapshot,
  ) {}

  /** Waits for the project's kernel lock (other engineers' kernel tests hold it while they run). */
  static async open(onWait: () => void): Promise<BenchKernel> {
    const waiting = setTimeout(onWait, 1000);
    const lock = await acquireKernelLock({ timeoutMs: 30 * 60_000 }).finally(() => clearTimeout(waiting));
    let control: AuditControl | undefined;
    try {
      control = AuditControl.open();
      const snapshot = await snapshotAuditState(control);
      if (snapshot.status.pid !== 0 && isAlive(snapshot.status.pid)) {
        throw new Error(`pid ${snapshot.status.pid} is the kernel's audit daemon: stop it first (for auditd: systemctl stop auditd); the benchmark needs the slot`);
      }
      return new BenchKernel(lock, control, snapshot);
    } catch (error) {
      await control?.close();
      lock.release();
      throw error;
    }
  }

  status(): Promise<AuditStatus> {
    return this.control.status();
  }

  /** The ruleset and backlog settings, with auditing still off (enable() turns it on). */
  async loadRules(rules: readonly Buffer[]): Promise<void> {
    await this.control.set({ backlogLimit: BACKLOG_LIMIT, backlogWaitTime: BACKLOG_WAIT_TIME });
    for (const rule of rules) await this.control.addRule(rule);
  }

  async enable(on: boolean): Promise<void> {
    await this.control.set({ enabled: on ? 1 : 0 });
  }

  /**
   * Back to the snapshot. A consumer that died registered keeps the slot until the kernel next fails
   * to deliver to it, and only the holder may unregister: registering here (which makes the kernel
   * test the dead holder and drop it) and unregistering frees it.
   */
  async restore(): Promise<void> {
    const { pid } = await this.control.status();
    if (pid !== 0 && pid !== this.snapshot.status.pid && !isAlive(pid)) {
      await this.control.register();
      await this.control.unregister();
    }
    await restoreAuditState(this.control, this.snapshot);
  }

  async close(): Promise<void> {
    try {
      await this.restore();
    } finally {
      await this.control.close();
      this.lock.release();
    }
  }
}
