// The project's one lock for the kernel's audit state. The kernel has one daemon slot and
// one rule list per machine, so every test and script that registers, changes status or
// loads rules holds this lock. Shell scripts take the same file with flock(1):
//   flock /run/lock/auditflow-kernel.lock <command>
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeBinding, type AuditBinding } from '../native/binding.js';

export const DEFAULT_KERNEL_LOCK = '/run/lock/auditflow-kernel.lock';

export function kernelLockPath(): string {
  return process.env.AUDITFLOW_KERNEL_LOCK ?? DEFAULT_KERNEL_LOCK;
}

export interface KernelLock {
  readonly path: string;
  release(): void;
}

export class KernelLockTimeoutError extends Error {
  override name = 'KernelLockTimeoutError';
}

/** Waits (polling, so the event loop stays free) until the lock is ours or the timeout passes. */
export async function acquireKernelLock(
  options: { path?: string; timeoutMs?: number; binding?: AuditBinding } = {},
): Promise<KernelLock> {
  const path = options.path ?? kernelLockPath();
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const binding = options.binding ?? nativeBinding();
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  const deadline = Date.now() + timeoutMs;
  try {
    while (!binding.flock(fd, true)) {
      if (Date.now() >= deadline) {
        throw new KernelLockTimeoutError(`another process held ${path} for more than ${timeoutMs} ms (see: fuser ${path})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      closeSync(fd);
    },
  };
}
