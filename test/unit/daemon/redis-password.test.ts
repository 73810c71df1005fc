// The Redis password from a file (redis_password_file, tail's --redis-password-file), the environment
// or a systemd credential, in that order; and the warning for a file holding it that others may read.
import { chmodSync, chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/daemon/config.js';
import { redisClient } from '../../../src/daemon/open-sink.js';
import { exposedSecrets, findPassword, readPasswordFile, secretWarnings, urlsWithPassword, withPassword } from '../../../src/daemon/redis-password.js';
import { startRedis } from '../../helpers/redis-server.js';
import { connectRedis, parseRedisUrl } from '../../../src/sink/redis-client.js';

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

describe('the password outside the URL', () => {
  // A directory laid out as systemd makes $CREDENTIALS_DIRECTORY for LoadCredential=redis-password:FILE.
  const credentials = mkdtempSync(join(tmpdir(), 'auditflow-credentials-'));
  writeFileSync(join(credentials, 'redis-password'), 'from-credential\n', { mode: 0o400 });
  const pwFile = file('precedence-pw', 'from-file\n', 0o600);
  const env = { AUDITFLOW_REDIS_PASSWORD: 'from-env', CREDENTIALS_DIRECTORY: credentials };

  it('comes from the password file first, then $AUDITFLOW_REDIS_PASSWORD, then the systemd credential', () => {
    expect(findPassword(pwFile, env)?.password).toBe('from-file');
    expect(findPassword('', env)?.password).toBe('from-env');
    expect(findPassword(undefined, { ...env, AUDITFLOW_REDIS_PASSWORD: '' })?.password).toBe('from-credential');
    expect(findPassword(undefined, { CREDENTIALS_DIRECTORY: credentials })?.password).toBe('from-credential');
    expect(findPassword(undefined, {})).toBeUndefined();
    const { url } = urlsWithPassword({ url: 'redis://auditflow@127.0.0.1:6379', cluster: [] }, undefined, { CREDENTIALS_DIRECTORY: credentials });
    expect(parseRedisUrl(url)).toMatchObject({ username: 'auditflow', password: 'from-credential' });
  });

  it('is not looked for in a credentials directory without redis-password (the unit passes other credentials)', () => {
    const other = mkdtempSync(join(tmpdir(), 'auditflow-credentials-'));
    writeFileSync(join(other, 'tls-key'), 'x');
    expect(findPassword(undefined, { CREDENTIALS_DIRECTORY: other })).toBeUndefined();
    expect(urlsWithPassword({ url: 'redis://h', cluster: [] }, undefined, { CREDENTIALS_DIRECTORY: other })).toEqual({ url: 'redis://h', cluster: [] });
  });

  it('is refused beside a password in the URL, naming where each came from and never the password', () => {
    const urls = { url: 'redis://:in-url@h', cluster: [] };
    expect(() => urlsWithPassword(urls, undefined, { AUDITFLOW_REDIS_PASSWORD: 'from-env' })).toThrow('a Redis URL holds a password and AUDITFLOW_REDIS_PASSWORD is set too: give the password in one place');
    expect(() => urlsWithPassword(urls, undefined, { CREDENTIALS_DIRECTORY: credentials })).toThrow(`a Redis URL holds a password and the systemd credential ${join(credentials, 'redis-password')} gives one too: give the password in one place`);
    writeFileSync(join(credentials, 'redis-password'), '\n');
    try {
      expect(() => findPassword(undefined, { CREDENTIALS_DIRECTORY: credentials })).toThrow(`the Redis password file ${join(credentials, 'redis-password')} is empty`);
    } finally {
      writeFileSync(join(credentials, 'redis-password'), 'from-credential\n');
    }
  });

  it('is not a setting: $AUDITFLOW_REDIS_PASSWORD is no unknown variable, and no setting holds it', () => {
    const loaded = loadConfig({ file: '/dev/null', env: { AUDITFLOW_REDIS_PASSWORD: 'from-env' } });
    expect(loaded.unknownEnv).toEqual([]);
    expect(JSON.stringify(loaded.settings)).not.toContain('from-env');
  });

  it('opens a real Redis that requires it, from the environment and from the credential', async () => {
    const redis = await startRedis(['--requirepass', 'from-credential']);
    const saved = { ...process.env };
    try {
      const settings = loadConfig({ file: '/dev/null', env: { AUDITFLOW_REDIS_URL: redis.url } }).settings;
      const ping = async (): Promise<unknown> => {
        const client = redisClient(settings, { connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
        client.on('error', () => undefined);
        try {
          await connectRedis(client);
          return await client.call('PING');
        } catch (error) {
          return (error as Error).message;
        } finally {
          client.disconnect();
        }
      };
      expect(await ping()).toMatch(/NOAUTH/);
      process.env.CREDENTIALS_DIRECTORY = credentials;
      expect(await ping()).toBe('PONG');
      delete process.env.CREDENTIALS_DIRECTORY;
      process.env.AUDITFLOW_REDIS_PASSWORD = 'from-credential';
      expect(await ping()).toBe('PONG');
    } finally {
      process.env = saved;
      await redis.stop();
    }
  });
});

describe('secretWarnings', () => {
  it('warns about a config file holding a password that others may read, and not when it is 0600', () => {
    const open = file('open.conf', 'redis_url = redis://:hunter2@127.0.0.1:6379\n', 0o644);
    expect(secretWarnings(loadConfig({ file: open, env: {} }))).toEqual([`${open} holds the Redis password and is readable by others (mode 644); chmod 600 it`]);
    chmodSync(open, 0o600);
    expect(secretWarnings(loadConfig({ file: open, env: {} }))).toEqual([]);
  });

  it("does not warn about a file its own service group may read (0640 root:auditflow), and does for root's group or another", () => {
    if (process.getuid?.() !== 0) return; // chown(2) to another group needs root
    const config = file('service.conf', 'redis_url = redis://:hunter2@127.0.0.1:6379\n', 0o640);
    const files = [{ path: config, holdsPassword: true }];
    chownSync(config, 0, 61999);
    expect(exposedSecrets(files, 61999)).toEqual([]);
    expect(exposedSecrets(files, 61998)).toEqual([`${config} holds the Redis password and is readable by others (mode 640); chmod 600 it`]);
    chownSync(config, 0, 0);
    expect(exposedSecrets(files, 0)).toHaveLength(1);
    chmodSync(config, 0o604);
    expect(exposedSecrets(files, 61999)).toHaveLength(1);
  });

  it('does not warn about a readable config without a password, and warns about a readable password file', () => {
    const secret = file('secret', 'hunter2\n', 0o640);
    const config = file('plain.conf', `redis_url = redis://127.0.0.1:6379\nredis_password_file = ${secret}\n`, 0o644);
    expect(secretWarnings(loadConfig({ file: config, env: {} }))).toEqual([`${secret} holds the Redis password and is readable by others (mode 640); chmod 600 it`]);
    // A password from the environment is not the config file's.
    expect(secretWarnings(loadConfig({ file: config, env: { AUDITFLOW_REDIS_URL: 'redis://:pw@h:1', AUDITFLOW_REDIS_PASSWORD_FILE: '' } }))).toEqual([]);
  });
});
