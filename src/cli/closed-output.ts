// What a printing command does when its standard output stops taking lines. A reader that leaves
// early (`auditflow rules check FILE | head -1`) closes the pipe and the next write fails with EPIPE;
// with no 'error' listener Node throws that as an unhandled event: a stack trace on stderr.
import { ExitCode } from './exit-codes.js';

/**
 * Ends the process as soon as a write to `out` fails. EPIPE means nobody reads any more: the command
 * has nothing left to do, so it ends at once and silently, with the exit code it had so far (0 unless
 * something failed before), as `head` expects of a producer. Any other write error (ENOSPC on a full
 * disk, EBADF) is a real failure: one line on stderr and exit code 1.
 */
export function endWhenOutputFails(out: NodeJS.WriteStream): void {
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(Number(process.exitCode ?? ExitCode.ok));
    process.stderr.write(`auditflow: cannot write the output (${error.code ?? error.message})\n`);
    process.exit(ExitCode.failure);
  });
}
