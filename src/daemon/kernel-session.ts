// The daemon's side of the kernel: the socket records arrive on, the daemon slot, the settings, the
// ruleset and the rule that keeps the daemon from auditing itself; and putting all of it back at stop.
//
// Two control sockets: registration binds the daemon slot to the socket that sent it, so the reader
// socket registers; everything else (rules, settings, status polls) goes over a socket of its own, so
// a slow request never interleaves with the reader's replies.
import { AuditControl } from '../audit/control.js';
import { AuditSlotTakenError } from '../audit/errors.js';
import { isProcessAlive } from '../audit/process-info.js';
import { AuditSocket } from '../audit/socket.js';
import type { AuditStatus } from '../audit/status.js';
import type { AuditBinding } from '../native/binding.js';
import type { RecordBatch } from '../native/record-batch.js';
import { lookupCalls } from '../pipeline/socket-calls.js';
import {
  applyCommands,
  clearRules,
  machineFromNodeArch,
  readAppliedState,
  ruleIdentity,
  URING_SKIPPED,
  writeAppliedState,
  type ApplyResult,
  type Command,
} from '../rules/index.js';
import { compileFiles, errorSummary, RulesFileError, rulesetFiles } from '../rules/ruleset.js';
import { listedSelfRules, selfRuleBytes } from '../rules/self-rule.js';
import type { Logger } from './logger.js';
import type { Settings } from './settings.js';

/** The key of the rule that excludes the daemon's own pid; a stale one (of a killed daemon) is removed at start. */
// How long a stop waits for the kernel to send what it queued before giving the daemon slot back.
const QUEUE_DRAIN_MAX_MS = 500;

export { SELF_RULE_KEY } from '../rules/self-rule.js';

export interface KernelSessionOptions {
  settings: Settings;
  log: Logger;
  onBatch: (batch: RecordBatch) => void;
  onReadError: (error: NodeJS.ErrnoException) => void;
  /** Take the daemon slot from a live holder (SIGTERM, then SIGKILL). */
  force: boolean;
  binding?: AuditBinding;
  /** The pid the self-exclusion rule names (tests: another process's). */
  pid?: number;
}

export interface StartReport {
  immutable: boolean;
  rules: ApplyResult | undefined;
  /** undefined for a multicast reader the kernel does not answer (below). */
  status: AuditStatus | undefined;
}

