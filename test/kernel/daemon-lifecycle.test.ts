// The daemon's lifecycle around the happy path: a crash and a restart, --stdout, systemd's
// notifications, a Redis that is away at start, the on_stop policies, and refusals of bad input.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/daemon/snapshot.js';
import { decodeRule, ruleKeys } from '../../src/rules/index.js';
import { finished, run, waitForLine } from '../helpers/child.js';
import { cli, readStream, startDaemon, tcpConnects, useDaemonRedis } from '../helpers/daemon.js';
import { expectValidEntries } from '../helpers/entry-schema.js';
import { useKernel } from '../helpers/kernel.js';
import { freePort, startRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';
import { Redis } from 'ioredis';

const kernel = useKernel();
const servers = useDaemonRedis();

async function entriesOf(url: string, stream: string): Promise<Array<Record<string, string>>> {
  return (await readStream(url, stream)).map((e) => e.fields);
}

async function waitForEntries(url: string, stream: string, match: (f: Record<string, string>) => boolean, count: number): Promise<Array<Record<string, string>>> {
  let found: Array<Record<string, string>> = [];
  const deadline = Date.now() + 20_000;
  while ((found = (await entriesOf(url, stream)).filter(match)).length < count) {
    if (Date.now() > deadline) throw new Error(`only ${found.length} of ${count} entries in ${stream}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return found;
}

const connectsTo = (port: number) => (f: Record<string, string>) => f.kind === 'flow' && f.op === 'connect' && f.remote_port === String(port);

async function selfRules(): Promise<string[]> {
  return (await kernel.control.listRules()).flatMap((bytes) => ruleKeys(decodeRule(bytes))).filter((key) => key === 'auditflow-self');
}

describe('auditflow run lifecycle', () => {
  it('after SIGKILL, a restart takes the slot again, cleans the old self-exclusion rule and marks the downtime', async () => {
    const args = ['--redis', servers.redis.url, '--stream', 'life:crash'];
    const first = startDaemon({ args });
    await first.waitForLog('running');
    const before = await tcpConnects(2);
    const seen = await waitForEntries(servers.redis.url, 'life:crash', connectsTo(before.port), 2);
    await before.close();
    // The status file (rewritten every second) is where the next daemon learns the last serial seen.
    const newest = Math.max(...seen.map((f) => Number(f.serial)));
    await until(() => (readSnapshot(first.dirs.runtime)?.lastSerial ?? 0) >= newest, 5000, 'the status file');
    expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');

    // Connects while no daemon runs: the kernel keeps them for the next daemon or drops them;
    // either way each must be a flow or inside a counted loss.
    const during = await tcpConnects(3);
    await during.close();

    const second = startDaemon({ args, dirs: first.dirs });
    try {
      await second.waitForLog('running');
      expect(second.logs.some((line) => line.msg.startsWith('the previous auditflow did not stop cleanly'))).toBe(true);
      expect((await kernel.control.status()).pid).toBe(second.pid);
      expect(await selfRules()).toHaveLength(1);
      const after = await tcpConnects(2);
      await waitForEntries(servers.redis.url, 'life:crash', connectsTo(after.port), 2);
      await after.close();

      // Loss entries are written once a second.
      const covered = await waitForEntries(servers.redis.url, 'life:crash', (f) => connectsTo(during.port)(f) || (f.kind === 'loss' && f.reason === 'daemon_down'), 1);
      const entries = await entriesOf(servers.redis.url, 'life:crash');
      const start = entries.filter((f) => f.kind === 'lifecycle' && f.event === 'start' && f.pid === String(second.pid));
      expect(start).toHaveLength(1);
      expect(Number(start[0]?.down_since)).toBeGreaterThan(0);
      const duringFlows = entries.filter(connectsTo(during.port)).length;
      const down = covered.filter((f) => f.kind === 'loss');
      const downLoss = down.reduce((sum, f) => sum + Number(f.count), 0);
      // 3 connects are 6 events (socket + connect each): all arrive as flows, or the serial gap counts them.
      if (duringFlows < 3) expect(downLoss).toBeGreaterThanOrEqual(6);
      for (const loss of down) expect(Number(loss.last_serial) - Number(loss.first_serial) + 1).toBe(Number(loss.count));
    } finally {
      expect((await second.stop()).code).toBe(0);
    }
    expect((await kernel.control.status()).pid).toBe(0);
    expect(await selfRules()).toEqual([]);
    expect((await kernel.control.listRules()).length).toBe(kernel.snapshot.rules.length);
  });

  it('writes only JSON lines to stdout with --stdout, and its logs to stderr', async () => {
    const daemon = startDaemon({ args: ['--stdout'] });
    let port = 0;
    try {
      await daemon.waitForLog('running');
      const made = await tcpConnects(2);
      port = made.port;
      await until(() => daemon.stdout().split('\n').filter((line) => line.includes(`"remote_port":${port}`)).length >= 2, 20_000, 'flows on stdout');
      await made.close();
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    const lines = daemon.stdout().trimEnd().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({ kind: 'lifecycle', event: 'start' });
    expect(entries.at(-1)).toMatchObject({ kind: 'lifecycle', event: 'stop', reason: 'SIGTERM' });
    // The two connects (their sockets' close entries, flow_end, come too).
    expect(entries.filter((e) => e.kind === 'flow' && e.op === 'connect' && e.remote_port === port)).toHaveLength(2);
    expect(entries.every((e) => ['flow', 'loss', 'lifecycle'].includes(e.kind as string))).toBe(true);
    // Typed, as replay prints it: numbers as numbers, argv as an array; every line validates.
    expectValidEntries(entries);
    expect(daemon.logs.some((line) => line.msg === 'stopped')).toBe(true);
  });

  it('with --stdout --format ocsf writes OCSF events: Network Activity for flows, Application Lifecycle for start and stop', async () => {
    const daemon = startDaemon({ args: ['--stdout', '--format', 'ocsf'] });
    let port = 0;
    try {
      await daemon.waitForLog('running');
      const made = await tcpConnects(1);
      port = made.port;
      await until(() => daemon.stdout().includes(`"port":${port}`), 20_000, 'a flow on stdout');
      await made.close();
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    const events = daemon.stdout().trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ class_uid: 6002, activity_id: 3, actor: { process: { pid: daemon.pid } } });
    expect(events.at(-1)).toMatchObject({ class_uid: 6002, activity_id: 4, message: 'SIGTERM' });
    const connect = events.find((e) => e.class_uid === 4001 && (e.unmapped as { op?: string }).op === 'connect' && (e.dst_endpoint as { port?: number } | undefined)?.port === port);
    expect(connect).toMatchObject({ activity_id: 1, connection_info: { protocol_name: 'tcp', direction_id: 2 }, dst_endpoint: { ip: '127.0.0.1' }, metadata: { version: '1.3.0' } });
  });

  it("sends READY, STATUS, WATCHDOG and STOPPING to systemd's notify socket", async () => {
    const address = `@auditflow-test-notify-${process.pid}`;
    const receiver = spawn(
      'python3',
      ['-c', 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind("\\0"+sys.argv[1][1:])\nprint("ready",flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace("\\n","|"),flush=True)', address],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const received = finished(receiver);
    await waitForLine(receiver, /^ready/);
    const daemon = startDaemon({ args: ['--stdout'], env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000' } });
    try {
      await daemon.waitForLog('running');
      await new Promise((resolve) => setTimeout(resolve, 600));
    } finally {
      expect((await daemon.stop()).code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      receiver.kill('SIGTERM');
    }
    const messages = (await received).stdout.split('\n').slice(1);
    expect(messages[0]).toMatch(/^READY=1\|STATUS=\d+ flows, \d+ lost, sink \w+$/);
    expect(messages.filter((m) => m === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(3);
    expect(messages).toContain('STOPPING=1');
  });

  it('starts while Redis is away, spools, and delivers everything once Redis is back', async () => {
    const later = await startRedis();
    await later.stop();
    const daemon = startDaemon({ args: ['--redis', later.url, '--stream', 'life:late'], env: { AUDITFLOW_REDIS_COMMAND_TIMEOUT_MS: '500' } });
    try {
      await daemon.waitForLog('running');
      expect(daemon.logs.some((line) => line.msg.startsWith('Redis cannot be reached: flows go to the spool'))).toBe(true);
      const made = await tcpConnects(3);
      await until(() => daemon.logs.length > 0, 1000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await later.restart();
      const flows = await waitForEntries(later.url, 'life:late', connectsTo(made.port), 3);
      expect(flows).toHaveLength(3);
      await made.close();
    } finally {
      expect((await daemon.stop()).code).toBe(0);
      await later.stop();
    }
  });

  it('refuses to start when Redis is away and redis_required = true (exit 10), with the kernel untouched', async () => {
    const port = await freePort();
    const daemon = startDaemon({ args: ['--redis', `redis://user:hunter2@127.0.0.1:${port}`, '--set', 'redis_required=true', '--set', 'redis_command_timeout_ms=300'] });
    const exit = await daemon.exited;
    expect(exit.code).toBe(10);
    expect(daemon.stderr()).toMatch(/^auditflow: Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:\d+ cannot be reached \(.+\), and redis_required = true\n$/);
    expect(daemon.stdout() + daemon.stderr()).not.toContain('hunter2');
    expect((await kernel.control.status()).pid).toBe(0);
    expect((await kernel.control.listRules()).length).toBe(kernel.snapshot.rules.length);
  });

  it('warns in its log when a consumer group falls behind to the trim point', async () => {
    const admin = new Redis(servers.redis.url);
    await admin.xgroup('CREATE', 'life:lag', 'slow-readers', '$', 'MKSTREAM');
    await admin.quit();
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'life:lag', '--set', 'stream_maxlen=20', '--set', 'lag_check_interval_s=1'] });
    try {
      await daemon.waitForLog('running');
      const made = await tcpConnects(25);
      await made.close();
      const warning = await daemon.waitForLog(/^consumer group "slow-readers" of life:lag /);
      expect(warning).toMatchObject({ level: 'warn', stage: 'sink', stream: 'life:lag' });
      expect(warning.msg).toMatch(/trim/);
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });

  it('stops on SIGTERM and puts the kernel back when nobody reads its log any more', async () => {
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'life:epipe'] });
    await daemon.waitForLog('running');
    daemon.child.stdout?.destroy();
    const exit = await daemon.stop('SIGTERM');
    expect(exit.signal).toBeNull();
    expect((await kernel.control.status()).pid).toBe(0);
    expect((await kernel.control.listRules()).length).toBe(kernel.snapshot.rules.length);
  });

  it('keeps the ruleset at stop with on_stop = keep, but never its self-exclusion rule', async () => {
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'life:keep', '--set', 'on_stop=keep'] });
    try {
      await daemon.waitForLog('running');
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    try {
      expect((await kernel.control.status()).pid).toBe(0);
      expect((await kernel.control.status()).enabled).toBe(1);
      expect(await selfRules()).toEqual([]);
      expect((await kernel.control.listRules()).length).toBe(kernel.snapshot.rules.length + 30);
    } finally {
      const cleared = await run(process.execPath, [cli, 'rules', 'clear', '--state-dir', daemon.dirs.state]);
      expect(cleared.stdout).toBe('deleted 30 rule(s)\n');
    }
  });

  describe('refuses bad operator input before touching the kernel', () => {
    const refuse = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> => {
      const result = await run(process.execPath, [cli, 'run', ...args], { env: { ...process.env, AUDITFLOW_METRICS_LISTEN: 'off', ...env } });
      expect((await kernel.control.status()).pid).toBe(0);
      expect((await kernel.control.listRules()).length).toBe(kernel.snapshot.rules.length);
      return { code: result.code, stderr: result.stderr };
    };

    it('an unknown key in the config file (exit 9)', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'auditflow-conf-')), 'auditflow.conf');
      writeFileSync(file, 'mode = unicast\nstraem = x\n');
      expect(await refuse(['--config', file])).toEqual({ code: 9, stderr: `auditflow: ${file}:2: unknown setting "straem" (did you mean stream?)\n` });
    });

    it('a bad value in the environment (exit 9)', async () => {
      expect(await refuse([], { AUDITFLOW_FULL_POLICY: 'drop_oldest' })).toEqual({
        code: 9,
        stderr: 'auditflow: AUDITFLOW_FULL_POLICY: full_policy: "drop_oldest" is not one of block, drop_newest\n',
      });
    });

    it('a bad Redis URL on the command line (exit 9), without its password', async () => {
      expect(await refuse(['--redis', 'redis//:pw@localhost'])).toEqual({
        code: 9,
        stderr: 'auditflow: --redis: redis_url: "redis//***@localhost" is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)\n',
      });
    });

    it('a ruleset with an error (exit 7), naming the file and line', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'auditflow-rules-')), 'bad.rules');
      writeFileSync(file, '-a always,exit -F arch=b64 -S connect -k ok\n-a always,exit -S nosuchcall\n');
      const result = await refuse(['--rules', file, '--stdout']);
      expect(result.code).toBe(7);
      expect(result.stderr).toContain(`${file}:2:`);
      expect(result.stderr).toContain('nothing was applied');
    });

    it('an unknown --set key (exit 9)', async () => {
      expect(await refuse(['--set', 'nope=1'])).toEqual({ code: 9, stderr: 'auditflow: --set nope=1: unknown setting "nope"\n' });
    });
  });
});
