// cgroups a kernel test makes of its own, and removes again.
import { existsSync, readFileSync, rmdirSync } from 'node:fs';

/** Where the cgroup v2 (unified) hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host); undefined without one. */
export function cgroup2Root(): string | undefined {
  // proc_pid_mounts(5): device, mount point, type, ...
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[2] === 'cgroup2')?.[1];
}

/** rmdir of a cgroup, retried while the kernel still counts a process that just exited in it. */
export async function removeCgroup(path: string): Promise<void> {
  for (let attempt = 0; existsSync(path); attempt++) {
    try {
      rmdirSync(path);
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
