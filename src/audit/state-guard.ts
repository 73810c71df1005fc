// Snapshot the kernel's audit state and put it back: the rules list (as exact bytes), the
// settings, and the daemon slot. Tests and scripts restore in a finally block, so a
// failing run leaves the machine as it found it.
import type { AuditControl } from './control.js';
import type { AuditStatus } from './status.js';

export interface AuditStateSnapshot {
  status: AuditStatus;
  rules: Buffer[];
}

export async function snapshotAuditState(control: AuditControl): Promise<AuditStateSnapshot> {
  const [status, rules] = [await control.status(), await control.listRules()];
  if (status.enabled === 2) {
    throw new Error('the kernel audit configuration is immutable (enabled=2) until reboot; nothing here can change it');
  }
  return { status, rules };
}

/**
 * Deletes rules that were not in the snapshot, adds back rules that were removed, gives
 * the daemon slot back if this process holds it, and resets the settings that differ.
 * Every step runs even when an earlier one failed; the failures are thrown together.
 */
export async function restoreAuditState(control: AuditControl, snapshot: AuditStateSnapshot): Promise<void> {
  const failures: unknown[] = [];
  const step = async (action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (error) {
      failures.push(error);
    }
  };

  await step(async () => {
    const now = await control.status();
    if (now.pid === process.pid) await control.unregister();
    else if (now.pid !== snapshot.status.pid) {
      throw new Error(`the audit daemon slot is held by pid ${now.pid}, was ${snapshot.status.pid}: a child was left registered`);
    }
  });
  await step(async () => {
    const wanted = new Map<string, number>();
    for (const rule of snapshot.rules) wanted.set(rule.toString('hex'), (wanted.get(rule.toString('hex')) ?? 0) + 1);
    for (const rule of await control.listRules()) {
      const key = rule.toString('hex');
      const left = wanted.get(key) ?? 0;
      if (left > 0) wanted.set(key, left - 1);
      else await control.deleteRule(rule);
    }
    for (const [key, count] of wanted) {
      for (let i = 0; i < count; i++) await control.addRule(Buffer.from(key, 'hex'));
    }
  });
  await step(async () => {
    const now = await control.status();
    const was = snapshot.status;
    await control.set({
      ...(now.enabled !== was.enabled && was.enabled !== 2 ? { enabled: was.enabled as 0 | 1 } : {}),
      ...(now.failure !== was.failure ? { failure: was.failure as 0 | 1 | 2 } : {}),
      ...(now.rateLimit !== was.rateLimit ? { rateLimit: was.rateLimit } : {}),
      ...(now.backlogLimit !== was.backlogLimit ? { backlogLimit: was.backlogLimit } : {}),
      ...(now.backlogWaitTime !== was.backlogWaitTime ? { backlogWaitTime: was.backlogWaitTime } : {}),
    });
  });
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, 'restoring the kernel audit state failed in several steps');
}
