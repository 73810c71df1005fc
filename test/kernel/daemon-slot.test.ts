import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { AuditSlotTakenError } from '../../src/audit/errors.js';
import { AuditSocket } from '../../src/audit/socket.js';
import { finished, helperPath, waitForLine } from '../helpers/child.js';
import { useKernel } from '../helpers/kernel.js';
import { slotHolderLine } from '../setup/audit-slot.js';

const kernel = useKernel();

describe('the audit daemon slot', () => {
  it('refuses a second registration while the first holder lives, naming its pid and command', async () => {
    const holder = spawn(process.execPath, ['--import', 'tsx', helperPath('hold-daemon-slot.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(holder);
    try {
      await waitForLine(holder, /^registered \d+/);
      expect((await kernel.control.status()).pid).toBe(holder.pid);

      const socket = new AuditSocket();
      const control = new AuditControl(socket);
      try {
        const refusal = await control.register().then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refusal).toBeInstanceOf(AuditSlotTakenError);
        const taken = refusal as AuditSlotTakenError;
        expect(taken.holderPid).toBe(holder.pid);
        expect(taken.holderCommand).toContain('hold-daemon-slot.ts');
        expect(taken.message).toContain(`pid ${holder.pid}`);
        expect(taken.message).toContain('systemctl stop auditd');
        expect(taken.message).toContain('--mode multicast');
      } finally {
        await socket.close();
      }
    } finally {
      holder.kill('SIGTERM');
      const exit = await done;
      expect(exit.code).toBe(0);
    }
    expect((await kernel.control.status()).pid).toBe(kernel.snapshot.status.pid);
  });

  it('says so when this process already holds the slot', async () => {
    const first = new AuditSocket();
    const firstControl = new AuditControl(first);
    const second = new AuditSocket();
    try {
      await firstControl.register();
      await expect(new AuditControl(second).register()).rejects.toThrow(/this process \(pid \d+\) is already the registered audit daemon/);
    } finally {
      await firstControl.unregister();
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('stops the kernel test run at once, with one line naming the holder, while a daemon that is not a test holds the slot', async () => {
    expect(await slotHolderLine({ locked: true })).toBeUndefined();
    const holder = spawn(process.execPath, ['--import', 'tsx', helperPath('hold-daemon-slot.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(holder);
    try {
      await waitForLine(holder, /^registered \d+/);
      const line = await slotHolderLine({ locked: true });
      expect(line).toMatch(new RegExp(`^npm test: the kernel's audit daemon slot is held by pid ${holder.pid} \\(.*hold-daemon-slot\\.ts.*\\); the kernel tests need it\\. Stop that daemon \\(systemctl stop auditflow or auditd; Ctrl-C a foreground auditflow run\\) and run npm test again\\.$`));
      expect(line).not.toContain('\n');
    } finally {
      holder.kill('SIGTERM');
      expect((await done).code).toBe(0);
    }
    expect(await slotHolderLine({ locked: true })).toBeUndefined();
  });

  it('takes the slot over from a holder that was killed without unregistering', async () => {
    const holder = spawn(process.execPath, ['--import', 'tsx', helperPath('hold-daemon-slot.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(holder);
    await waitForLine(holder, /^registered \d+/);
    holder.kill('SIGKILL');
    await done;
    // The kernel still names the dead pid until it fails to deliver a record to it.
    const socket = new AuditSocket();
    const control = new AuditControl(socket);
    try {
      await control.register();
      expect((await kernel.control.status()).pid).toBe(process.pid);
    } finally {
      await control.unregister();
      await socket.close();
    }
  });
});
