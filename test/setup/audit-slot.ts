// The kernel project's global setup: the kernel tests take the kernel's one audit daemon slot, so a
// live holder that is not one of our tests (auditd, a foreground `auditflow run`, another tool) would
// fail them one by one with the same error. Checked once under the kernel lock (a test holding the
// slot holds the lock, and gives the slot back before it lets go): such a holder stops the run at
// once, with one line saying what holds it and how to stop it.
import { AuditControl } from '../../src/audit/control.js';
import { acquireKernelLock } from '../../src/audit/kernel-lock.js';
import { describeProcess, isProcessAlive } from '../../src/audit/process-info.js';

/**
 * The line that stops the run, or undefined when the slot is free (or its holder is gone). Takes the
 * kernel lock, unless the caller holds it (`locked`).
 */
export async function slotHolderLine(options: { locked?: boolean } = {}): Promise<string | undefined> {
  const lock = options.locked ? undefined : await acquireKernelLock();
  const control = AuditControl.open();
  try {
    const { pid } = await control.status();
    if (pid === 0 || !isProcessAlive(pid)) return undefined;
    const command = describeProcess(pid) ?? 'unknown command';
    return (
      `npm test: the kernel's audit daemon slot is held by pid ${pid} (${command}); the kernel tests need it. ` +
      'Stop that daemon (systemctl stop auditflow or auditd; Ctrl-C a foreground auditflow run) and run npm test again.'
    );
  } finally {
    await control.close();
    lock?.release();
  }
}

export default async function setup(): Promise<void> {
  const line = await slotHolderLine();
  if (line === undefined) return;
  process.stderr.write(`${line}\n`);
  process.exit(5);
}
