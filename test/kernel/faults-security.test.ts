// Security: the daemon runs with exactly the capabilities its systemd unit grants and still works;
// its spool directory and files are 0700/0600 and its own, whatever the umask; Redis credentials never
// reach a log line, the status file or `auditflow status`.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/daemon/snapshot.js';
import { run } from '../helpers/child.js';
import { cli, killLeftoverDaemons, readStream, startDaemon } from '../helpers/daemon.js';
import { startConnects } from '../helpers/faults.js';
import { useKernel } from '../helpers/kernel.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { until, untilAsync } from '../helpers/until.js';

useKernel();
let redis: RedisServer;
const PASSWORD = 'Sekr1t-pw-7fQ';

beforeAll(async () => {
  redis = await startRedis(['--requirepass', PASSWORD]);
});
afterAll(async () => {
  await killLeftoverDaemons();
  await redis?.stop();
});

const url = (): string => `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;

// include/uapi/linux/capability.h
const CAPABILITY_BITS: Record<string, number> = { CAP_DAC_READ_SEARCH: 2, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_PTRACE: 19, CAP_AUDIT_CONTROL: 30, CAP_AUDIT_READ: 37 };

/** The unit's CapabilityBoundingSet, as the names it lists (on several lines, which systemd joins). */
function unitCapabilities(): string[] {
  const unit = readFileSync(fileURLToPath(new URL('../../systemd/auditflow.service', import.meta.url)), 'utf8');
  const names = [...unit.matchAll(/^CapabilityBoundingSet=(.+)$/gm)].flatMap((line) => (line[1] as string).trim().split(/\s+/));
  if (names.length === 0) throw new Error('the unit has no CapabilityBoundingSet');
  return names;
}

function capabilities(pid: number): Record<string, bigint> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map((m) => [m[1] as string, BigInt(`0x${m[2]}`)]));
}

describe('security', () => {
  it('runs with only the capabilities the systemd unit grants, and works with them', async () => {
    const names = unitCapabilities();
    for (const name of names) expect(CAPABILITY_BITS[name], `${name} is not in this test's table`).toBeDefined();
    const mask = names.reduce((sum, name) => sum | (1n << BigInt(CAPABILITY_BITS[name] as number)), 0n);
    // As systemd starts it: root, the bounding set cut to the unit's, no new privileges.
    const bounding = ['-all', ...names.map((name) => `+${name.slice(4).toLowerCase()}`)].join(',');
    const daemon = startDaemon({ args: ['--redis', url(), '--stream', 'faults:caps'], prefix: ['setpriv', '--bounding-set', bounding, '--no-new-privs'] });
    try {
      await daemon.waitForLog('running');
      const caps = capabilities(daemon.pid);
      expect(caps).toMatchObject({ CapBnd: mask, CapEff: mask, CapPrm: mask, CapInh: 0n, CapAmb: 0n });
      const work = startConnects(45000, 20);
      await work.done;
      await until(() => (readSnapshot(daemon.dirs.runtime)?.pipeline.flows ?? 0) >= 20, 10_000, 'the flows');
      await until(() => (readSnapshot(daemon.dirs.runtime)?.sinkHealth.counters.written ?? 0) >= 21, 10_000, 'the flows in Redis');
      const flows = (await readStream(url(), 'faults:caps')).filter((e) => e.fields.kind === 'flow' && e.fields.pid === String(work.pid));
      expect(flows).toHaveLength(20);
      expect(flows[0]?.fields.exe).toMatch(/fault-workload$/);
      // CAP_NET_RAW is the DNS answer capture's, CAP_NET_ADMIN the receive buffer's and the socket destroy broadcasts'.
      expect(readSnapshot(daemon.dirs.runtime)?.dns?.capture).toBe('on');
      // CAP_NET_ADMIN: the socket destroy broadcasts, so an established connection's close entry.
      const client = spawn(process.execPath, ['-e', `require('node:net').connect(${redis.port}, '127.0.0.1', function () { this.end(); })`], { stdio: 'ignore' });
      await new Promise((resolve) => client.once('exit', resolve));
      await untilAsync(async () => (await readStream(url(), 'faults:caps')).some((e) => e.fields.op === 'close' && e.fields.pid === String(client.pid)), 10_000, 'the close entry');
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });

  it('keeps its spool directory 0700 and its spool files 0600, its own, even under umask 0', async () => {
    const away = await startRedis();
    await away.stop();
    const daemon = startDaemon({ args: ['--redis', away.url, '--stream', 'faults:modes'], prefix: ['sh', '-c', 'umask 0 && exec "$0" "$@"'] });
    try {
      await daemon.waitForLog('running');
      const work = startConnects(46000, 50);
      await work.done;
      const spool = join(daemon.dirs.state, 'spool');
      await until(() => readdirSync(spool).some((name) => name.endsWith('.seg')), 10_000, 'a spool segment');
      expect(readFileSync(`/proc/${daemon.pid}/status`, 'utf8')).toMatch(/^Umask:\s+0000$/m);
      const dir = statSync(spool);
      expect({ mode: dir.mode & 0o777, uid: dir.uid }).toEqual({ mode: 0o700, uid: 0 });
      for (const name of readdirSync(spool)) {
        const file = statSync(join(spool, name));
        expect({ name, mode: file.mode & 0o777, uid: file.uid }).toEqual({ name, mode: 0o600, uid: 0 });
      }
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });

  it('never shows the Redis password: not in its logs (also while Redis fails), the status file, or auditflow status', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'auditflow-secret-conf-')), 'auditflow.conf');
    writeFileSync(config, `redis_url = ${url()}\nstream = faults:secret\n`, { mode: 0o600 });
    const daemon = startDaemon({ args: ['--config', config, '--set', 'redis_command_timeout_ms=300', '--set', 'stats_interval_s=1'] });
    let shown = '';
    try {
      await daemon.waitForLog('running');
      await daemon.waitForLog('stats');
      const env = { ...process.env, AUDITFLOW_RUNTIME_DIR: daemon.dirs.runtime };
      for (const args of [['status', '--config', config], ['status', '--json', '--config', config]]) {
        const result = await run(process.execPath, [cli, ...args], { env });
        expect(result.code).toBe(0);
        shown += result.stdout + result.stderr;
      }
      expect(shown).toContain(`redis://***@127.0.0.1:${redis.port}`);
      // Redis goes away while flows come: its errors reach the stats lines and the status file.
      await redis.kill();
      await startConnects(47000, 20).done;
      const away = (line: { msg: string; sink?: unknown }): boolean => line.msg === 'stats' && (line.sink as { state?: string } | undefined)?.state !== 'ready';
      await until(() => daemon.logs.some(away), 10_000, 'a stats line with Redis away');
      await until(() => readSnapshot(daemon.dirs.runtime)?.sinkHealth.lastError !== undefined, 10_000, 'the error in the status file');
      shown += readFileSync(join(daemon.dirs.runtime, 'status.json'), 'utf8');
      await redis.restart();
      await until(() => readSnapshot(daemon.dirs.runtime)?.sinkHealth.state === 'ready', 20_000, 'Redis back');
      shown += readFileSync(join(daemon.dirs.runtime, 'status.json'), 'utf8');
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    shown += daemon.stdout() + daemon.stderr();
    expect(shown.length).toBeGreaterThan(1000);
    expect(shown).not.toContain(PASSWORD);
  });
});
