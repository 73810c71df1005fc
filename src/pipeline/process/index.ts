// The process stage: what /proc and the user database say about the process behind a flow.
// The daemon builds one with createProcessResolver(config) and passes it to the Pipeline as
// `processContext`; replay runs without it (see docs/flows.md, "Process context").
import { ProcessConfigError } from './errors.js';
import { BUILT_IN_LABELS, LabelRules, type LabelRule } from './labels.js';
import { PROCTITLE_MAX_BYTES, ProcessResolver } from './resolver.js';
import { UserNames } from './user-names.js';

export { cgroupContext, parseCgroupFile, unescapeUnitName, type CgroupContext, type CgroupLine, type ContainerRuntime } from './cgroup.js';
export { LruTtlCache, processKey } from './cache.js';
export { ProcessConfigError } from './errors.js';
export { exeGlob, LabelRules, type LabelRule } from './labels.js';
export { capArgs, cmdlineArgv, readProcLink, SlowProcReader, type BoundedArgv, type SlowProcFiles } from './proc-files.js';
export { parseProcStat, readBootTimeMs, readProcStat, startTimeMs, USER_HZ, type ProcStat } from './proc-stat.js';
export { ProcessResolver, type ProcessResolverOptions, type ProcessResolverStats } from './resolver.js';
export { ID_UNSET, UserNames, type UserNamesOptions } from './user-names.js';

/** The daemon's settings for the process stage; every one optional (defaults in brackets). */
export interface ProcessContextConfig {
  /** [/proc] */
  procRoot?: string;
  /** [/etc/passwd] */
  passwdPath?: string;
  /** [/etc/group] */
  groupPath?: string;
  /** Processes cached [16384]. */
  cacheSize?: number;
  /** Re-read a cached process's /proc data after this long, ms [60000]. */
  ttlMs?: number;
  /** A flow waits at most this long for its process's cgroup and cmdline (read in a worker thread), ms [250]. */
  lookupTimeoutMs?: number;
  /** Bytes of a command line kept (its arguments joined by NUL) [4096]. */
  argvMaxBytes?: number;
  /** Arguments of a command line kept [64]. */
  argvMaxArgs?: number;
  /** Estimated bytes of the process cache [32 MiB]. */
  cacheMaxBytes?: number;
  /** Label rules: `{ key: 'auditflow-connect', label: 'net' }`, `{ exe: '/usr/bin/apt*', label: 'software_mgmt' }`. */
  labels?: LabelRule[];
}

function positive(name: string, value: number | undefined, allowZero: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ProcessConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${JSON.stringify(value)}`);
  }
}

/** Builds the resolver from config; a setting it cannot use throws a ProcessConfigError naming it. */
export function createProcessResolver(config: ProcessContextConfig = {}): ProcessResolver {
  positive('cacheSize', config.cacheSize, false);
  positive('ttlMs', config.ttlMs, true);
  positive('lookupTimeoutMs', config.lookupTimeoutMs, false);
  positive('cacheMaxBytes', config.cacheMaxBytes, false);
  if (config.argvMaxBytes !== undefined && !(Number.isInteger(config.argvMaxBytes) && config.argvMaxBytes >= PROCTITLE_MAX_BYTES)) {
    // Below the kernel's PROCTITLE bound, a cut PROCTITLE could not be told from a longer /proc one.
    throw new ProcessConfigError(`argvMaxBytes must be a whole number of at least ${PROCTITLE_MAX_BYTES}, got ${JSON.stringify(config.argvMaxBytes)}`);
  }
  if (config.argvMaxArgs !== undefined && !(Number.isInteger(config.argvMaxArgs) && config.argvMaxArgs >= 1)) {
    throw new ProcessConfigError(`argvMaxArgs must be a whole number of at least 1, got ${JSON.stringify(config.argvMaxArgs)}`);
  }
  if (config.cacheSize !== undefined && !Number.isInteger(config.cacheSize)) throw new ProcessConfigError(`cacheSize must be a whole number, got ${config.cacheSize}`);
  const labels = new LabelRules([...(config.labels ?? []), ...BUILT_IN_LABELS]);
  const users = new UserNames({ passwdPath: config.passwdPath, groupPath: config.groupPath });
  try {
    return new ProcessResolver({ procRoot: config.procRoot, users, labels, cacheSize: config.cacheSize, cacheMaxBytes: config.cacheMaxBytes, argvMaxBytes: config.argvMaxBytes, argvMaxArgs: config.argvMaxArgs, ttlMs: config.ttlMs, lookupTimeoutMs: config.lookupTimeoutMs });
  } catch (error) {
    throw new ProcessConfigError(`procRoot ${config.procRoot ?? '/proc'}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
