// The Redis password kept out of every command line and URL: `redis_password_file` (or tail's
// --redis-password-file) names a file whose first line is the password. A command line is readable
// by every local user (/proc/<pid>/cmdline, ps) and is audited into the stream itself (the argv of
// `auditflow tail --redis redis://:pw@...` is a flow); a root-only file is neither.
import { readFileSync, statSync } from 'node:fs';
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

/** A Redis URL with the password put in; one that holds a password already is refused (it is given in one place). */
export function withPassword(url: string, password: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Left to the client's own parser, which names what is wrong without the secret.
    return url;
  }
  if (parsed.password !== '') throw new RedisConfigError('a Redis URL holds a password and a password file is given too: give the password in one place');
  // Percent-encoded: the client decodes the URL's user information (parseRedisUrl).
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** URLs with the password of `passwordFile` (when one is given) put in. */
export function urlsWithPassword(urls: { url: string; cluster: string[] }, passwordFile: string | undefined): { url: string; cluster: string[] } {
  if (passwordFile === undefined || passwordFile === '') return urls;
  const password = readPasswordFile(passwordFile);
  return { url: withPassword(urls.url, password), cluster: urls.cluster.map((node) => withPassword(node, password)) };
}

/** Files holding a Redis password that others than their owner may read (mode & 0o044): one warning each. */
export function exposedSecrets(files: Array<{ path: string | undefined; holdsPassword: boolean }>): string[] {
  const exposed: string[] = [];
  for (const { path, holdsPassword } of files) {
    if (path === undefined || path === '' || !holdsPassword) continue;
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      continue;
    }
    if ((mode & 0o044) !== 0) exposed.push(`${path} holds the Redis password and is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
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
