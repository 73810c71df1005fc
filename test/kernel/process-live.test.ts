// Process context on the real kernel: the default ruleset (rules/network.rules, each rule
// narrowed to uid 65534 so only this test's children are audited), the records read by the
// audit socket, the pipeline with createProcessResolver() reading the real /proc. The
// children (test/helpers/process-workload.c) run as uid/gid 65534 and connect to a listener
// of this process on loopback.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchRecords } from '../../src/audit/socket.js';
import type { Flow } from '../../src/pipeline/flow.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { createProcessResolver } from '../../src/pipeline/process/index.js';
import { procSocketResolver } from '../../src/pipeline/sockets.js';
import { removeCgroup } from '../helpers/cgroup.js';
import { finished, waitForLine } from '../helpers/child.js';
import { registerWithRules, useKernel, type TestAuditDaemon } from '../helpers/kernel.js';
import { networkRulesWhere } from '../helpers/network-rules.js';
import { until } from '../helpers/until.js';

const kernel = useKernel();
const WORKLOAD_SOURCE = fileURLToPath(new URL('../helpers/process-workload.c', import.meta.url));
const NOBODY = 65534;
// Arguments with spaces, quotes, a shell expansion that must stay text, non-ASCII, and one long
// enough that PROCTITLE (128 bytes) cannot hold the whole command line.
const ODD_ARGS = ['with space', `quo"te's`, '$(not run)', 'ünïcødé ✓', `long-${'x'.repeat(150)}`];

const flows: Flow[] = [];
const processContext = createProcessResolver({
  labels: [
    { exe: '/**/apt-flowtest', label: 'software_mgmt' },
    { key: 'auditflow-bind', label: 'binder' },
  ],
});
const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), resolver: procSocketResolver(), processContext });
let daemon: TestAuditDaemon | undefined;
let server: Server;
let port: number;
let dir: string;
let childBin: string;
let parentBin: string;
let aptBin: string;
// While set, records wait here instead of entering the pipeline: a delivery delay, staged.
let held: Array<[number, Buffer]> | undefined;

