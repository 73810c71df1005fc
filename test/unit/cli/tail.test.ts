// auditflow tail: the escaping and line formats on their own, then the built command as a child
// process against a real redis-server (dist/ is built by `npm test` before the tests run).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { escapeForTerminal, formatJsonLine, formatReadableLine, type RawEntry } from '../../../src/cli/tail-format.js';
import { finished, run, waitForLine } from '../../helpers/child.js';
import { freePort, startRedis, type RedisServer } from '../../helpers/redis-server.js';

const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const KEY = 'auditflow:{host-a}:flows';
const servers: RedisServer[] = [];
const clients: Redis[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
});

const entry = (fields: Record<string, string | Buffer>, id = '1795252599301-0'): RawEntry => ({
  id,
  fields: Object.entries(fields).map(([name, value]) => [name, Buffer.isBuffer(value) ? value : Buffer.from(value)]),
});

// A program named to attack the terminal: colour, a cursor move, a forged second line, a right-to-left
// override, a one-byte CSI (U+009B) and bytes that are not UTF-8.
const HOSTILE_EXE = '/tmp/evil\u001b[31mred\u001b[2J\nFAKE 1970-01-01 egress tcp\r\u202eexe.txt\u009b31m';
const HOSTILE_EXE_SHOWN = '/tmp/evil\\e[31mred\\e[2J\\nFAKE 1970-01-01 egress tcp\\r\\u202eexe.txt\\u009b31m';

const FLOW = {
  kind: 'flow',
  boot_id: 'b',
  seq: '1',
  v: '1',
  ts: '1795252599301',
  direction: 'egress',
  proto: 'tcp',
  local_addr: '127.0.0.1',
  local_port: '57670',
  remote_addr: '2001:db8::1',
  remote_port: '443',
  exe: HOSTILE_EXE,
  pid: '22899',
  user: 'root',
  result: 'ok',
};
/** FLOW as --json prints it: typed, the fields the entry lacks as null. */
const TYPED_FLOW = {
  kind: 'flow',
  boot_id: 'b',
  seq: 1,
  v: 1,
  node: null,
  ts: 1795252599301,
  direction: 'egress',
  proto: 'tcp',
  local_addr: '127.0.0.1',
  local_port: 57670,
  remote_addr: '2001:db8::1',
  remote_port: 443,
  exe: HOSTILE_EXE,
  pid: 22899,
  user: 'root',
  result: 'ok',
  container_id: null,
};
const FLOW_LINE = `2026-11-21T09:16:39.301Z egress tcp 127.0.0.1:57670 → [2001:db8::1]:443 ${HOSTILE_EXE_SHOWN}[22899] root - ok`;
const LOSS = { kind: 'loss', v: '1', host: 'host-a', reason: 'spool_full', count: '42', first_ts: '1795252599301', last_ts: '1795252600301' };
const LOSS_LINE = '2026-11-21T09:16:39.301Z LOSS spool_full count=42 until 2026-11-21T09:16:40.301Z host=host-a';
const LIFECYCLE = { kind: 'lifecycle', v: '1', host: 'host-a', event: 'stop', ts: '1795252599301', version: '0.1.0', pid: '4242', reason: 'SIGTERM' };
const LIFECYCLE_LINE = '2026-11-21T09:16:39.301Z STOP auditflow 0.1.0 pid 4242 on host-a (SIGTERM)';

