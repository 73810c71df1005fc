// Every kernel test file calls useKernel(): it takes the project's kernel lock, snapshots
// the audit state, and restores it afterwards, also when a test failed.
import { afterAll, beforeAll } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { AuditSocket, type AuditSocketOptions } from '../../src/audit/socket.js';
import type { RecordBatch } from '../../src/native/record-batch.js';
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

export interface TestAuditDaemon {
  socket: AuditSocket;
  /** Unregisters, deletes the rules it added and closes the socket; each step even if one fails. */
  close(): Promise<void>;
}

/**
 * This test process as the kernel's audit daemon: registers a socket that hands its records to
 * `onBatch`, turns auditing on and loads `rules` (deleted again through `control` at close).
 * Call inside useKernel(), whose restore puts `enabled` back. `options` go to the AuditSocket.
 */
export async function registerWithRules(
  control: AuditControl,
  rules: Buffer[],
  onBatch: (batch: RecordBatch) => void,
  options: Omit<AuditSocketOptions, 'onBatch'> = {},
): Promise<TestAuditDaemon> {
  const socket = new AuditSocket({ ...options, onBatch });
  const daemon = new AuditControl(socket);
  const added: Buffer[] = [];
  const close = async (): Promise<void> => {
    await daemon.unregister().catch(() => {});
    for (const rule of added) await control.deleteRule(rule).catch(() => {});
    await socket.close();
  };
  try {
    await daemon.register();
    await daemon.set({ enabled: 1 });
    for (const rule of rules) {
      await daemon.addRule(rule);
      added.push(rule);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { socket, close };
}
