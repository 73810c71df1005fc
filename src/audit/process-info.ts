// Small /proc lookups the control plane needs to name the process holding the daemon slot.
import { readFileSync } from 'node:fs';

/** The command line of a live process, or its comm, or undefined when it is gone. */
export function describeProcess(pid: number, procRoot = '/proc'): string | undefined {
  try {
    const argv = readFileSync(`${procRoot}/${pid}/cmdline`)
      .toString('utf8')
      .split('\0')
      .filter((part) => part.length > 0);
    if (argv.length > 0) return argv.join(' ');
    return readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** kill(pid, 0): ESRCH means gone; EPERM means alive but not ours to signal. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
