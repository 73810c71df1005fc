import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { run } from '../helpers/child.js';
import { useKernel } from '../helpers/kernel.js';

// The built command, as a user runs it (npm test builds first).
const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

// Held so no other test changes the rules between the two reads this file compares.
useKernel();

describe('auditflow status', () => {
  it('prints the kernel status for a person', async () => {
    const result = await run(process.execPath, [cli, 'status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^enabled +[012] \((off|on)/m);
    expect(result.stdout).toMatch(/^backlog +\d+ of \d+ records$/m);
    expect(result.stdout).toMatch(/^lost +\d+ records$/m);
    expect(result.stdout).toMatch(/^kernel features +.*lost_reset/m);
  });

  it('prints the same numbers as the control plane with --json', async () => {
    const result = await run(process.execPath, [cli, 'status', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { status: Record<string, number>; rules: number };
    const control = AuditControl.open();
    try {
      const status = await control.status();
      expect(report.status.backlogLimit).toBe(status.backlogLimit);
      expect(report.status.featureBitmap).toBe(status.featureBitmap);
      expect(report.rules).toBe((await control.listRules()).length);
    } finally {
      await control.close();
    }
  });

  it('exits 3 with a one-line reason without root or CAP_AUDIT_CONTROL', async () => {
    const result = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, cli, 'status']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('auditflow: the kernel refused (EPERM): run as root, or with CAP_AUDIT_CONTROL (and CAP_AUDIT_READ for --mode multicast)\n');
  });

  it('exits 2 on an unknown command', async () => {
    const result = await run(process.execPath, [cli, 'statsu']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'statsu'/);
  });
});
