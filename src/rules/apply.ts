// Applies compiled rules files through the control plane. Everything is checked before the
// kernel is touched: an immutable kernel, -e 2 without an explicit allowance, and commands
// auditflow cannot send fail with nothing changed. Then, in file order: rules already loaded
// are skipped (so a second apply of the same files changes nothing), rules an earlier apply
// added that the files no longer contain are removed first, and -D, -d and the settings are
// carried out as auditctl -R would. Rules are compared by identity, not by raw bytes (see
// ruleIdentity). The state file records what auditflow added.
import type { AuditControl } from '../audit/control.js';
import { AuditRequestError } from '../audit/errors.js';
import type { AuditSettings } from '../audit/status.js';
import type { Machine } from '../linux/arch.js';
import { decodeRule } from './decode.js';
import { encodeRule } from './encode.js';
import { RuleError, type SourcePosition } from './errors.js';
import { formatRule } from './format.js';
import type { Command, Rule } from './rule.js';
import { ruleKeys } from './rule.js';
import type { AppliedRule, AppliedState } from './state.js';

/** The kernel's audit configuration is locked (enabled=2) until reboot. */
export class RulesImmutableError extends RuleError {
  override name = 'RulesImmutableError';
}

/** The kernel refused a command of a rules file; `code` is its errno name. */
export class RulesApplyError extends RuleError {
  override name = 'RulesApplyError';
  constructor(
    message: string,
    readonly source: SourcePosition,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface ApplyOptions {
  readonly machine: Machine;
  /** Apply -e 2, last. Without it a file that says -e 2 is refused before anything changes. */
  readonly allowImmutable?: boolean;
  /** What earlier applies added. */
  readonly state: AppliedState;
  /** Called with the new state after every change, and once at the end. */
  readonly saveState: (state: AppliedState) => void;
}

/** Said once when a kernel without the io_uring filter list (before 5.16) refused its rules. */
export const URING_SKIPPED = 'this kernel has no io_uring audit list (Linux 5.16+): the io_uring rules were skipped, io_uring network operations are not seen';

export interface ApplyResult {
  added: number;
  alreadyLoaded: number;
  removedStale: number;
  deleted: number;
  settings: number;
  /** Kernel refusals passed over because of -i or -c. */
  errors: RulesApplyError[];
  /** True when -c let the run go on past an error: it still fails at the end. */
  failed: boolean;
  /**
   * io_uring-list rules a kernel without that list refused (before Linux 5.16, kernel/auditfilter.c
   * audit_to_entry_common: EINVAL for a list number >= AUDIT_NR_FILTERS), skipped: the rest of the
   * ruleset still applies. Their source positions.
   */
  skippedUring: string[];
}

/**
 * The kernel lists a rule with the bytes it was given, minus the prepend flag (-A), and two
 * tools may lay out an equal rule's string buffer differently; the identity is the bytes
 * auditflow would send for the decoded rule, appended, or the raw bytes if they do not decode.
 */
export function ruleIdentity(bytes: Buffer): string {
  try {
    return encodeRule({ ...decodeRule(bytes), prepend: false }).toString('hex');
  } catch (error) {
    if (error instanceof RuleError) return bytes.toString('hex');
    throw error;
  }
}

const identityOfRule = (rule: Rule): string => encodeRule({ ...rule, prepend: false }).toString('hex');
const where = (source: SourcePosition): string => `${source.file}:${source.line}`;

export async function applyCommands(control: AuditControl, commands: readonly Command[], options: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { added: 0, alreadyLoaded: 0, removedStale: 0, deleted: 0, settings: 0, errors: [], failed: false, skippedUring: [] };

  // Check everything first.
  if ((await control.status()).enabled === 2) {
    throw new RulesImmutableError(
      'the kernel audit configuration is immutable (enabled=2, set by -e 2) until reboot: no rule or setting can change; ' +
        'edit the rules files and reboot to apply them',
    );
  }
  const immutable = commands.find((command) => command.kind === 'set_immutable');
  if (immutable && !options.allowImmutable) {
    throw new RulesImmutableError(
      `${where(immutable.source)}: -e 2 would lock the audit configuration until reboot; pass --allow-immutable to apply it (nothing was changed)`,
    );
  }
  const unsupported = commands.find((command) => command.kind === 'set_loginuid_immutable');
  if (unsupported) {
    throw new RulesApplyError(`${where(unsupported.source)}: --loginuid-immutable is not supported by auditflow (nothing was changed)`, unsupported.source, 'ENOTSUP');
  }
  const wanted = new Set(commands.flatMap((command) => (command.kind === 'add_rule' ? [identityOfRule(command.rule)] : [])));

  // The kernel's list as identities -> the bytes to delete it with.
  const loaded = new Map<string, Buffer>();
  for (const bytes of await control.listRules()) loaded.set(ruleIdentity(bytes), bytes);
  const ours = new Map<string, AppliedRule>(options.state.rules.map((rule) => [rule.identity, rule]));
  const save = (): void => options.saveState({ rules: [...ours.values()] });

  let mode: 'stop' | 'ignore' | 'continue' = 'stop';
  const refused = (error: unknown, source: SourcePosition, what: string): void => {
    if (!(error instanceof AuditRequestError)) throw error;
    const reason =
      error.code === 'EEXIST'
        ? 'rule already loaded (the kernel holds an equal rule)'
        : error.code === 'EPERM' || error.code === 'EACCES'
          ? `the kernel refused (${error.code}): run as root, or with CAP_AUDIT_CONTROL`
          : `the kernel refused ${what}: ${error.message}`;
    const failure = new RulesApplyError(`${where(source)}: ${reason}`, source, error.code);
    if (mode === 'stop' || error.code === 'EPERM' || error.code === 'EACCES') throw failure;
    result.errors.push(failure);
    if (mode === 'continue') result.failed = true;
  };
  const setting = async (command: Command, settings: AuditSettings): Promise<void> => {
    try {
      await control.set(settings);
      result.settings++;
    } catch (error) {
      refused(error, command.source, 'the setting');
    }
  };

  try {
    for (const identity of [...ours.keys()]) {
      if (wanted.has(identity)) continue;
      const bytes = loaded.get(identity);
      if (bytes) {
        await control.deleteRule(bytes);
        loaded.delete(identity);
        result.removedStale++;
      }
      ours.delete(identity);
      save();
    }

    const seen = new Map<string, SourcePosition>();
    for (const command of commands) {
      switch (command.kind) {
        case 'ignore_errors':
          mode = 'ignore';
          break;
        case 'continue_on_error':
          mode = 'continue';
          break;
        case 'add_rule': {
          const identity = identityOfRule(command.rule);
          const earlier = seen.get(identity);
          if (earlier) {
            refused(new AuditRequestError('AUDIT_ADD_RULE', -17, 'EEXIST'), command.source, 'the rule');
            break;
          }
          seen.set(identity, command.source);
          if (loaded.has(identity)) {
            result.alreadyLoaded++;
            break;
          }
          const bytes = encodeRule(command.rule);
          try {
            await control.addRule(bytes);
          } catch (error) {
            if (command.rule.list === 'io_uring' && error instanceof AuditRequestError && error.code === 'EINVAL') {
              result.skippedUring.push(where(command.source));
              break;
            }
            refused(error, command.source, 'the rule');
            break;
          }
          loaded.set(identity, encodeRule({ ...command.rule, prepend: false }));
          ours.set(identity, { identity, source: where(command.source), text: formatRule(command.rule, { machine: options.machine }) });
          save();
          result.added++;
          break;
        }
        case 'delete_rule': {
          // A rule that is not loaded is already where -d wants it: applying twice stays quiet.
          const identity = identityOfRule(command.rule);
          const bytes = loaded.get(identity);
          if (!bytes) break;
          try {
            await control.deleteRule(bytes);
          } catch (error) {
            refused(error, command.source, 'the deletion');
            break;
          }
          loaded.delete(identity);
          ours.delete(identity);
          save();
          result.deleted++;
          break;
        }
        case 'delete_all':
          for (const [identity, bytes] of [...loaded]) {
            if (command.key !== undefined && !keysOf(bytes).includes(command.key)) continue;
            try {
              await control.deleteRule(bytes);
            } catch (error) {
              refused(error, command.source, 'the deletion');
              continue;
            }
            loaded.delete(identity);
            ours.delete(identity);
            result.deleted++;
          }
          save();
          break;
        case 'set_backlog_limit':
          await setting(command, { backlogLimit: command.value });
          break;
        case 'set_backlog_wait_time':
          await setting(command, { backlogWaitTime: command.value });
          break;
        case 'set_rate_limit':
          await setting(command, { rateLimit: command.value });
          break;
        case 'set_failure':
          await setting(command, { failure: command.value });
          break;
        case 'set_enabled':
          await setting(command, { enabled: command.value });
          break;
        case 'reset_lost':
          try {
            await control.resetLost();
            result.settings++;
          } catch (error) {
            refused(error, command.source, 'the lost reset');
          }
          break;
        case 'set_immutable':
        case 'set_loginuid_immutable':
          break;
      }
    }

    // Last, so that nothing above is locked out by it.
    if (immutable && options.allowImmutable) {
      try {
        await control.setImmutable();
        result.settings++;
      } catch (error) {
        refused(error, immutable.source, '-e 2');
      }
    }
  } finally {
    save();
  }
  return result;
}

function keysOf(bytes: Buffer): string[] {
  try {
    return ruleKeys(decodeRule(bytes));
  } catch (error) {
    if (error instanceof RuleError) return [];
    throw error;
  }
}

/**
 * Removes the rules auditflow added, or with `all` every rule (auditctl -D). Returns how many
 * were deleted. An immutable kernel is refused before anything changes.
 */
export async function clearRules(
  control: AuditControl,
  options: { all: boolean; state: AppliedState; saveState: (state: AppliedState) => void },
): Promise<number> {
  if ((await control.status()).enabled === 2) {
    throw new RulesImmutableError('the kernel audit configuration is immutable (enabled=2) until reboot: no rule can be removed');
  }
  const ours = new Set(options.state.rules.map((rule) => rule.identity));
  let deleted = 0;
  try {
    for (const bytes of await control.listRules()) {
      const identity = ruleIdentity(bytes);
      if (!options.all && !ours.has(identity)) continue;
      await control.deleteRule(bytes);
      ours.delete(identity);
      deleted++;
    }
    // Rules recorded as ours that someone else already removed are forgotten too.
    ours.clear();
  } finally {
    options.saveState({ rules: options.state.rules.filter((rule) => ours.has(rule.identity)) });
  }
  return deleted;
}
