// describeFailure: a permission problem is the kernel's only when the kernel said so.
import { describe, expect, it } from 'vitest';
import { AuditRequestError } from '../../../src/audit/errors.js';
import { describeFailure } from '../../../src/cli/fail.js';

/** An error shaped as Node's fs module throws it (root, which runs the tests, is never refused one). */
function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: permission denied, ${syscall} '${path}'`), { code, syscall, path, errno: -13 });
}

describe('describeFailure', () => {
  it('names the directory when a file system call was refused, not the kernel', () => {
    expect(describeFailure(fsError('EACCES', 'mkdir', '/var/lib/auditflow/spool'))).toEqual({
      code: 3,
      message: "cannot mkdir /var/lib/auditflow/spool (EACCES): run as root, or give the daemon's user that directory",
    });
  });

  it('reports a kernel refusal as one', () => {
    expect(describeFailure(new AuditRequestError('AUDIT_SET', -1, 'EPERM'))).toEqual({
      code: 3,
      message: 'the kernel refused (EPERM): run as root, or with CAP_AUDIT_CONTROL (and CAP_AUDIT_READ for --mode multicast)',
    });
  });
});
