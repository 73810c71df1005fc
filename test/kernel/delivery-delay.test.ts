// The addon's deferred delivery (AuditSocket deliveryDelayMs, the daemon's reader_delivery_ms): with
// lookups on, records wait up to the delay for more before JavaScript takes them, so a burst arrives in
// a few large batches instead of one small batch per wake-up (fewer per-batch costs: docs/benchmark.md).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchRecords } from '../../src/audit/socket.js';
import { lookupCalls } from '../../src/pipeline/socket-calls.js';
import { finished, helperPath } from '../helpers/child.js';
import { registerWithRules, useKernel } from '../helpers/kernel.js';
import { connectRuleForChildrenOf, nativeConnectSyscall } from '../helpers/raw-rule.js';
import { AUDIT_SYSCALL, field } from '../helpers/records.js';
import { until } from '../helpers/until.js';

const kernel = useKernel();
const CONNECTS = 30;

/** How many deliveries the connect records of a burst of CONNECTS came in. */
async function deliveriesOfBurst(deliveryDelayMs: number): Promise<number> {
  let connects = 0;
  let deliveries = 0;
  const daemon = await registerWithRules(
    kernel.control,
    [connectRuleForChildrenOf(process.pid, 'auditflow-test-delivery')],
    (batch) => {
      const mine = batchRecords(batch).filter((record) => record.type === AUDIT_SYSCALL && field(record.payload.toString('latin1'), 'syscall') === String(nativeConnectSyscall())).length;
      if (mine === 0) return;
      connects += mine;
      deliveries++;
    },
    { lookupCalls: lookupCalls(), selfPid: process.pid, deliveryDelayMs },
  );
  try {
    expect((await finished(spawn(process.execPath, [helperPath('connect-burst.mjs'), String(CONNECTS)]))).code).toBe(0);
    await until(() => connects >= CONNECTS, 10_000, 'the burst');
  } finally {
    await daemon.close();
  }
  return deliveries;
}

describe('deferred delivery to JavaScript', () => {
  it('hands a burst over in a few batches when deliveries wait for more, in more without the wait', async () => {
    const waiting = await deliveriesOfBurst(300);
    const atOnce = await deliveriesOfBurst(0);
    console.log(`${CONNECTS} connects: ${waiting} deliveries with 300 ms, ${atOnce} at once`);
    // The burst takes some tens of ms, well inside one wait (two if it straddles a wake-up).
    expect(waiting).toBeLessThanOrEqual(2);
    expect(atOnce).toBeGreaterThan(waiting);
  });
});
