import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireKernelLock, KernelLockTimeoutError } from '../../../src/audit/kernel-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'auditflow-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the kernel lock', () => {
  it('is exclusive, also against flock(1) in shell scripts, until released', async () => {
    const path = join(dir, 'kernel.lock');
    const lock = await acquireKernelLock({ path });
    expect(spawnSync('flock', ['--nonblock', path, 'true']).status).toBe(1);
    await expect(acquireKernelLock({ path, timeoutMs: 250 })).rejects.toBeInstanceOf(KernelLockTimeoutError);
    lock.release();
    lock.release();
    expect(spawnSync('flock', ['--nonblock', path, 'true']).status).toBe(0);
    (await acquireKernelLock({ path, timeoutMs: 250 })).release();
  });

  it('waits for a holder that lets go', async () => {
    const path = join(dir, 'waited.lock');
    const first = await acquireKernelLock({ path });
    setTimeout(() => first.release(), 300);
    const second = await acquireKernelLock({ path, timeoutMs: 5000 });
    second.release();
  });
});