/** Every character a terminal could act on: C0 controls, DEL, C1 controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('tail output', () => {
  it('escapes control characters, C1 and bidi controls visibly, doubles backslashes, and shows bytes that are not UTF-8 as \\xHH', () => {
    expect(escapeForTerminal(Buffer.from('a\u001b[0mb\nc\td\r\\e\u007f\u0085\u009b\u2028\u202e\u2066'))).toBe('a\\e[0mb\\nc\\td\\r\\\\e\\x7f\\u0085\\u009b\\u2028\\u202e\\u2066');
    expect(escapeForTerminal(Buffer.from([0x61, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82, 0x62]))).toBe('a\\xff\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82b');
    expect(escapeForTerminal('é 中 🙂 ü')).toBe('é 中 🙂 ü');
  });

  it('prints one readable line for a flow, a loss and a lifecycle entry, and key=value for other kinds', () => {
    expect(formatReadableLine(entry(FLOW))).toBe(FLOW_LINE);
    expect(formatReadableLine(entry(LOSS))).toBe(LOSS_LINE);
    expect(formatReadableLine(entry(LIFECYCLE))).toBe(LIFECYCLE_LINE);
    expect(formatReadableLine(entry({ kind: 'other', 'na\nme': 'va\u001blue' }))).toBe('2026-11-21T09:16:39.301Z kind=other na\\nme=va\\elue');
    expect(formatReadableLine(entry({ kind: 'flow', ts: 'soon' }))).toBe('? ? ? ? → ? ?[?] ? - ?');
    expect(formatReadableLine(entry({}))).toBe('2026-11-21T09:16:39.301Z (entry 1795252599301-0 is no longer in the stream)');
  });

  it('shows the name a DNS answer gave beside the remote address (and its CNAME end), and a dns entry as one DNS line', () => {
    const named = { ...FLOW, exe: '/usr/bin/curl', remote_addr: '151.101.0.223', remote_name: 'files.pythonhosted.org' };
    expect(formatReadableLine(entry(named))).toBe('2026-11-21T09:16:39.301Z egress tcp 127.0.0.1:57670 → 151.101.0.223:443 (files.pythonhosted.org) /usr/bin/curl[22899] root - ok');
    expect(formatReadableLine(entry({ ...named, remote_cname: 'dualstack.python.map.fastly.net' }))).toContain('→ 151.101.0.223:443 (files.pythonhosted.org → dualstack.python.map.fastly.net) /usr/bin/curl');
    expect(formatReadableLine(entry({ ...named, remote_name: 'evil\u001b[2J.test' }))).toContain('(evil\\e[2J.test)');
    const dns = { kind: 'dns', v: '1', ts: '1795252599301', name: 'www.example.test', cname: 'edge.cdn.example.test', addresses: '["127.0.0.8","::8"]', ttl: '300', transport: 'udp', server: '127.0.0.53', server_port: '53', client: '127.0.0.1', client_port: '41234', pid: '4242', exe: '/usr/bin/dig' };
    expect(formatReadableLine(entry(dns))).toBe('2026-11-21T09:16:39.301Z DNS www.example.test (edge.cdn.example.test) → 127.0.0.8, ::8 ttl=300 from 127.0.0.53:53 to 127.0.0.1:41234 /usr/bin/dig[4242]');
  });

  it('--json: one valid JSON object whose text holds no raw control, C1 or bidi character', () => {
    const line = formatJsonLine(entry(FLOW));
    expect(line).not.toMatch(RAW_CONTROL);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ id: '1795252599301-0', ...TYPED_FLOW });
  });
});

describe('auditflow tail (child process, real redis-server)', () => {
  async function redisWith(...entries: Array<Record<string, string>>): Promise<{ redis: RedisServer; admin: Redis }> {
    const redis = await startRedis();
    servers.push(redis);
    const admin = new Redis({ host: '127.0.0.1', port: redis.port });
    clients.push(admin);
    for (const fields of entries) await admin.xadd(KEY, '*', ...Object.entries(fields).flat());
    return { redis, admin };
  }

  function tail(args: string[]): ChildProcess {
    const child = spawn(process.execPath, [cli, 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  }

  /** Resolves once the tail child is blocked in XREAD/XREADGROUP on the server. */
  async function blockedReader(admin: Redis, command: string): Promise<void> {
    for (;;) {
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      if (list.split('\n').some((line) => line.includes(`cmd=${command}`) && / flags=\S*b/.test(line))) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('prints each entry from --from 0 as one readable line, escape sequences and newlines made visible, and stops after --count', async () => {
    const { redis } = await redisWith(FLOW, LOSS, LIFECYCLE, FLOW);
    const result = await run(process.execPath, [cli, 'tail', '--redis', redis.url, '--stream', 'auditflow:{<host>}:flows', '--host', 'host-a', '--from', '0', '--count', '3']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Times come from the entries' ts fields; the loss and lifecycle entries have theirs.
    expect(result.stdout).toBe(`${FLOW_LINE}\n${LOSS_LINE}\n${LIFECYCLE_LINE}\n`);
    expect(result.stdout.replaceAll('\n', '')).not.toMatch(RAW_CONTROL);
  });

  it('follows from $ by default: only entries added after it started, as JSON lines with --json', async () => {
    const { redis, admin } = await redisWith(LOSS);
    const child = tail(['--redis', redis.url, '--stream', KEY, '--json', '--count', '2']);
    const done = finished(child);
    await blockedReader(admin, 'xread');
    await admin.xadd(KEY, '*', ...Object.entries(FLOW).flat());
    await admin.xadd(KEY, '*', ...Object.entries(LIFECYCLE).flat());
    const result = await done;
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(result.stdout.replaceAll('\n', '')).not.toMatch(RAW_CONTROL);
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects[0]).toMatchObject(TYPED_FLOW);
    expect(objects[1]).toMatchObject({ ...LIFECYCLE, v: 1, ts: 1795252599301, pid: 4242 });
  });

  it('--group/--consumer: reads with XREADGROUP, acknowledges what it printed, and the next run goes on after it', async () => {
    const { redis, admin } = await redisWith(FLOW, LOSS, LIFECYCLE);
    const args = ['--redis', redis.url, '--stream', KEY, '--group', 'ops', '--consumer', 'c1', '--from', '0'];
    const first = await run(process.execPath, [cli, 'tail', ...args, '--count', '2']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`${FLOW_LINE}\n${LOSS_LINE}\n`);
    const second = await run(process.execPath, [cli, 'tail', ...args, '--count', '1']);
    expect(second.stdout).toBe(`${LIFECYCLE_LINE}\n`);
    expect(((await admin.xpending(KEY, 'ops')) as [number])[0]).toBe(0);
  });

  it('follows on across a Redis restart, and says so on stderr', async () => {
    const { redis, admin } = await redisWith();
    const child = tail(['--redis', redis.url, '--stream', KEY, '--count', '2']);
    const done = finished(child);
    await blockedReader(admin, 'xread');
    await admin.xadd(KEY, '*', ...Object.entries(FLOW).flat());
    await waitForLine(child, /egress tcp/);
    await redis.kill();
    await redis.restart();
    const after = new Redis({ host: '127.0.0.1', port: redis.port });
    clients.push(after);
    await blockedReader(after, 'xread');
    await after.xadd(KEY, '*', ...Object.entries(LIFECYCLE).flat());
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${FLOW_LINE}\n${LIFECYCLE_LINE}\n`);
    expect(result.stderr).toMatch(/^auditflow: Redis connection lost \(.*\); reconnecting\nauditflow: Redis connection back; following on\n$/);
  }, 30_000);

  it('exits 0 on SIGTERM while waiting for entries', async () => {
    const { redis, admin } = await redisWith();
    const child = tail(['--redis', redis.url, '--stream', KEY]);
    const done = finished(child);
    await blockedReader(admin, 'xread');
    process.kill(child.pid as number, 'SIGTERM');
    const result = await done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('stops quietly when its reader goes away (tail | head)', async () => {
    const { redis, admin } = await redisWith();
    for (let i = 0; i < 20; i++) await admin.xadd(KEY, '*', ...Object.entries(FLOW).flat());
    const child = tail(['--redis', redis.url, '--stream', KEY, '--from', '0']);
    const done = finished(child);
    // Like `tail -f | head`, it notices at its next write: whether the 20 entries came in one chunk or
    // several, one more entry after the reader left gives it that write.
    child.stdout?.once('data', () => {
      child.stdout?.destroy();
      void admin.xadd(KEY, '*', ...Object.entries(FLOW).flat());
    });
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('takes the password from --redis-password-file or $AUDITFLOW_REDIS_PASSWORD_FILE, so it is in no argv; one given twice is refused', async () => {
    const { redis, admin } = await redisWith(FLOW);
    const secret = 'pw-in-a-file-7731';
    await admin.call('CONFIG', 'SET', 'requirepass', secret);
    const file = join(mkdtempSync(join(tmpdir(), 'auditflow-pw-')), 'redis-password');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    const args = ['--stream', KEY, '--from', '0', '--count', '1'];
    const child = tail(['--redis', redis.url, '--redis-password-file', file, ...args]);
    const done = finished(child);
    // Its own command line, as every local user (and the audit PROCTITLE of its connect) sees it.
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
    const result = await done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`${FLOW_LINE}\n`);
    expect(argv).toContain(file);
    expect(argv).not.toContain(secret);

    const fromEnv = await run(process.execPath, [cli, 'tail', '--redis', redis.url, ...args], { env: { ...process.env, AUDITFLOW_REDIS_PASSWORD_FILE: file } });
    expect(fromEnv).toMatchObject({ code: 0, stdout: `${FLOW_LINE}\n` });

    const twice = await run(process.execPath, [cli, 'tail', '--redis', `redis://:other@127.0.0.1:${redis.port}`, '--redis-password-file', file, ...args]);
    expect(twice).toMatchObject({ code: 9, stderr: 'auditflow: a Redis URL holds a password and a password file is given too: give the password in one place\n' });
    const missing = await run(process.execPath, [cli, 'tail', '--redis', redis.url, '--redis-password-file', `${file}.none`, ...args]);
    expect(missing).toMatchObject({ code: 9, stderr: `auditflow: cannot read the Redis password file ${file}.none (ENOENT)\n` });
  }, 30_000);

  it('takes the password from $AUDITFLOW_REDIS_PASSWORD or a systemd credential, as the daemon does, never from argv', async () => {
    const { redis, admin } = await redisWith(FLOW);
    const secret = 'pw-in-the-env-5519';
    await admin.call('CONFIG', 'SET', 'requirepass', secret);
    const args = ['tail', '--redis', redis.url, '--stream', KEY, '--from', '0', '--count', '1'];
    const fromEnv = await run(process.execPath, [cli, ...args], { env: { ...process.env, AUDITFLOW_REDIS_PASSWORD: secret } });
    expect(fromEnv).toMatchObject({ code: 0, stdout: `${FLOW_LINE}\n`, stderr: '' });
    const credentials = mkdtempSync(join(tmpdir(), 'auditflow-credentials-'));
    writeFileSync(join(credentials, 'redis-password'), `${secret}\n`, { mode: 0o400 });
    const fromCredential = await run(process.execPath, [cli, ...args], { env: { ...process.env, CREDENTIALS_DIRECTORY: credentials } });
    expect(fromCredential).toMatchObject({ code: 0, stdout: `${FLOW_LINE}\n`, stderr: '' });
    const refused = await run(process.execPath, [cli, ...args], { env: { ...process.env, AUDITFLOW_REDIS_PASSWORD: 'wrong-pw-3301' } });
    expect(refused.code).toBe(10);
    expect(refused.stderr).not.toContain('wrong-pw-3301');
  }, 30_000);

  it('exit 10 when Redis cannot be reached or refuses the password; exit 9 for a bad URL; exit 2 for bad options', async () => {
    const port = await freePort();
    const unreachable = await run(process.execPath, [cli, 'tail', '--redis', `redis://127.0.0.1:${port}`]);
    expect(unreachable.code).toBe(10);
    expect(unreachable.stderr).toBe(`auditflow: Redis (redis://127.0.0.1:${port}) did not answer: connect ECONNREFUSED 127.0.0.1:${port}\n`);

    const { redis, admin } = await redisWith();
    await admin.call('CONFIG', 'SET', 'requirepass', 'right');
    const refused = await run(process.execPath, [cli, 'tail', '--redis', `redis://:badpw-42@127.0.0.1:${redis.port}`]);
    expect(refused.code).toBe(10);
    expect(refused.stderr).toMatch(/^auditflow: Redis refused \(redis:\/\/127\.0\.0\.1:\d+\): WRONGPASS .*; check the user and password in the Redis URL\n$/);
    expect(refused.stderr).not.toContain('badpw-42');

    const badUrl = await run(process.execPath, [cli, 'tail', '--redis', 'http://127.0.0.1']);
    expect(badUrl).toMatchObject({ code: 9, stderr: 'auditflow: "http://127.0.0.1" must start with redis:// or rediss://\n' });
    expect((await run(process.execPath, [cli, 'tail', '--count', 'many'])).code).toBe(2);
    expect((await run(process.execPath, [cli, 'tail', '--from', 'yesterday'])).code).toBe(2);
    const lonely = await run(process.execPath, [cli, 'tail', '--group', 'ops']);
    expect(lonely).toMatchObject({ code: 2, stderr: 'auditflow: --group and --consumer go together\n' });
  }, 30_000);
});
