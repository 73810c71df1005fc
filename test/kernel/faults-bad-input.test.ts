// Bad operator input, end to end: each is refused with one clear line on stderr and the documented
// exit code, and nothing is left half-applied: no rule loaded, the daemon slot free, `enabled` as it
// was. (daemon-lifecycle.test.ts has an unknown file key, a bad variable, a bad URL, a bad rules line,
// an unknown --set key and an unreachable Redis with redis_required.)
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, type Finished } from '../helpers/child.js';
import { cli } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const kernel = useKernel();
let redis: RedisServer;
const PASSWORD = 'pw-Zq8vX1';

beforeAll(async () => {
  redis = await startRedis(['--requirepass', PASSWORD]);
});
afterAll(async () => {
  await redis?.stop();
});

const NOBODY = 65534;
const goodUrl = (): string => `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;

/** Fresh state and runtime directories, owned by `uid`. */
function dirs(uid = 0): { state: string; runtime: string } {
  const made = { state: mkdtempSync(join(tmpdir(), 'auditflow-bad-state-')), runtime: mkdtempSync(join(tmpdir(), 'auditflow-bad-run-')) };
  for (const dir of Object.values(made)) chownSync(dir, uid, uid === 0 ? 0 : NOBODY);
  return made;
}

/**
 * Runs `auditflow run` (after `prefix`, e.g. setpriv) and checks that it left the kernel as it was.
 * A run that does not end within 20 s is killed and fails the test.
 */
async function refuse(args: string[], options: { prefix?: string[]; dirs?: { state: string; runtime: string }; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  const where = options.dirs ?? dirs();
  const before = await kernel.control.status();
  const command = [...(options.prefix ?? []), process.execPath, cli, 'run', ...args];
  const child = spawn(command[0] as string, command.slice(1), {
    env: { ...process.env, AUDITFLOW_STATE_DIR: where.state, AUDITFLOW_RUNTIME_DIR: where.runtime, AUDITFLOW_METRICS_LISTEN: 'off', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // One that runs instead is stopped the way that puts the kernel back (SIGTERM), and fails the test.
  const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
  const result = await finished(child);
  clearTimeout(timer);
  expect(result.stdout, "it ran instead of refusing").not.toMatch(/"msg":"running"/);
  const after = await kernel.control.status();
  expect(after.pid).toBe(0);
  expect(after.enabled).toBe(before.enabled);
  expect((await kernel.control.listRules()).length).toBe(kernel.snapshot.rules.length);
  // One line on stderr; the password never shows.
  expect(result.stderr).toMatch(/^auditflow: [^\n]+\n$/);
  expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  return result;
}

describe('bad operator input is refused, with nothing half-applied', () => {
  it.each([
    ['backlog_limit = lots', /^auditflow: \S+:2: backlog_limit: /],
    ['spool_fsync = sometimes', /^auditflow: \S+:2: spool_fsync: "sometimes" is not one of always, interval, never\n$/],
    ['metrics_listen = 127.0.0.1:99999', /^auditflow: \S+:2: metrics_listen: /],
    ['redis_url = "redis://:secret@"', /^auditflow: \S+:2: redis_url: "redis:\/\/\*\*\*@" /],
  ])('a bad value in the config file (exit 9): %s', async (line, message) => {
    const file = join(mkdtempSync(join(tmpdir(), 'auditflow-conf-')), 'auditflow.conf');
    writeFileSync(file, `mode = unicast\n${line}\n`, { mode: 0o600 });
    const result = await refuse(['--config', file]);
    expect(result.code).toBe(9);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('secret');
  });

  it('a rule the kernel refuses after others went in (exit 7): those are taken out again', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'auditflow-rules-')), 'refused.rules');
    writeFileSync(file, '-a always,exit -F arch=b64 -S connect -k bad-input-1\n-a always,exit -F arch=b64 -S bind -k bad-input-2\n-a always,exit -F arch=b64 -S openat -F dir=/nonexistent-auditflow/dir -k bad-input-3\n');
    for (const extra of [[], ['--set', 'on_stop=keep']]) {
      const result = await refuse(['--redis', goodUrl(), '--rules', file, ...extra]);
      expect(result.code).toBe(7);
      expect(result.stderr).toBe(`auditflow: ${file}:3: the kernel refused the rule: AUDIT_ADD_RULE failed: ENOENT (no such file or directory)\n`);
    }
  });

  it('a ruleset that does not exist (exit 7)', async () => {
    const result = await refuse(['--redis', goodUrl(), '--rules', '/nonexistent-auditflow.rules']);
    expect(result).toMatchObject({ code: 7, stderr: 'auditflow: cannot read the ruleset /nonexistent-auditflow.rules: ENOENT\n' });
  });

  it.each([
    ['a wrong password', `redis://:wrong-${PASSWORD.slice(3)}@127.0.0.1:`],
    ['no password', 'redis://127.0.0.1:'],
  ])('Redis refusing the credentials (exit 10): %s, never shown', async (_name, url) => {
    const result = await refuse(['--redis', `${url}${redis.port}`]);
    expect(result.code).toBe(10);
    expect(result.stderr).toMatch(new RegExp(`^auditflow: Redis refused \\(redis://127\\.0\\.0\\.1:${redis.port}\\): (WRONGPASS|NOAUTH) .*; check the user and password in the Redis URL\n$`));
    expect(result.stderr).not.toContain(PASSWORD.slice(3));
  });

  it('not root: the kernel refuses (exit 3)', async () => {
    const result = await refuse(['--redis', goodUrl()], { prefix: ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'], dirs: dirs(NOBODY) });
    expect(result).toMatchObject({ code: 3, stderr: 'auditflow: the kernel refused (EPERM): run as root, or with CAP_AUDIT_CONTROL (and CAP_AUDIT_READ for --mode multicast)\n' });
  });

  it('root without the audit capabilities: the kernel refuses (exit 3)', async () => {
    const prefix = ['setpriv', '--bounding-set', '-audit_control,-audit_read', '--inh-caps', '-audit_control,-audit_read'];
    const result = await refuse(['--redis', goodUrl()], { prefix });
    expect(result).toMatchObject({ code: 3, stderr: 'auditflow: the kernel refused (EPERM): run as root, or with CAP_AUDIT_CONTROL (and CAP_AUDIT_READ for --mode multicast)\n' });
  });

  it("a state directory the daemon's user cannot write: names the directory, not the kernel (exit 3)", async () => {
    const where = dirs();
    chmodSync(where.state, 0o755);
    const result = await refuse(['--redis', goodUrl()], { prefix: ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'], dirs: where });
    expect(result).toMatchObject({ code: 3, stderr: `auditflow: cannot mkdir ${where.state}/spool (EACCES): run as root, or give the daemon's user that directory\n` });
  });

  it('a spool directory that is a symbolic link, writable by others, or not the daemon user\'s (exit 9)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'auditflow-spool-'));
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(base, 'link'));
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const grouped = join(base, 'grouped');
    mkdirSync(grouped);
    chmodSync(grouped, 0o770);
    const foreign = join(base, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, NOBODY, NOBODY);
    const cases: Array<[string, string]> = [
      [join(base, 'link'), `spool_dir: ${join(base, 'link')} is a symbolic link; give the real directory`],
      [open, `spool_dir: ${open} is writable by group or others (mode 777); chmod 700 it`],
      [grouped, `spool_dir: ${grouped} is writable by group or others (mode 770); chmod 700 it`],
      [foreign, `spool_dir: ${foreign} belongs to uid ${NOBODY}, not to the daemon's user`],
    ];
    for (const [dir, message] of cases) {
      const result = await refuse(['--redis', goodUrl(), '--set', `spool_dir=${dir}`]);
      expect(result).toMatchObject({ code: 9, stderr: `auditflow: ${message}\n` });
    }
  });

  it('a metrics address already in use (exit 9)', async () => {
    const result = await refuse(['--redis', goodUrl(), '--metrics', `127.0.0.1:${redis.port}`]);
    expect(result).toMatchObject({ code: 9, stderr: `auditflow: metrics_listen: cannot listen on 127.0.0.1:${redis.port} (EADDRINUSE); choose another address, or off\n` });
  });
});
