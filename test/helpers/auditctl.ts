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
export const auditdPath = `${cache}/sbin/auditd`;
const multiarch = arch() === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';

/** The environment the unpacked binaries run in: their libraries come from the cache. */
export function auditPackageEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LD_LIBRARY_PATH: `${cache}/lib/${multiarch}:${cache}/usr/lib/${multiarch}` };
}

/** Fetches auditctl and auditd if they are not there yet (the script is a no-op when they run). */
export function ensureAuditctl(): void {
  if (!existsSync(auditctlPath) || !existsSync(auditdPath)) execFileSync('bash', [`${root}scripts/fetch-auditd.sh`], { stdio: 'inherit' });
}

export function auditctl(...args: string[]): Promise<Finished> {
  return run(auditctlPath, args, { env: auditPackageEnv() });
}
