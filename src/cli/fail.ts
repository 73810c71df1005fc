// Turns an error that ends a command into one line a person can act on and an exit code.
import { CommanderError } from 'commander';
import { AuditRequestError, AuditSlotTakenError } from '../audit/errors.js';
import { RulesApplyError, RulesImmutableError } from '../rules/index.js';
import { RedisConfigError, RedisRefusedError, RedisUnreachableError } from '../sink/redis-errors.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { ConfigError } from '../daemon/config.js';
import { RedisUnavailableError } from '../daemon/open-sink.js';
import { RulesFileError } from '../rules/ruleset.js';

export interface Failure {
  code: ExitCodeValue;
  message: string;
}

export function describeFailure(error: unknown): Failure {
  if (error instanceof ConfigError) return { code: ExitCode.badConfig, message: error.message };
  if (error instanceof RedisUnavailableError) return { code: ExitCode.redisUnavailable, message: error.message };
  if (error instanceof AuditSlotTakenError) return { code: ExitCode.slotTaken, message: error.message };
  if (error instanceof RulesImmutableError) return { code: ExitCode.immutable, message: error.message };
  if (error instanceof RulesApplyError) {
    return { code: error.code === 'EPERM' || error.code === 'EACCES' ? ExitCode.permission : ExitCode.badRules, message: error.message };
  }
  if (error instanceof RulesFileError) return { code: ExitCode.badRules, message: error.message };
  if (error instanceof RedisRefusedError || error instanceof RedisUnreachableError) return { code: ExitCode.redisUnavailable, message: error.message };
  if (error instanceof RedisConfigError) return { code: ExitCode.badConfig, message: error.message };
  // A combination of options commander cannot check itself (tail --group without --consumer).
  if (error instanceof CommanderError) return { code: ExitCode.usage, message: error.message };
  const code = error instanceof AuditRequestError ? error.code : (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EPERM':
    case 'EACCES': {
      // A file or directory the daemon cannot write (state_dir, spool_dir, runtime_dir), not the kernel.
      const path = (error as NodeJS.ErrnoException).path;
      if (!(error instanceof AuditRequestError) && path !== undefined) {
        return { code: ExitCode.permission, message: `cannot ${(error as NodeJS.ErrnoException).syscall ?? 'use'} ${path} (${code}): run as root, or give the daemon's user that directory` };
      }
      return {
        code: ExitCode.permission,
        message: `the kernel refused (${code}): run as root, or with CAP_AUDIT_CONTROL (and CAP_AUDIT_READ for --mode multicast)`,
      };
    }
    case 'EPROTONOSUPPORT':
    case 'EAFNOSUPPORT':
      return { code: ExitCode.noAudit, message: `this kernel has no audit support (${code}): it needs CONFIG_AUDIT=y and CONFIG_AUDITSYSCALL=y` };
    case 'ECONNREFUSED':
      return {
        code: ExitCode.noAudit,
        message: 'the kernel refused the audit socket (ECONNREFUSED): kernel audit works only from the initial user and network namespaces',
      };
    default:
      return { code: ExitCode.failure, message: error instanceof Error ? error.message : String(error) };
  }
}
