// Exit codes of every auditflow command; documented in the README's "Exit codes" table.
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
