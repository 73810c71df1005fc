// The audit control plane's closed set of errors. Each carries what a person needs to act.

export class AuditError extends Error {
  override name = 'AuditError';
}

/** send() or a request on a socket that close() already ended. */
export class AuditSocketClosedError extends AuditError {
  override name = 'AuditSocketClosedError';
}

/** The kernel answered a request with a negative errno in its NLMSG_ERROR reply. */
export class AuditRequestError extends AuditError {
  override name = 'AuditRequestError';
  constructor(
    readonly request: string,
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${request} failed: ${code} (${describeErrno(code, request)})`);
  }
}

/** No reply to a request within the timeout. */
export class AuditTimeoutError extends AuditError {
  override name = 'AuditTimeoutError';
}

/** Another live process is the registered audit daemon (the kernel answered EEXIST). */
export class AuditSlotTakenError extends AuditError {
  override name = 'AuditSlotTakenError';
  constructor(
    readonly holderPid: number,
    readonly holderCommand: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

function describeErrno(code: string, request: string): string {
  switch (code) {
    case 'EPERM':
      return 'operation not permitted: needs root or CAP_AUDIT_CONTROL';
    case 'EACCES':
      return 'permission denied';
    case 'EEXIST':
      return 'already exists';
    case 'ENOENT':
      // Deleting: the rule is not loaded. Adding: a dir= watch of a path that does not exist
      // (kernel/audit_tree.c audit_add_tree_rule() looks the path up).
      return request === 'AUDIT_DEL_RULE' ? 'no such rule' : 'no such file or directory';
    case 'EINVAL':
      return 'invalid argument';
    default:
      return 'see errno(3)';
  }
}