const nameOf = (database: 'passwd' | 'group', id: number): string => execFileSync('getent', [database, String(id)], { encoding: 'utf8' }).split(':')[0] ?? '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'auditflow-process-'));
  chmodSync(dir, 0o755);
  childBin = join(dir, 'process-workload');
  execFileSync('gcc', ['-O1', '-Wall', '-o', childBin, WORKLOAD_SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  parentBin = join(dir, 'flow-parent');
  aptBin = join(dir, 'apt-flowtest');
  copyFileSync(childBin, parentBin);
  copyFileSync(childBin, aptBin);
  for (const bin of [childBin, parentBin, aptBin]) chmodSync(bin, 0o755);
  server = createServer((connection) => connection.on('error', () => {}).resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  daemon = await registerWithRules(kernel.control, networkRulesWhere(`-F uid=${NOBODY}`), (batch) => {
    for (const record of batchRecords(batch)) {
      if (held) held.push([record.type, Buffer.from(record.payload)]);
      else pipeline.pushKernelRecord(record.type, record.payload);
    }
  });
});

afterAll(async () => {
  await daemon?.close();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function runAsNobody(bin: string, args: string[], cwd = dir): ChildProcess {
  return spawn(bin, args, { uid: NOBODY, gid: NOBODY, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

const connectOf = (pid: number): Flow | undefined => flows.find((flow) => flow.pid === pid && flow.op === 'connect');

async function connectFlow(pid: number): Promise<Flow> {
  await until(() => connectOf(pid) !== undefined, 10_000, `the connect flow of pid ${pid}`);
  return connectOf(pid)!;
}

describe('process context on the real kernel', () => {
  it('names a child exactly: exe, argv with spaces, quotes and non-ASCII, parent, user, cwd', async () => {
    const args = ['--connect', String(port), '--hold', '--', ...ODD_ARGS];
    const started = Date.now();
    const parent = runAsNobody(parentBin, ['--spawn', childBin, ...args]);
    const done = finished(parent);
    try {
      const childPid = Number(/^connected (\d+)$/.exec(await waitForLine(parent, /^connected \d+$/))?.[1]);
      const flow = await connectFlow(childPid);
      const auid = Number(readFileSync('/proc/self/loginuid', 'utf8'));
      expect(flow).toMatchObject({
        result: 'ok',
        remote_port: port,
        key: 'auditflow-connect',
        pid: childPid,
        ppid: parent.pid,
        uid: NOBODY,
        user: nameOf('passwd', NOBODY),
        euid: NOBODY,
        euser: nameOf('passwd', NOBODY),
        gid: NOBODY,
        group: nameOf('group', NOBODY),
        auid,
        auser: auid === 4294967295 ? 'unset' : nameOf('passwd', auid),
        comm: 'process-workloa',
        exe: childBin,
        argv: [childBin, ...args],
        cwd: realpathSync(dir),
        proc_gone: false,
        parent_exe: parentBin,
        parent_comm: 'flow-parent',
        parent_argv: [parentBin, '--spawn', childBin, ...args],
        labels: [],
      });
      expect(flow.proc_start).toBeGreaterThanOrEqual(started - 1000);
      expect(flow.proc_start).toBeLessThanOrEqual(flow.ts + 100);
    } finally {
      parent.stdin?.end();
      await done;
    }
  });

  it('marks a process that exited right after connecting proc_gone, with its record fields and nothing else of its own', async () => {
    held = [];
    let child: ChildProcess;
    try {
      child = runAsNobody(childBin, ['--connect', String(port), '--', 'short-lived']);
      const exit = await finished(child);
      expect(exit.code).toBe(0);
      // The kernel has delivered its records; the process is gone before the pipeline sees them.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      const records = held;
      held = undefined;
      for (const [type, payload] of records) pipeline.pushKernelRecord(type, payload);
    }
    const flow = await connectFlow(child.pid ?? -1);
    expect(flow).toMatchObject({
      result: 'ok',
      ppid: process.pid,
      user: nameOf('passwd', NOBODY),
      exe: childBin,
      argv: [childBin, '--connect', String(port), '--', 'short-lived'],
      proc_gone: true,
      cwd: null,
      proc_start: null,
      container_id: null,
      unit: null,
      parent_exe: realpathSync(process.execPath),
    });
  });

  it('finds the container of a process in a cgroup named like a docker scope', async () => {
    const id = randomBytes(32).toString('hex');
    const v2Root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : undefined;
    const root = v2Root ?? '/sys/fs/cgroup/systemd';
    const slice = join(root, `auditflow-test-${process.pid}.slice`);
    const scope = join(slice, `docker-${id}.scope`);
    const child = runAsNobody(childBin, ['--wait', '--connect', String(port), '--hold']);
    const done = finished(child);
    const pid = child.pid ?? -1;
    // Where the child was, to move it back: its line of the hierarchy we use.
    const home = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find(([hierarchy, controllers]) => (v2Root ? hierarchy === '0' && controllers === '' : controllers === 'name=systemd'))
      ?.slice(2)
      .join(':');
    mkdirSync(scope, { recursive: true });
    try {
      writeFileSync(join(scope, 'cgroup.procs'), String(pid));
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/auditflow-test-${process.pid}.slice/docker-${id}.scope`);
      child.stdin?.write('go\n');
      const flow = await connectFlow(pid);
      expect(flow).toMatchObject({ proc_gone: false, container_id: id, container_runtime: 'docker', pod_uid: null, unit: null, exe: childBin });
    } finally {
      if (home !== undefined && child.exitCode === null) writeFileSync(join(root, home, 'cgroup.procs'), String(pid));
      child.stdin?.end();
      await done;
      for (const path of [scope, slice]) await removeCgroup(path);
    }
    expect(existsSync(slice)).toBe(false);
  });

  it('labels a program by its exe and its bind key, and the child it starts afterwards', async () => {
    const parent = runAsNobody(aptBin, ['--bind', '--spawn', childBin, '--connect', String(port), '--hold']);
    const done = finished(parent);
    try {
      const childPid = Number(/^connected (\d+)$/.exec(await waitForLine(parent, /^connected \d+$/))?.[1]);
      const flow = await connectFlow(childPid);
      expect(flow).toMatchObject({ ppid: parent.pid, parent_exe: aptBin, labels: ['binder', 'software_mgmt'] });
      const bind = flows.find((candidate) => candidate.pid === parent.pid && candidate.op === 'bind');
      expect(bind?.labels).toEqual(['binder', 'software_mgmt']);
    } finally {
      parent.stdin?.end();
      await done;
    }
  });

  /** The connect flow of a child that a parent started, both with `args` after their own. */
  async function childWithArgs(args: string[]): Promise<Flow> {
    const parent = runAsNobody(parentBin, ['--spawn', childBin, '--connect', String(port), '--hold', '--', ...args]);
    const done = finished(parent);
    try {
      const childPid = Number(/^connected (\d+)$/.exec(await waitForLine(parent, /^connected \d+$/))?.[1]);
      await pipeline.drain();
      return await connectFlow(childPid);
    } finally {
      parent.stdin?.end();
      await done;
    }
  }

  it('bounds a command line of 10,000 arguments to argv_max_args (64), of a process and of its parent', async () => {
    const flow = await childWithArgs(Array.from({ length: 10_000 }, (_, i) => String(i % 10)));
    expect(flow.argv).toHaveLength(64);
    expect(flow.argv.slice(0, 7)).toEqual([childBin, '--connect', String(port), '--hold', '--', '0', '1']);
    expect(flow.argv_truncated).toBe(true);
    expect(flow.parent_argv).toHaveLength(64);
    expect(flow.parent_argv?.[0]).toBe(parentBin);
    expect(flow.parent_argv_truncated).toBe(true);
  });

  it('bounds a 1 MiB command line, of a process and of its parent, and holds no more memory for 100 of them', async () => {
    // One argument may be at most MAX_ARG_STRLEN (32 pages, include/uapi/linux/binfmts.h): eight of 128 KiB.
    const huge = Array.from({ length: 8 }, (_, i) => `${i}${'y'.repeat(128 * 1024 - 2)}`);
    const spawnOne = (): Promise<Flow> => childWithArgs(huge);
    const first = await spawnOne();
    expect(first.argv.slice(0, 4)).toEqual([childBin, '--connect', String(port), '--hold']);
    expect(Buffer.byteLength(first.argv.join('\0'))).toBeLessThanOrEqual(4096);
    expect(first.argv_truncated).toBe(true);
    expect(Buffer.byteLength(first.parent_argv!.join('\0'))).toBeLessThanOrEqual(4096);
    expect(first.parent_argv?.[0]).toBe(parentBin);
    expect(first.parent_argv_truncated).toBe(true);

    const before = process.memoryUsage().rss;
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, spawnOne));
      for (const flow of batch) expect([flow.argv_truncated, flow.parent_argv_truncated]).toEqual([true, true]);
    }
    // Whole command lines would be 2 MiB a flow (argv and parent_argv): 200 MiB for these 100. The
    // test process's RSS also moves with its own work (200 children, their pipes, V8's heap growth:
    // 38 MiB once in CI, under 32 in most runs), so the bound is a quarter of the unbounded growth.
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  }, 120_000);

  it('read /proc without a timeout', async () => {
    await pipeline.drain();
    expect(pipeline.stats().process).toMatchObject({ timeouts: 0, pending: 0 });
  });
});
