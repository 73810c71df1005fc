// Exit codes of every auditflow command; documented in auditflow(8) (generated from exitCodeMeanings)
// and docs/running.md's "Exit codes" table.
export const ExitCode = {
  ok: 0,
  /** An unexpected failure; the message says what happened. */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** Not root and without CAP_AUDIT_CONTROL / CAP_AUDIT_READ. */
  permission: 3,
  /** No usable kernel audit: CONFIG_AUDIT off, or not in the initial namespaces. */
  noAudit: 4,
  /** Another live process is the kernel's audit daemon. */
  slotTaken: 5,
  /** replay: an input file could not be opened or read (the flows before it were written). */
  noInput: 6,
  /** rules: a rules file has errors, or the kernel refused one of its rules; the message names FILE:LINE. */
  badRules: 7,
  /** rules: the kernel's audit configuration is immutable (enabled=2) until reboot, or -e 2 was not allowed. */
  immutable: 8,
  /** A configuration file, environment variable or flag has a bad value or an unknown key; the message names it. */
  badConfig: 9,
  /** Redis could not be reached or refused the credentials, where that stops the command. */
  redisUnavailable: 10,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, for the man page (src/cli/manual.ts). */
export const exitCodeMeanings: Record<ExitCodeValue, string> = {
  [ExitCode.ok]: 'success',
  [ExitCode.failure]: 'unexpected failure; the message says what happened',
  [ExitCode.usage]: 'bad command line',
  [ExitCode.permission]:
    "no permission: the kernel refused (not root, or missing CAP_AUDIT_CONTROL; CAP_AUDIT_READ for multicast), or the daemon's user cannot write a directory it needs (the message names it)",
  [ExitCode.noAudit]: 'no usable kernel audit: a kernel without CONFIG_AUDIT, or not in the initial user/network namespace',
  [ExitCode.slotTaken]: "another live process is the kernel's audit daemon; the message names its pid and command",
  [ExitCode.noInput]: 'replay: an input file could not be opened or read (the flows before it were written)',
  [ExitCode.badRules]: 'rules: a rules file has errors (each printed as FILE:LINE: reason; nothing is applied), or the kernel refused one of its rules',
  [ExitCode.immutable]: "rules: the kernel's audit configuration is immutable (enabled=2) until reboot, or a file says -e 2 without --allow-immutable",
  [ExitCode.badConfig]:
    'a configuration file, AUDITFLOW_* variable or flag has a bad value or an unknown key (the message names the key and where it was set), or a setting cannot be used as given (an unsafe spool directory, a metrics address in use)',
  [ExitCode.redisUnavailable]: 'Redis could not be reached, or refused the credentials, where that stops the command (tail; run with redis_required = true)',
};