/** Compiles the configured ruleset; a bad line anywhere throws before the kernel is touched. */
export function compileRuleset(path: string): { files: string[]; commands: Command[] } {
  const files = rulesetFiles(path);
  const compiled = compileFiles(files);
  const errors = compiled.flatMap((c) => c.errors);
  if (errors.length > 0) {
    throw new RulesFileError(`${errors.map((e) => e.message).join('; ')} (${errorSummary(compiled)}; nothing was applied)`);
  }
  return { files, commands: compiled.flatMap((c) => c.commands) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The audit socket's receive buffer asked for: records the kernel queues while the daemon is busy. */
const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;

/**
 * The buffer obtained, logged. getsockopt(SO_RCVBUF) answers twice the size set (socket(7): the
 * kernel doubles it for its bookkeeping). SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it the
 * addon falls back to SO_RCVBUF, which the kernel caps at net.core.rmem_max.
 */
export function logReceiveBuffer(log: Logger, obtained: number, asked = RECEIVE_BUFFER_BYTES): void {
  if (obtained >= 2 * asked) {
    log.info({ asked, obtained }, 'audit socket receive buffer');
    return;
  }
  log.warn({ asked, obtained }, `the audit socket got a smaller receive buffer than asked (SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF stops at net.core.rmem_max): bursts may overflow it (counted as enobufs); set sysctl net.core.rmem_max=${asked} or grant CAP_NET_ADMIN`);
}

export class KernelSession {
  readonly reader: AuditSocket;
  /** Rules, settings and status, on a socket of its own. */
  readonly control: AuditControl;
  private readonly readerControl: AuditControl | undefined;
  private readonly log: Logger;
  private readonly pid: number;
  private settings: Settings;
  private registered = false;
  /** Identity (see ruleIdentity) of the self-exclusion rule this session added. */
  private selfRule: string | undefined;
  /** `enabled` before the daemon turned auditing on, to put back at stop. */
  private enabledBefore: number | undefined;
  private rulesApplied = false;
  immutable = false;

  constructor(private readonly options: KernelSessionOptions) {
    this.settings = options.settings;
    this.log = options.log;
    this.pid = options.pid ?? process.pid;
    this.reader = new AuditSocket({
      mode: options.settings.mode,
      binding: options.binding,
      rcvbuf: RECEIVE_BUFFER_BYTES,
      maxQueueBytes: options.settings.reader_queue_max_bytes,
      onBatch: options.onBatch,
      // The addon looks up the socket of each socket call as soon as it reads the record (src/native/socket-lookups.ts).
      lookupCalls: lookupCalls(),
      selfPid: this.pid,
      deliveryDelayMs: options.settings.reader_delivery_ms,
      onError: options.onReadError,
    });
    logReceiveBuffer(this.log, this.reader.receiveBufferSize);
    this.readerControl = options.settings.mode === 'unicast' ? new AuditControl(this.reader) : undefined;
    this.control = AuditControl.open({ binding: options.binding });
  }

  /**
   * Unicast: takes the slot, sets the backlog, applies the ruleset, excludes the daemon's pid and turns
   * auditing on. Multicast: only asks the kernel's status, and goes on without it where the kernel
   * refuses. An immutable kernel keeps its rules and settings; the daemon registers and reads what they produce.
   */
  async start(): Promise<StartReport> {
    if (this.settings.mode === 'multicast') return this.startMulticast();
    const status = await this.control.status();
    this.immutable = status.enabled === 2;
    // Compile before anything changes, so a bad ruleset refuses the start with the kernel untouched.
    const ruleset = this.settings.apply_rules && !this.immutable ? compileRuleset(this.settings.rules) : undefined;

    await this.takeSlot();
    if (this.immutable) {
      this.log.warn({ rules: (await this.control.listRules()).length }, 'the kernel audit configuration is immutable (enabled=2): running with the rules already loaded');
      return { immutable: true, rules: undefined, status };
    }
    await this.control.set({ backlogLimit: this.settings.backlog_limit, backlogWaitTime: this.settings.backlog_wait_time });
    await this.removeStaleSelfRules();
    const rules = ruleset === undefined ? undefined : await this.apply(ruleset.commands);
    if (status.enabled === 0) {
      this.enabledBefore = 0;
      await this.control.set({ enabled: 1 });
    }
    // Last, with auditing on: the kernel logs the rule's CONFIG_CHANGE to this daemon
    // (kernel/auditfilter.c audit_log_rule_change() logs nothing while enabled=0), so the daemon
    // reads a record, and knows the serial its view starts at, even on a host where nothing else
    // is audited yet. Until then the ruleset cannot match the daemon: it opens no socket meanwhile.
    await this.ensureSelfRule();
    return { immutable: false, rules, status: await this.control.status() };
  }

  private async startMulticast(): Promise<StartReport> {
    let status: AuditStatus;
    try {
      status = await this.control.status();
    } catch (error) {
      // The kernel answers audit requests only from the initial pid namespace and with
      // CAP_AUDIT_CONTROL (kernel/audit.c audit_netlink_ok: EPERM); joining the multicast group needs
      // neither, only CAP_AUDIT_READ. So a reader in a container reads on, without the status.
      if ((error as { code?: string }).code !== 'EPERM') throw error;
      this.log.warn({}, "the kernel refuses this process its audit status (another pid namespace, or no CAP_AUDIT_CONTROL): reading the multicast group without it; the kernel's lost counter is not reported");
      return { immutable: false, rules: undefined, status: undefined };
    }
    this.immutable = status.enabled === 2;
    if (status.enabled === 0) this.log.warn({ enabled: 0 }, 'auditing is off (enabled=0): no record arrives until the audit daemon turns it on');
    return { immutable: this.immutable, rules: undefined, status };
  }

  /** SIGHUP: applies a changed ruleset while the reader keeps reading, so no event is missed. */
  async reload(settings: Settings): Promise<ApplyResult | undefined> {
    const ruleset = settings.apply_rules && settings.mode === 'unicast' && !this.immutable ? compileRuleset(settings.rules) : undefined;
    this.settings = { ...this.settings, rules: settings.rules, on_stop: settings.on_stop };
    if (ruleset === undefined) return undefined;
    const result = await this.apply(ruleset.commands);
    await this.ensureSelfRule();
    return result;
  }

  status(): Promise<AuditStatus> {
    return this.control.status();
  }

  /**
   * Puts the kernel back, each step on its own so one failure does not skip the rest: the ruleset
   * (on_stop=remove), the self-exclusion rule, `enabled`, then the slot. Rules go before the slot so
   * every event up to their removal still reaches the reader. Returns the failures.
   */
  async stop(startFailed = false): Promise<unknown[]> {
    const failures: unknown[] = [];
    const step = async (name: string, action: () => Promise<void>): Promise<void> => {
      try {
        await action();
      } catch (error) {
        failures.push(error);
        this.log.error({ step: name, err: error }, 'a stop step failed; going on with the rest');
      }
    };
    if (!this.immutable && this.settings.mode === 'unicast') {
      // A start that failed leaves nothing behind, whatever on_stop says.
      if (this.rulesApplied && (this.settings.on_stop === 'remove' || startFailed)) {
        await step('remove rules', async () => {
          const directory = this.settings.state_dir;
          const deleted = await clearRules(this.control, {
            all: false,
            state: readAppliedState(directory),
            saveState: (state) => writeAppliedState(directory, state),
          });
          this.log.info({ deleted }, 'removed the rules auditflow added (on_stop=remove)');
        });
      }
      if (this.selfRule !== undefined) {
        const identity = this.selfRule;
        // Deleted with the kernel's own listing of it: the kernel compares flags, and it drops the
        // prepend flag the rule was added with.
        await step('remove self-exclusion rule', async () => {
          for (const bytes of await this.control.listRules()) if (ruleIdentity(bytes) === identity) await this.control.deleteRule(bytes);
        });
      }
      if (this.enabledBefore !== undefined && (this.settings.on_stop === 'remove' || startFailed)) {
        const enabled = this.enabledBefore as 0 | 1;
        await step('restore enabled', () => this.control.set({ enabled }));
      }
    }
    if (this.registered && this.readerControl !== undefined) {
      // An event that began before the rules went may still sit in the kernel's queue, part of it
      // sent: given back now, the slot would leave the rest of it to kauditd's hold queue (an event
      // without its end, counted lost). So the slot is given back once the queue is empty.
      await step('let the kernel queue drain', () => this.queueDrained());
      const control = this.readerControl;
      await step('unregister', async () => {
        await control.unregister();
        this.registered = false;
      });
    }
    return failures;
  }

  /** Resolves when the kernel's backlog is empty (it has sent every queued record), or after QUEUE_DRAIN_MAX_MS. */
  private async queueDrained(): Promise<void> {
    const deadline = Date.now() + QUEUE_DRAIN_MAX_MS;
    while ((await this.control.status()).backlog > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Closes both sockets; the reader resolves after delivering everything it read. */
  async close(): Promise<void> {
    await Promise.allSettled([this.readerControl?.close(), this.reader.close(), this.control.close()]);
  }

  private async takeSlot(): Promise<void> {
    const control = this.readerControl;
    if (control === undefined) return;
    try {
      await control.register();
    } catch (error) {
      if (!(error instanceof AuditSlotTakenError) || !this.options.force || error.holderPid <= 0 || error.holderPid === process.pid) throw error;
      await this.evict(error.holderPid, error.holderCommand);
      await control.register();
    }
    this.registered = true;
  }

  /** --force: stops the live holder the way `systemctl stop auditd` would, then kills it if it lingers. */
  private async evict(holder: number, command: string | undefined): Promise<void> {
    this.log.warn({ holder, command }, 'taking the audit daemon slot by force (--force): sending SIGTERM to the process that holds it');
    const released = async (waitMs: number): Promise<boolean> => {
      for (let waited = 0; waited < waitMs; waited += 50) {
        if (!isProcessAlive(holder) || (await this.control.status()).pid !== holder) return true;
        await sleep(50);
      }
      return false;
    };
    process.kill(holder, 'SIGTERM');
    if (await released(5000)) return;
    this.log.warn({ holder, command }, 'the slot holder ignored SIGTERM for 5 s: sending SIGKILL');
    process.kill(holder, 'SIGKILL');
    await released(5000);
  }

  private async apply(commands: Command[]): Promise<ApplyResult> {
    const directory = this.settings.state_dir;
    // Before the first rule goes in: a refusal in the middle leaves rules loaded, and stop() must
    // take those out (the state file names them).
    this.rulesApplied = true;
    const result = await applyCommands(this.control, commands, {
      machine: machineFromNodeArch(),
      state: readAppliedState(directory),
      saveState: (state) => writeAppliedState(directory, state),
    });
    for (const error of result.errors) this.log.warn({ err: error.message }, 'the kernel refused a rule; the ruleset asked to go on (-i or -c)');
    if (result.skippedUring.length > 0) this.log.warn({ rules: result.skippedUring }, URING_SKIPPED);
    if (result.failed) throw new RulesFileError(`the kernel refused ${result.errors.length} rule(s) of the ruleset`);
    return result;
  }

  /** Self-exclusion rules of daemons that were killed before they could remove theirs. */
  private async removeStaleSelfRules(): Promise<void> {
    for (const { bytes, rule } of await listedSelfRules(this.control)) {
      await this.control.deleteRule(bytes);
      this.log.info({ rule }, 'removed the self-exclusion rule of an earlier auditflow');
    }
  }

  private async ensureSelfRule(): Promise<void> {
    const rule = selfRuleBytes(this.pid);
    const identity = ruleIdentity(rule);
    this.selfRule = identity;
    if ((await this.control.listRules()).some((bytes) => ruleIdentity(bytes) === identity)) return;
    await this.control.addRule(rule);
  }
}
