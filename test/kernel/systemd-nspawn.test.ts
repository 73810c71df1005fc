// The unit under a real systemd (npm run test:systemd; skipped unless AUDITFLOW_SYSTEMD_TEST=1: a cold
// run debootstraps a Debian system first, minutes). A minbase bookworm with systemd (cached in
// ~/.cache/auditflow/bookworm-<packages>) boots in systemd-nspawn, sharing the host's network; the packed
// auditflow and the host's node are bind-mounted; scripts/install-service.sh installs the unit, its
// user and the config into the container's root as setup.sh does, plus a drop-in for multicast mode
// (the kernel refuses the daemon slot, and every audit request, outside the initial pid namespace).
// Checked: active after READY=1, alive past WatchdogSec, reload applies a changed setting, flows reach a
// redis-server on the host's loopback, the capability sets are the unit's, no SIGSYS, a clean stop.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { networkRulesForChildren } from '../helpers/network-rules.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const enabled = process.env.AUDITFLOW_SYSTEMD_TEST === '1';
const repo = fileURLToPath(new URL('../../', import.meta.url));
// procps: the unit's ExecReload= runs /bin/kill, which minbase leaves out (every standard install has it,
// priority important).
const PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'procps'];
const cache = join(homedir(), `.cache/auditflow/bookworm-${PACKAGES.join('-')}`);
const unitText = readFileSync(join(repo, 'systemd/auditflow.service'), 'utf8');
const watchdogS = Number(/^WatchdogSec=(\d+)$/m.exec(unitText)?.[1]);
// The unit's capabilities, as /proc/<pid>/status bits (include/uapi/linux/capability.h).
const CAP_BITS: Record<string, number> = { CAP_DAC_READ_SEARCH: 2, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_PTRACE: 19, CAP_AUDIT_CONTROL: 30, CAP_AUDIT_READ: 37 };
const unitCaps = [...unitText.matchAll(/^CapabilityBoundingSet=(.*)$/gm)].flatMap((match) => (match[1] ?? '').split(' '));

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env, timeout: 600_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${String(result.status)}\n${result.stderr}`);
  return result.stdout;
}

/** The Debian mirror apt uses here (debootstrap fetches from it). */
function debianMirror(): string {
  for (const file of existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d') : []) {
    const uri = /^URIs:\s*(\S+)/m.exec(readFileSync(join('/etc/apt/sources.list.d', file), 'utf8'))?.[1];
    if (uri !== undefined && !uri.includes('security')) return uri;
  }
  return 'http://deb.debian.org/debian';
}

/** The cached root, made once (about 2.5 minutes here). */
function bookwormRoot(): void {
  if (existsSync(join(cache, 'usr/lib/systemd/systemd'))) return;
  const work = `${cache}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(cache, '..'), { recursive: true });
  run('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, 'bookworm', work, debianMirror()]);
  renameSync(work, cache);
}

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms\n${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(!enabled)('the unit under a real systemd (npm run test:systemd; skipped unless AUDITFLOW_SYSTEMD_TEST=1)', () => {
  const kernel = useKernel();
  const scratch = mkdtempSync(join(tmpdir(), 'auditflow-nspawn-'));
  const root = join(scratch, 'root');
  const prefix = join(scratch, 'prefix');
  const stream = `auditflow:nspawn-test:${process.pid}`;
  let redis: RedisServer;
  let nspawn: ChildProcess | undefined;
  let leader = 0;
  let mainPid = 0;
  const rules = networkRulesForChildren();
  const inside = (...args: string[]): { status: number | null; stdout: string } => {
    const result = spawnSync('nsenter', ['-t', String(leader), '-a', ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, stdout: result.stdout.trim() };
  };
  const show = (property: string): string => inside('systemctl', 'show', '--property', property, '--value', 'auditflow.service').stdout;
  const journal = (): string => inside('journalctl', '--unit', 'auditflow.service', '--no-pager', '--output', 'cat').stdout;

  beforeAll(async () => {
    const started = Date.now();
    bookwormRoot();
    // cp -a: the root holds device nodes (dev/ptmx, dev/null) that fs.cpSync cannot copy.
    run('cp', ['-a', cache, root]);
    run('bash', ['scripts/install-package.sh'], { ...process.env, npm_config_prefix: prefix });
    // install-service.sh as setup.sh runs it, into the container's root: the user, the config, the unit
    // (ExecStart under /opt/auditflow, where the package is bind-mounted); systemctl is the container's own, later.
    const standIns = join(scratch, 'bin');
    mkdirSync(standIns);
    writeFileSync(join(standIns, 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    run('bash', ['scripts/install-service.sh'], { ...process.env, DESTDIR: root, npm_config_prefix: '/opt/auditflow', PATH: `${standIns}:${process.env.PATH ?? ''}` });
    rmSync(join(root, 'run/systemd'), { recursive: true });
    redis = await startRedis();
    const units = join(root, 'etc/systemd/system');
    mkdirSync(join(units, 'auditflow.service.d'));
    writeFileSync(
      join(units, 'auditflow.service.d/multicast.conf'),
      `[Service]\nEnvironment=AUDITFLOW_MODE=multicast\nEnvironment=AUDITFLOW_REDIS_URL=redis://127.0.0.1:${redis.port}/0\nEnvironment=AUDITFLOW_STREAM=${stream}\n`,
    );
    const config = join(root, 'etc/auditflow/auditflow.conf');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^#stats_interval_s = .*$/m, 'stats_interval_s = 0'));
    mkdirSync(join(units, 'multi-user.target.wants'), { recursive: true });
    symlinkSync('/etc/systemd/system/auditflow.service', join(units, 'multi-user.target.wants/auditflow.service'));

    // The host's kernel audits this test's children; the container reads the multicast group.
    if ((await kernel.control.status()).enabled === 0) await kernel.control.set({ enabled: 1 });
    for (const rule of rules) await kernel.control.addRule(rule);

    nspawn = spawn(
      'systemd-nspawn',
      ['-D', root, '--register=no', '--keep-unit', '--boot', `--machine=auditflow-test-${process.pid}`, '--capability=CAP_AUDIT_READ,CAP_NET_ADMIN', '--bind-ro=/usr/bin/node:/usr/local/bin/node', `--bind-ro=${prefix}:/opt/auditflow`],
      // nspawn's own seccomp filter refuses NETLINK_AUDIT sockets; the unit's filter still applies inside.
      { env: { ...process.env, SYSTEMD_SECCOMP: '0' }, stdio: ['ignore', 'ignore', 'ignore'] },
    );
    await eventually(() => {
      leader = Number(spawnSync('ps', ['--ppid', String(nspawn?.pid), '-o', 'pid='], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
      return leader > 0 && inside('systemctl', 'is-active', 'auditflow.service').stdout === 'active';
    }, 120_000, () => journal());
    mainPid = Number(show('MainPID'));
    console.log(`booted with auditflow active in ${Math.round((Date.now() - started) / 1000)} s`);
  }, 900_000);

  afterAll(async () => {
    try {
      if (nspawn?.pid !== undefined && nspawn.exitCode === null) {
        const exited = new Promise((resolve) => nspawn?.on('exit', resolve));
        inside('systemctl', 'poweroff');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
        if (nspawn.exitCode === null) nspawn.kill('SIGKILL');
      }
      for (const rule of rules) await kernel.control.deleteRule(rule).catch(() => undefined);
      await redis?.stop();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);

  it('is active once the daemon said READY=1, as its own user with exactly the unit\'s capabilities, under its system call filter', () => {
    expect(show('ActiveState')).toBe('active');
    expect(show('StatusText')).toMatch(/flows/);
    const status = inside('cat', `/proc/${mainPid}/status`).stdout;
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const user = /^auditflow:x:(\d+):/m.exec(readFileSync(join(root, 'etc/passwd'), 'utf8'))?.[1];
    expect(field('Uid').split(/\s+/)).toEqual([user, user, user, user]);
    const expected = unitCaps.reduce((bits, cap) => bits | (1n << BigInt(CAP_BITS[cap] ?? 63)), 0n);
    for (const set of ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(BigInt(`0x${field(set)}`), set).toBe(expected);
    expect(field('Seccomp')).toBe('2');
    expect(field('NoNewPrivs')).toBe('1');
    expect(journal()).toMatch(/"obtained":\d+,"msg":"audit socket receive buffer"/);
  });

  it('publishes the flows of the host\'s connects to a redis-server on the host\'s loopback', async () => {
    const server = spawn('node', ['-e', "require('net').createServer(() => {}).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], { stdio: ['ignore', 'pipe', 'ignore'] });
    const port = await new Promise<number>((resolve) => server.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    try {
      spawnSync('node', ['-e', `const s = require('net').connect(${port}, '127.0.0.1', () => setTimeout(() => s.destroy(), 200))`]);
      await eventually(async () => (await readStream(redis.url, stream)).some((entry) => entry.fields.remote_port === String(port)), 20_000, () => journal());
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('is alive past WatchdogSec, not restarted', async () => {
    await new Promise((resolve) => setTimeout(resolve, (watchdogS + 5) * 1000));
    expect(show('ActiveState')).toBe('active');
    expect(Number(show('MainPID'))).toBe(mainPid);
    expect(show('NRestarts')).toBe('0');
  }, (watchdogS + 30) * 1000);

  it('applies a changed setting on systemctl reload', async () => {
    const config = join(root, 'etc/auditflow/auditflow.conf');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^stats_interval_s = 0$/m, 'stats_interval_s = 1'));
    expect(journal()).not.toMatch(/"msg":"stats"/);
    expect(inside('systemctl', 'reload', 'auditflow.service').status).toBe(0);
    await eventually(() => /"msg":"stats"/.test(journal()), 10_000, () => journal());
    expect(Number(show('MainPID'))).toBe(mainPid);
  });

  it('stops cleanly on systemctl stop, never killed by a system call its filter refused (SIGSYS)', () => {
    expect(inside('systemctl', 'stop', 'auditflow.service').status).toBe(0);
    expect(show('Result')).toBe('success');
    expect(show('ExecMainStatus')).toBe('0');
    expect(show('ExecMainCode')).toBe('1'); // CLD_EXITED: exited, not killed by a signal
    expect(journal()).not.toMatch(/SIGSYS|status=31/);
    expect(journal()).toMatch(/"msg":"stopped"/);
  });
});
