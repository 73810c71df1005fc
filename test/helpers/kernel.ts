// Every kernel test file calls useKernel(): it takes the project's kernel lock, snapshots
// the audit state, and restores it afterwards, also when a test failed.
import { afterAll, beforeAll } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { acquireKernelLock, type KernelLock } from '../../src/audit/kernel-lock.js';
import { restoreAuditState, snapshotAuditState, type AuditStateSnapshot } from '../../src/audit/state-guard.js';

export interface KernelFixture {
  control: AuditControl;
  snapshot: AuditStateSnapshot;
}

export function useKernel(): KernelFixture {
  const fixture = {} as KernelFixture;
  let lock: KernelLock | undefined;
  beforeAll(async () => {
    lock = await acquireKernelLock();
    fixture.control = AuditControl.open();
    fixture.snapshot = await snapshotAuditState(fixture.control);
  });
  afterAll(async () => {
    try {
      if (fixture.snapshot) await restoreAuditState(fixture.control, fixture.snapshot);
    } finally {
      await fixture.control?.close();
      lock?.release();
    }
  });
  return fixture;
}
