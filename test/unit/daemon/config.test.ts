import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigFile, restartOnlyChanges } from '../../../src/daemon/config.js';
import { redactRedisUrl as redactUrl } from '../../../src/sink/index.js';

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'auditflow-config-')), 'auditflow.conf');
  writeFileSync(path, text);
  return path;
}

const failure = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('config file syntax', () => {
  it('reads key = value lines, comments, quoted values and trailing comments', () => {
    const lines = parseConfigFile('# comment\n\nstream = auditflow:{<host>}:flows # per host\nhost = "a # b "\n', 'f');
    expect(lines).toEqual([
      { key: 'stream', text: 'auditflow:{<host>}:flows', source: 'f:3' },
      { key: 'host', text: 'a # b ', source: 'f:4' },
    ]);
  });

  it('names the file and line of a line that is not key = value', () => {
    expect(failure(() => parseConfigFile('stream auditflow\n', '/etc/x.conf'))).toBe('/etc/x.conf:1: expected "key = value", found "stream auditflow"');
  });

  it('refuses an unclosed quote', () => {
    expect(failure(() => parseConfigFile('host = "abc\n', 'f'))).toMatch(/^f:1: host: the value's closing quote is missing/);
  });
});

describe('loadConfig', () => {
  it('gives the documented defaults without a file', () => {
    const { settings, file } = loadConfig({ env: {}, file: configFile('') });
    expect(file).toBeDefined();
    expect(settings).toMatchObject({
      mode: 'unicast',
      sink: 'redis',
      redis_url: 'redis://127.0.0.1:6379/0',
      stream: 'auditflow:flows',
      full_policy: 'block',
      on_stop: 'remove',
      families: ['inet', 'inet6'],
      spool_max_bytes: 1024 ** 3,
      metrics_listen: '127.0.0.1:9848',
    });
    expect(settings.host).not.toBe('');
  });

  it('lets the environment override the file and flags override both', () => {
    const file = configFile('stream = from-file\nbatch_size = 100\nqueue_limit = 7\n');
    const { settings, sources } = loadConfig({
      file,
      env: { AUDITFLOW_BATCH_SIZE: '200', AUDITFLOW_STREAM: 'from-env' },
      overrides: [{ key: 'stream', text: 'from-flag', source: '--stream' }],
    });
    expect(settings.stream).toBe('from-flag');
    expect(settings.batch_size).toBe(200);
    expect(settings.queue_limit).toBe(7);
    expect(sources).toMatchObject({ stream: '--stream', batch_size: 'AUDITFLOW_BATCH_SIZE', queue_limit: `${file}:3` });
  });

  it('refuses an unknown key in the file, naming it, where it is and the likely meant one', () => {
    const file = configFile('mode = unicast\nredis_ulr = redis://x\n');
    expect(failure(() => loadConfig({ file, env: {} }))).toBe(`${file}:2: unknown setting "redis_ulr" (did you mean redis_url?)`);
  });

  it('names the key and the source of a bad value', () => {
    expect(failure(() => loadConfig({ file: configFile('batch_size = many\n'), env: {} }))).toMatch(/:1: batch_size: "many" is not a whole number$/);
    expect(failure(() => loadConfig({ env: { AUDITFLOW_MODE: 'broadcast' }, file: configFile('') }))).toBe(
      'AUDITFLOW_MODE: mode: "broadcast" is not one of unicast, multicast',
    );
    expect(failure(() => loadConfig({ env: {}, file: configFile(''), overrides: [{ key: 'metrics_listen', text: 'everywhere', source: '--metrics' }] }))).toBe(
      '--metrics: metrics_listen: "everywhere" is not host:port or off',
    );
    expect(failure(() => loadConfig({ env: { AUDITFLOW_SPOOL_MAX_BYTES: '12' }, file: configFile('') }))).toMatch(/below the minimum/);
  });

  it('refuses a bad Redis URL without showing its password', () => {
    const message = failure(() => loadConfig({ env: { AUDITFLOW_REDIS_URL: 'http://user:hunter2@host:6379' }, file: configFile('') }));
    expect(message).toBe('AUDITFLOW_REDIS_URL: redis_url: "http://user:***@host:6379" must start with redis:// or rediss://');
    expect(message).not.toContain('hunter2');
    expect(failure(() => loadConfig({ env: { AUDITFLOW_REDIS_URL: 'redis://h:6379/zero' }, file: configFile('') }))).toMatch(/the database "zero" is not a number/);
  });

  it('reads sizes with suffixes, booleans and lists', () => {
    const { settings } = loadConfig({
      env: { AUDITFLOW_SPOOL_MAX_BYTES: '512M', AUDITFLOW_REDIS_REQUIRED: 'yes', AUDITFLOW_FAMILIES: 'inet, unix' },
      file: configFile(''),
    });
    expect(settings.spool_max_bytes).toBe(512 * 1024 * 1024);
    expect(settings.redis_required).toBe(true);
    expect(settings.families).toEqual(['inet', 'unix']);
    expect(failure(() => loadConfig({ env: { AUDITFLOW_FAMILIES: 'all,inet' }, file: configFile('') }))).toMatch(/"all" cannot be combined/);
  });

  it('reads process label rules by rule key and by exe pattern', () => {
    const { settings } = loadConfig({ env: { AUDITFLOW_LABELS: 'key:auditflow-connect=net, exe:/usr/bin/apt*=software_mgmt' }, file: configFile('') });
    expect(settings.labels).toEqual([
      { key: 'auditflow-connect', label: 'net' },
      { exe: '/usr/bin/apt*', label: 'software_mgmt' },
    ]);
    expect(failure(() => loadConfig({ env: { AUDITFLOW_LABELS: 'apt=pkg' }, file: configFile('') }))).toBe(
      'AUDITFLOW_LABELS: labels: "apt=pkg" is not key:<rule key>=<label> or exe:<path pattern>=<label>',
    );
  });

  it('only warns about AUDITFLOW_* variables that name no setting (other tools share the prefix)', () => {
    const { unknownEnv } = loadConfig({ env: { AUDITFLOW_KERNEL_LOCK: '/tmp/x', AUDITFLOW_STRAEM: 'x' }, file: configFile('') });
    expect(unknownEnv).toEqual(['AUDITFLOW_STRAEM']);
  });

  it('fails clearly when an explicit config file cannot be read', () => {
    expect(failure(() => loadConfig({ file: '/nonexistent/auditflow.conf', env: {} }))).toBe('cannot read the config file /nonexistent/auditflow.conf: ENOENT');
  });

  it('refuses trimming by length and by age at once, naming both', () => {
    expect(failure(() => loadConfig({ env: { AUDITFLOW_STREAM_MAX_AGE_S: '3600' }, file: configFile('') }))).toBe(
      'stream_maxlen and stream_max_age_s are both set (the default and AUDITFLOW_STREAM_MAX_AGE_S): the stream is trimmed by one of them; set the other to 0',
    );
    expect(loadConfig({ env: { AUDITFLOW_STREAM_MAX_AGE_S: '3600', AUDITFLOW_STREAM_MAXLEN: '0' }, file: configFile('') }).settings.stream_max_age_s).toBe(3600);
  });

  it('tells which changed settings SIGHUP cannot apply', () => {
    const before = loadConfig({ env: {}, file: configFile('') }).settings;
    const after = { ...before, rules: '/etc/x.rules', log_level: 'debug' as const, redis_url: 'redis://other:6379' };
    expect(restartOnlyChanges(before, after)).toEqual(['redis_url']);
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the user', () => {
    expect(redactUrl('redis://alice:s3cret@h:6379/2')).toBe('redis://alice:***@h:6379/2');
    expect(redactUrl('rediss://:s3cret@h:6380')).toBe('rediss://***@h:6380');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
    expect(redactUrl('redis://onlysecret@h')).toBe('redis://***@h');
    expect(redactUrl('redis//:pw@h')).toBe('redis//***@h');
  });
});
