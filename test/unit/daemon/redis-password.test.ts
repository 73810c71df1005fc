// The Redis password from a file (redis_password_file, tail's --redis-password-file), and the warning
// for a file holding it that others may read.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/daemon/config.js';
import { readPasswordFile, secretWarnings, urlsWithPassword, withPassword } from '../../../src/daemon/redis-password.js';
import { parseRedisUrl } from '../../../src/sink/redis-client.js';

const dir = mkdtempSync(join(tmpdir(), 'auditflow-secret-'));
const file = (name: string, text: string, mode: number): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
};

describe('the Redis password file', () => {
  it('gives its first line, put into the URLs as the client reads them back', () => {
    const path = file('pw', 'p@ss:w/rd%20 é\nsecond line\n', 0o600);
    expect(readPasswordFile(path)).toBe('p@ss:w/rd%20 é');
    const { url, cluster } = urlsWithPassword({ url: 'redis://auditflow@10.0.0.1:6380/2', cluster: ['redis://10.0.0.2:7000'] }, path);
    expect(parseRedisUrl(url)).toMatchObject({ host: '10.0.0.1', port: 6380, db: 2, username: 'auditflow', password: 'p@ss:w/rd%20 é' });
    expect(parseRedisUrl(cluster[0]!)).toMatchObject({ host: '10.0.0.2', port: 7000, username: undefined, password: 'p@ss:w/rd%20 é' });
    expect(urlsWithPassword({ url: 'redis://h', cluster: [] }, '')).toEqual({ url: 'redis://h', cluster: [] });
  });

  it('is refused empty, unreadable, or beside a password in the URL', () => {
    expect(() => readPasswordFile(file('empty', '\n', 0o600))).toThrow(/is empty/);
    expect(() => readPasswordFile(join(dir, 'none'))).toThrow(`cannot read the Redis password file ${join(dir, 'none')} (ENOENT)`);
    expect(() => withPassword('redis://:inline@h', 'x')).toThrow(/give the password in one place/);
  });

  it('lets redis_url name a user without a password in the config (the file gives it)', () => {
    const config = file('user.conf', 'redis_url = redis://auditflow@127.0.0.1:6379\nredis_password_file = /etc/auditflow/redis-password\n', 0o600);
    expect(loadConfig({ file: config, env: {} }).settings).toMatchObject({ redis_url: 'redis://auditflow@127.0.0.1:6379', redis_password_file: '/etc/auditflow/redis-password' });
    expect(() => loadConfig({ file: file('bad.conf', 'redis_url = http://x\n', 0o600), env: {} })).toThrow(ConfigError);
  });
});

describe('secretWarnings', () => {
  it('warns about a config file holding a password that others may read, and not when it is 0600', () => {
    const open = file('open.conf', 'redis_url = redis://:hunter2@127.0.0.1:6379\n', 0o644);
    expect(secretWarnings(loadConfig({ file: open, env: {} }))).toEqual([`${open} holds the Redis password and is readable by others (mode 644); chmod 600 it`]);
    chmodSync(open, 0o600);
    expect(secretWarnings(loadConfig({ file: open, env: {} }))).toEqual([]);
  });

  it('does not warn about a readable config without a password, and warns about a readable password file', () => {
    const secret = file('secret', 'hunter2\n', 0o640);
    const config = file('plain.conf', `redis_url = redis://127.0.0.1:6379\nredis_password_file = ${secret}\n`, 0o644);
    expect(secretWarnings(loadConfig({ file: config, env: {} }))).toEqual([`${secret} holds the Redis password and is readable by others (mode 640); chmod 600 it`]);
    // A password from the environment is not the config file's.
    expect(secretWarnings(loadConfig({ file: config, env: { AUDITFLOW_REDIS_URL: 'redis://:pw@h:1', AUDITFLOW_REDIS_PASSWORD_FILE: '' } }))).toEqual([]);
  });
});
