// The daemon's own directories (state_dir, runtime_dir, spool_dir) hold what it trusts on its next
// start (the rules it added, its crash checkpoint, spooled flows): only the daemon's user may write
// there, and none may be a symbolic link, which would redirect the daemon's writes (as root) to
// wherever its owner points it.
import { lstatSync, mkdirSync } from 'node:fs';
import { ConfigError } from './config.js';

/**
 * Creates the directory (and its parents) with `mode` if missing, then refuses (ConfigError) a
 * symbolic link, a non-directory, one writable by group or others, or one of another user.
 */
export function preparePrivateDir(setting: string, directory: string, mode: number): void {
  mkdirSync(directory, { recursive: true, mode });
  const stat = lstatSync(directory);
  if (stat.isSymbolicLink()) throw new ConfigError(`${setting}: ${directory} is a symbolic link; give the real directory`);
  if (!stat.isDirectory()) throw new ConfigError(`${setting}: ${directory} is not a directory`);
  if ((stat.mode & 0o022) !== 0) throw new ConfigError(`${setting}: ${directory} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)}); chmod ${mode.toString(8)} it`);
  if (stat.uid !== process.getuid?.()) throw new ConfigError(`${setting}: ${directory} belongs to uid ${stat.uid}, not to the daemon's user`);
}
