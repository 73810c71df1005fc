// Debian's auditctl as a test oracle, unpacked (never installed) into .cache/auditd by
// scripts/fetch-auditd.sh; its libauparse0 sits beside it, hence LD_LIBRARY_PATH.
// Only kernel tests run it, inside useKernel(), which holds the kernel lock.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run, type Finished } from './child.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cache = `${root}.cache/auditd`;
export const auditctlPath = `${cache}/sbin/auditctl`;
const multiarch = arch() === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';

/** Fetches auditctl if it is not there yet (the script is a no-op when it is). */
export function ensureAuditctl(): void {
  if (!existsSync(auditctlPath)) execFileSync('bash', [`${root}scripts/fetch-auditd.sh`], { stdio: 'inherit' });
}

export function auditctl(...args: string[]): Promise<Finished> {
  const env = { ...process.env, LD_LIBRARY_PATH: `${cache}/lib/${multiarch}:${cache}/usr/lib/${multiarch}` };
  return run(auditctlPath, args, { env });
}
