// The Redis password kept out of every command line and URL. A command line is readable by every
// local user (/proc/<pid>/cmdline, ps) and is audited into the stream itself (the argv of
// `auditflow tail --redis redis://:pw@...` is a flow); a root-only file, the process's environment
// (/proc/<pid>/environ is its owner's and ptrace-checked, proc(5)) and a systemd credential are not.
// The first of these that is given is the password (docs/security.md, "Secrets"):
//   1. `redis_password_file` (tail: --redis-password-file), a file whose first line is the password;
//   2. $AUDITFLOW_REDIS_PASSWORD;
//   3. the systemd credential `redis-password` (LoadCredential=redis-password:FILE), which systemd
//      puts in $CREDENTIALS_DIRECTORY (systemd.exec(5), "Credentials").
// A password inside a Redis URL as well as one of these is refused: it is given in one place.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RedisConfigError } from '../sink/redis-errors.js';
import type { LoadedConfig } from './config.js';

/** The first line of a password file, its line ending dropped. */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RedisConfigError(`cannot read the Redis password file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password === '') throw new RedisConfigError(`the Redis password file ${path} is empty`);
  return password;
}

/** The environment variable that holds the password itself. */
export const PASSWORD_ENV = 'AUDITFLOW_REDIS_PASSWORD';
/** The name of the systemd credential that holds the password. */
export const PASSWORD_CREDENTIAL = 'redis-password';

/** A password and what gave it, in words for a message (never the password). */
export interface FoundPassword {
  password: string;
  /** What gave it, for a message: "a password file is given", "AUDITFLOW_REDIS_PASSWORD is set", ... */
  givenBy: string;
}

/** The password given outside the URLs, by the precedence above; undefined when none is. */
export function findPassword(passwordFile: string | undefined, env: NodeJS.ProcessEnv = process.env): FoundPassword | undefined {
  if (passwordFile !== undefined && passwordFile !== '') return { password: readPasswordFile(passwordFile), givenBy: 'a password file is given' };
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { password: fromEnv, givenBy: `${PASSWORD_ENV} is set` };
  const credentials = env.CREDENTIALS_DIRECTORY;
  if (credentials === undefined || credentials === '') return undefined;
  const path = join(credentials, PASSWORD_CREDENTIAL);
  try {
    statSync(path);
  } catch {
    // The unit passes other credentials, or none by this name: not a password source.
    return undefined;
  }
  return { password: readPasswordFile(path), givenBy: `the systemd credential ${path} gives one` };
}

/** A Redis URL with the password put in; one that holds a password already is refused (it is given in one place). */
export function withPassword(url: string, password: string, givenBy = 'a password file is given'): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Left to the client's own parser, which names what is wrong without the secret.
    return url;
  }
  if (parsed.password !== '') throw new RedisConfigError(`a Redis URL holds a password and ${givenBy} too: give the password in one place`);
  // Percent-encoded: the client decodes the URL's user information (parseRedisUrl).
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** URLs with the password given outside them (findPassword) put in. */
export function urlsWithPassword(urls: { url: string; cluster: string[] }, passwordFile: string | undefined, env: NodeJS.ProcessEnv = process.env): { url: string; cluster: string[] } {
  const found = findPassword(passwordFile, env);
  if (found === undefined) return urls;
  const put = (url: string): string => withPassword(url, found.password, found.givenBy);
  return { url: put(urls.url), cluster: urls.cluster.map(put) };
}

/**
 * Files holding a Redis password that others than their owner may read: one warning each. Readable by
 * all (o+r), or by a group (g+r) other than the daemon's own: the service's group `auditflow` reads the
 * config (0640 root:auditflow, scripts/install-service.sh). Root's group is never the daemon's own.
 */
export function exposedSecrets(files: Array<{ path: string | undefined; holdsPassword: boolean }>, daemonGid: number | undefined = process.getgid?.()): string[] {
  const exposed: string[] = [];
  for (const { path, holdsPassword } of files) {
    if (path === undefined || path === '' || !holdsPassword) continue;
    let mode: number;
    let gid: number;
    try {
      ({ mode, gid } = statSync(path));
    } catch {
      continue;
    }
    const ownGroup = daemonGid !== undefined && daemonGid !== 0 && gid === daemonGid;
    if ((mode & 0o004) !== 0 || ((mode & 0o040) !== 0 && !ownGroup)) exposed.push(`${path} holds the Redis password and is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
  return exposed;
}

const holdsPassword = (url: string): boolean => {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
};

/** Warnings for the files of this configuration that hold the Redis password and others may read. */
export function secretWarnings(config: LoadedConfig): string[] {
  const { settings, sources, file } = config;
  const fromFile = (key: 'redis_url' | 'redis_cluster_nodes'): boolean => file !== undefined && (sources[key]?.startsWith(`${file}:`) ?? false);
  const inConfig = (fromFile('redis_url') && holdsPassword(settings.redis_url)) || (fromFile('redis_cluster_nodes') && settings.redis_cluster_nodes.some(holdsPassword));
  return exposedSecrets([
    { path: file, holdsPassword: inConfig },
    { path: settings.redis_password_file, holdsPassword: true },
  ]);
}
