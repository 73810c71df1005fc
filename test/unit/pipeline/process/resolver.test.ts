// The process resolver on real captured flows (test/fixtures/connect-tcp4-ok.log: pid 16609,
// ppid 16408) with a /proc laid out in a temporary directory (test/helpers/fake-proc.ts), so
// exits, pid reuse, execs and slow reads can be staged exactly.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeProcessReads, type ProcessRead } from '../../../../src/native/process-reads.js';
import type { Flow } from '../../../../src/pipeline/flow.js';
import { Pipeline } from '../../../../src/pipeline/pipeline.js';
import { createProcessResolver, LabelRules, ProcessConfigError, ProcessResolver, UserNames, type ProcessResolverOptions } from '../../../../src/pipeline/process/index.js';
import { FakeProc, type FakeProcess } from '../../../helpers/fake-proc.js';
import { fixtureLines, kernelRecord, recordBatch, runLogLines } from '../fixtures.js';

const LINES = fixtureLines('connect-tcp4-ok');
const RECORDED = runLogLines(LINES).flows;
const T = RECORDED[0]!.ts;
const EXE = RECORDED[0]!.exe!;
const PID = 16609;
const PPID = 16408;
const BOOT = T - 3_600_000;
// Ticks after boot: the child started 0.5 s before its events, the parent long before.
const CHILD_TICKS = (T - 500 - BOOT) / 10;
const PARENT_TICKS = 100_000;
const DOCKER_ID = '2a55517bd2c9f85d2e1911cb4cd0840a4aa299513af411fb437c0661dd88d11b';

let proc: FakeProc;
let clock: number;
let users: UserNames;
let etc: string;

const child = (over: Partial<FakeProcess> = {}): FakeProcess => ({
  pid: PID,
  ppid: PPID,
  comm: 'fixture-workloa',
  startTicks: CHILD_TICKS,
  exe: EXE,
  cwd: '/srv/work dir',
  argv: [EXE, 'connect-tcp4-ok'],
  cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n`,
  ...over,
});
const parent = (over: Partial<FakeProcess> = {}): FakeProcess => ({
  pid: PPID,
  ppid: 1,
  comm: 'bash',
  startTicks: PARENT_TICKS,
  exe: '/usr/bin/bash',
  cwd: '/root',
  argv: ['bash', '-c', 'run "it" ünï'],
  cgroup: '0::/user.slice/user-0.slice/session-4.scope\n',
  ...over,
});
const init: FakeProcess = { pid: 1, ppid: 0, comm: 'systemd', startTicks: 1, exe: '/usr/lib/systemd/systemd', cwd: '/', argv: ['/sbin/init'], cgroup: '0::/init.scope\n' };

beforeEach(() => {
  clock = T + 2000;
  proc = new FakeProc(BOOT, clock);
  etc = mkdtempSync(join(tmpdir(), 'auditflow-etc-'));
  copyFileSync('/etc/passwd', join(etc, 'passwd'));
  copyFileSync('/etc/group', join(etc, 'group'));
  users = new UserNames({ passwdPath: join(etc, 'passwd'), groupPath: join(etc, 'group'), checkIntervalMs: 0, now: () => clock });
  proc.add(init);
});

afterEach(async () => {
  await Promise.all(created.splice(0).map((made) => made.close()));
  proc.dispose();
  rmSync(etc, { recursive: true, force: true });
});

const created: ProcessResolver[] = [];
const resolver = (options: ProcessResolverOptions = {}): ProcessResolver => {
  const made = new ProcessResolver({ procRoot: proc.root, users, now: () => clock, ...options });
  created.push(made);
  return made;
};
const copy = (over: Partial<Flow> = {}): Flow => ({ ...structuredClone(RECORDED[1]!), ...over });

/** Pushes flows; resolves with them once all came out (in the order they came out). */
async function resolveAll(stage: ProcessResolver, flows: Flow[]): Promise<Flow[]> {
  // The worker thread runs before the first flow: on a loaded machine starting it takes longer than a short lookupTimeoutMs.
  await stage.ready();
  const out: Flow[] = [];
  for (const flow of flows) stage.push(flow, (done) => out.push(done));
  await stage.settled();
  return out;
}

describe('the process resolver', () => {
  it('gives the fixture flows through the pipeline their /proc context, names and parent', async () => {
    proc.add(parent());
    proc.add(child());
    const processContext = resolver();
    await processContext.ready();
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), processContext });
    for (const line of LINES) pipeline.pushLogLine(line);
    await pipeline.drain();
    expect(flows.map((flow) => flow.op)).toEqual(['bind', 'connect']);
    for (const flow of flows) {
      expect(flow).toMatchObject({
        pid: PID,
        exe: EXE,
        user: 'root',
        euser: 'root',
        group: 'root',
        auser: 'unset',
        cwd: '/srv/work dir',
        proc_gone: false,
        proc_start: proc.startMs(CHILD_TICKS),
        parent_exe: '/usr/bin/bash',
        parent_comm: 'bash',
        parent_argv: ['bash', '-c', 'run "it" ünï'],
        container_id: DOCKER_ID,
        container_runtime: 'docker',
        pod_uid: null,
        unit: null,
        labels: [],
      });
    }
    // socket() started the lookup; child and parent (and init, for inheritance) were read once each.
    expect(pipeline.stats().process).toMatchObject({ lookups: 3, gone: 0, timeouts: 0, pending: 0, cached: 3 });
  });

  it('marks a process that exited before the lookup proc_gone, keeping the record fields and its live parent', async () => {
    proc.add(parent());
    const [flow] = await resolveAll(resolver(), [copy()]);
    expect(flow).toMatchObject({ ...RECORDED[1], user: 'root', euser: 'root', group: 'root', proc_gone: true, cwd: null, proc_start: null, container_id: null, parent_exe: '/usr/bin/bash', parent_comm: 'bash', parent_argv: ['bash', '-c', 'run "it" ünï'] });
  });

  it("gives a process that exited before the lookup its parent's container when the parent is in one, and stays proc_gone", async () => {
    proc.add(parent({ cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n` }));
    const [flow] = await resolveAll(resolver(), [copy()]);
    expect(flow).toMatchObject({ proc_gone: true, cwd: null, container_id: DOCKER_ID, container_runtime: 'docker', unit: null, parent_exe: '/usr/bin/bash' });
  });

  it("gives a process that exited between its identity check and the read of its cgroup its parent's container", async () => {
    proc.add(parent({ cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n` }));
    proc.add(child());
    // What the worker finds of a process that has just exited: no cgroup file to read.
    rmSync(join(proc.root, String(PID), 'cgroup'));
    const [flow] = await resolveAll(resolver(), [copy()]);
    expect(flow).toMatchObject({ proc_gone: false, cwd: '/srv/work dir', container_id: DOCKER_ID, container_runtime: 'docker', unit: null });
  });

  it("gives a process in another network namespace that namespace's inode, one in the daemon's none, and a gone one its parent's when that is in another", async () => {
    const own = 4026531833;
    proc.add(parent({ netns: own }));
    proc.add(child({ netns: 4026532175 }));
    const [inside] = await resolveAll(resolver({ ownNetns: own }), [copy()]);
    expect(inside).toMatchObject({ proc_gone: false, netns: 4026532175 });
    proc.add(child({ netns: own }));
    const [host] = await resolveAll(resolver({ ownNetns: own }), [copy()]);
    expect(host).not.toHaveProperty('netns');
    proc.remove(PID);
    proc.add(parent({ netns: 4026532180 }));
    const [gone] = await resolveAll(resolver({ ownNetns: own }), [copy()]);
    expect(gone).toMatchObject({ proc_gone: true, netns: 4026532180 });
    proc.add(parent({ netns: own }));
    const [goneOnHost] = await resolveAll(resolver({ ownNetns: own }), [copy()]);
    expect(goneOnHost).not.toHaveProperty('netns');
  });

  it('treats a zombie as gone', async () => {
    proc.add(parent());
    proc.add(child({ state: 'Z' }));
    const [flow] = await resolveAll(resolver(), [copy()]);
    expect(flow).toMatchObject({ proc_gone: true, cwd: null, container_id: null });
  });

  it('never attaches a reused pid: neither the new process to an old event, nor cached data to a new one', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver();
    // Seen alive now (T + 2 s), with its event at T.
    const [first] = await resolveAll(stage, [copy()]);
    expect(first).toMatchObject({ proc_gone: false, cwd: '/srv/work dir', container_id: DOCKER_ID });

    // It exits; another process gets its pid at T + 4 s; now is T + 5 s.
    clock = T + 5000;
    proc.setNow(clock);
    const successor = child({ startTicks: CHILD_TICKS + 450, exe: '/usr/bin/curl', cwd: '/tmp', argv: ['curl', 'x'], cgroup: '0::/system.slice/cron.service\n' });
    proc.add(successor);
    const successorData = { cwd: '/tmp', unit: 'cron.service' };

    // An event from before it was last seen alive is its own (from the cache; or, if the
    // check came too late for that, gone), never the successor's.
    const [old] = await resolveAll(stage, [copy()]);
    expect(old).not.toMatchObject(successorData);
    expect(old?.proc_gone === true || old?.cwd === '/srv/work dir').toBe(true);

    // An event after it was last seen, before the successor started: gone.
    const [late] = await resolveAll(stage, [copy({ ts: T + 3000 })]);
    expect(late).toMatchObject({ proc_gone: true, cwd: null, container_id: null, unit: null, argv: RECORDED[1]!.argv });

    // An event of the successor: its own data, not the cache's.
    const [next] = await resolveAll(stage, [copy({ ts: T + 4500, exe: '/usr/bin/curl', argv: ['curl', 'x'] })]);
    expect(next).toMatchObject({ proc_gone: false, ...successorData, container_id: null, proc_start: proc.startMs(CHILD_TICKS + 450) });
  });

  it('takes a burst of one process from the cache after one stat read, as long as the events predate it', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver();
    await resolveAll(stage, [copy()]);
    // The process is gone from /proc now, but these events happened before it was seen alive.
    proc.remove(PID);
    const burst = await resolveAll(stage, [copy({ ts: T + 1 }), copy({ ts: T + 2 })]);
    expect(burst.map((flow) => [flow.proc_gone, flow.cwd])).toEqual([
      [false, '/srv/work dir'],
      [false, '/srv/work dir'],
    ]);
    // An event after that moment needs /proc, and finds the process gone.
    const [after] = await resolveAll(stage, [copy({ ts: clock + 1 })]);
    expect(after?.proc_gone).toBe(true);
  });

  it('reads a process again after an exec (same pid and start time, another exe)', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver();
    await resolveAll(stage, [copy()]);
    proc.add(child({ exe: '/usr/bin/python3', cwd: '/opt', argv: ['python3', 'app.py'] }));
    const [after] = await resolveAll(stage, [copy({ exe: '/usr/bin/python3', argv: ['python3', 'app.py'] })]);
    expect(after).toMatchObject({ proc_gone: false, cwd: '/opt' });
    expect(stage.stats().lookups).toBe(4);
  });

  it('reads a cached process again after the time-to-live, and not before', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver({ ttlMs: 10_000 });
    await resolveAll(stage, [copy()]);
    proc.add(child({ cwd: '/elsewhere' }));
    clock += 9_999;
    proc.setNow(clock);
    expect((await resolveAll(stage, [copy()]))[0]?.cwd).toBe('/srv/work dir');
    clock += 1;
    proc.setNow(clock);
    expect((await resolveAll(stage, [copy()]))[0]?.cwd).toBe('/elsewhere');
  });

  it('stays within its cache size', async () => {
    proc.add(parent());
    const stage = resolver({ cacheSize: 2 });
    for (let i = 0; i < 5; i++) proc.add(child({ pid: 20_000 + i }));
    await resolveAll(
      stage,
      [0, 1, 2, 3, 4].map((i) => copy({ pid: 20_000 + i })),
    );
    expect(stage.stats()).toMatchObject({ cached: 2 });
    expect(stage.stats().evictions).toBeGreaterThan(0);
  });

  it('replaces a PROCTITLE cut at 128 bytes by the whole command line, only when it begins with it', async () => {
    proc.add(parent());
    const long = [EXE, 'connect-tcp4-ok', 'x'.repeat(300)];
    const cut = Buffer.from(long.join('\0')).subarray(0, 128).toString('utf8').split('\0');
    proc.add(child({ argv: long }));
    const [whole] = await resolveAll(resolver(), [copy({ argv: cut })]);
    expect(whole?.argv).toEqual(long);

    proc.add(child({ argv: ['/bin/other', 'y'.repeat(300)] }));
    const [kept] = await resolveAll(resolver(), [copy({ argv: cut })]);
    expect(kept?.argv).toEqual(cut);
  });

  it('keeps the order of flows, and lets a stuck cmdline read hold them back at most lookupTimeoutMs', async () => {
    proc.add(parent());
    proc.add(child());
    proc.add(child({ pid: 30_000 }));
    // A FIFO for a cmdline: reading it blocks (in the worker thread, not this one) until a writer comes.
    rmSync(join(proc.root, '30000', 'cmdline'));
    execFileSync('mkfifo', [join(proc.root, '30000', 'cmdline')]);
    const stage = resolver({ lookupTimeoutMs: 150 });
    await resolveAll(stage, [copy()]);
    const out: Flow[] = [];
    const started = Date.now();
    stage.push(copy({ pid: 30_000, serial: 1 }), (flow) => out.push(flow));
    stage.push(copy({ serial: 2 }), (flow) => out.push(flow));
    expect(out).toEqual([]);
    await stage.settled();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    // The first goes out with what this thread read (exe, cwd), without the worker's part.
    expect(out.map((flow) => [flow.serial, flow.proc_gone, flow.cwd, flow.container_id])).toEqual([
      [1, false, '/srv/work dir', null],
      [2, false, '/srv/work dir', DOCKER_ID],
    ]);
    expect(stage.stats()).toMatchObject({ timeouts: 1, pending: 0 });
    // Let the blocked read finish (non-blocking open: it fails rather than hangs if no reader is there).
    closeSync(openSync(join(proc.root, '30000', 'cmdline'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
  });

  it('releases waiting flows at flush(), with what is known so far', () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver();
    const out: Flow[] = [];
    stage.push(copy(), (flow) => out.push(flow));
    stage.flush();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ proc_gone: false, cwd: '/srv/work dir', container_id: null, parent_argv: null, user: 'root' });
    expect(stage.stats()).toMatchObject({ timeouts: 1, pending: 0 });
  });

  it('names users from the passwd file as it is now', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver();
    expect((await resolveAll(stage, [copy()]))[0]?.user).toBe('root');
    writeFileSync(join(etc, 'passwd'), 'operator0:x:0:0::/root:/bin/sh\n');
    expect((await resolveAll(stage, [copy()]))[0]).toMatchObject({ user: 'operator0', euser: 'operator0', auser: 'unset' });
  });
});

describe('labels', () => {
  it('come from an ancestor exe and reach children and grandchildren started under it', async () => {
    proc.add(parent({ exe: '/usr/bin/apt-get', argv: ['apt-get', 'update'] }));
    proc.add(child({ pid: 21_000, ppid: PPID, exe: '/usr/lib/apt/methods/http', argv: ['/usr/lib/apt/methods/http'] }));
    proc.add(child({ pid: 21_001, ppid: 21_000, startTicks: CHILD_TICKS + 1 }));
    const stage = resolver({ labels: new LabelRules([{ exe: '/usr/bin/apt*', label: 'software_mgmt' }]) });
    const flows = await resolveAll(stage, [copy({ pid: 21_000, ppid: PPID, exe: '/usr/lib/apt/methods/http' }), copy({ pid: 21_001, ppid: 21_000 })]);
    expect(flows.map((flow) => flow.labels)).toEqual([['software_mgmt'], ['software_mgmt']]);
    expect(flows[1]).toMatchObject({ parent_exe: '/usr/lib/apt/methods/http' });
  });

  it('come from a rule key and reach the children seen afterwards, also one that already exited', async () => {
    proc.add(parent({ pid: 22_000, ppid: 1, startTicks: CHILD_TICKS - 100, exe: '/usr/bin/apt-get' }));
    proc.add(child({ pid: 22_001, ppid: 22_000 }));
    const stage = resolver({ labels: new LabelRules([{ key: 'parent-key', label: 'software_mgmt' }]) });
    const before = await resolveAll(stage, [copy({ pid: 22_001, ppid: 22_000, key: 'other' })]);
    expect(before[0]?.labels).toEqual([]);
    const flows = await resolveAll(stage, [
      copy({ pid: 22_000, ppid: 1, exe: '/usr/bin/apt-get', key: 'parent-key' }),
      copy({ pid: 22_002, ppid: 22_000, key: 'other' }),
    ]);
    proc.add(child({ pid: 22_003, ppid: 22_000, startTicks: CHILD_TICKS + 1 }));
    const later = await resolveAll(stage, [copy({ pid: 22_003, ppid: 22_000, key: 'other' })]);
    expect(flows.map((flow) => [flow.pid, flow.proc_gone, flow.labels])).toEqual([
      [22_000, false, ['software_mgmt']],
      [22_002, true, ['software_mgmt']],
    ]);
    expect(later[0]?.labels).toEqual(['software_mgmt']);
  });
});

describe("the addon's early process reads", () => {
  const UNIT_CGROUP = '0::/af-test.slice/af-test-1.service\n';
  // What the lookup thread read of the child microseconds after its socket() (just before the connect).
  const early = (over: Partial<ProcessRead> = {}): ProcessRead => ({ pid: PID, startTicks: CHILD_TICKS, readAtMs: T - 1, cgroup: UNIT_CGROUP, status: 0, ...over });

  it('give a process gone before the lookup its own unit and container, not its parent\'s, and it stays proc_gone', async () => {
    proc.add(parent({ cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n` }));
    const stage = resolver();
    stage.earlyRead(early());
    const [onHost] = await resolveAll(stage, [copy()]);
    expect(onHost).toMatchObject({ proc_gone: true, cwd: null, unit: 'af-test-1.service', container_id: null, container_runtime: null, parent_exe: '/usr/bin/bash', parent_argv: ['bash', '-c', 'run "it" ünï'] });
    proc.add(parent());
    const other = resolver();
    other.earlyRead(early({ cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n` }));
    const [inside] = await resolveAll(other, [copy()]);
    expect(inside).toMatchObject({ proc_gone: true, container_id: DOCKER_ID, container_runtime: 'docker', unit: null });
    expect(other.stats()).toMatchObject({ gone: 1, earlyReads: 1, earlyUsed: 1 });
  });

  it("give a process alive for its identity check but gone before its cgroup was read its own cgroup, only from a read of that same process", async () => {
    proc.add(parent({ cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n` }));
    proc.add(child());
    rmSync(join(proc.root, String(PID), 'cgroup'));
    const stage = resolver();
    stage.earlyRead(early());
    const [same] = await resolveAll(stage, [copy()]);
    expect(same).toMatchObject({ proc_gone: false, cwd: '/srv/work dir', unit: 'af-test-1.service', container_id: null });
    // A read of an earlier process at the pid: the parent's container, as without a read.
    const other = resolver();
    other.earlyRead(early({ startTicks: CHILD_TICKS - 100 }));
    const [earlier] = await resolveAll(other, [copy()]);
    expect(earlier).toMatchObject({ proc_gone: false, unit: null, container_id: DOCKER_ID });
  });

  it('are never given to an event before the process read started (a reused pid), nor long after it was seen alive', async () => {
    proc.add(parent({ cgroup: `0::/system.slice/docker-${DOCKER_ID}.scope\n` }));
    const stage = resolver();
    // The read's process started 1 s after the event: a later holder of the pid.
    stage.earlyRead(early({ startTicks: CHILD_TICKS + 150, readAtMs: T + 1100 }));
    const [later] = await resolveAll(stage, [copy()]);
    expect(later).toMatchObject({ proc_gone: true, unit: null, container_id: DOCKER_ID, container_runtime: 'docker' });
    // Seen alive 10 s before the event: the pid may have changed hands since.
    stage.earlyRead(early({ startTicks: CHILD_TICKS - 1500, readAtMs: T - 10_000 }));
    const [stale] = await resolveAll(stage, [copy()]);
    expect(stale).toMatchObject({ proc_gone: true, unit: null, container_id: DOCKER_ID });
    // A zombie at the pid that is not the read's process and started by the event: it may be the event's.
    proc.add(child({ state: 'Z', startTicks: CHILD_TICKS + 10 }));
    stage.earlyRead(early());
    const [zombie] = await resolveAll(stage, [copy()]);
    expect(zombie).toMatchObject({ proc_gone: true, unit: null, container_id: DOCKER_ID });
    // The read's own process as a zombie: its read stands.
    proc.add(child({ state: 'Z' }));
    const [own] = await resolveAll(stage, [copy()]);
    expect(own).toMatchObject({ proc_gone: true, unit: 'af-test-1.service', container_id: null });
    expect(stage.stats().earlyUsed).toBe(1);
  });

  it('are replaced by a newer read of the pid, also one without a cgroup', async () => {
    proc.add(parent());
    const stage = resolver();
    stage.earlyRead(early({ startTicks: CHILD_TICKS - 100 }));
    stage.earlyRead(early({ cgroup: null, status: 7 }));
    const [flow] = await resolveAll(stage, [copy()]);
    expect(flow).toMatchObject({ proc_gone: true, unit: null });
    expect(stage.stats()).toMatchObject({ earlyReads: 1, earlyUsed: 0 });
  });

  it('are kept up to earlyReadsMax, the oldest going first', async () => {
    proc.add(parent());
    const stage = resolver({ earlyReadsMax: 2 });
    stage.earlyRead(early());
    stage.earlyRead(early({ pid: PID + 1 }));
    stage.earlyRead(early({ pid: PID + 2 }));
    expect(stage.stats().earlyReads).toBe(2);
    const [evicted, kept] = await resolveAll(stage, [copy(), copy({ pid: PID + 2 })]);
    expect(evicted).toMatchObject({ proc_gone: true, unit: null });
    expect(kept).toMatchObject({ proc_gone: true, unit: 'af-test-1.service' });
  });

  it('reach the resolver from the batch that carries them, before its flows', async () => {
    proc.add(parent());
    const processContext = resolver();
    await processContext.ready();
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), processContext });
    pipeline.pushBatch({ ...recordBatch(LINES.map(kernelRecord)), processes: encodeProcessReads([early()]) });
    await pipeline.drain();
    expect(flows.map((flow) => [flow.op, flow.proc_gone, flow.unit])).toEqual([
      ['bind', true, 'af-test-1.service'],
      ['connect', true, 'af-test-1.service'],
    ]);
  });
});

describe('createProcessResolver', () => {
  it('builds a resolver from the daemon config', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = createProcessResolver({ procRoot: proc.root, passwdPath: join(etc, 'passwd'), groupPath: join(etc, 'group'), cacheSize: 10, ttlMs: 5000, lookupTimeoutMs: 100, labels: [{ key: 'auditflow-fixture', label: 'fixture' }] });
    created.push(stage);
    const [flow] = await resolveAll(stage, [copy({ ts: Date.now() })]);
    expect(flow).toMatchObject({ user: 'root', labels: ['fixture'] });
  });

  it('names the setting it cannot use', () => {
    expect(() => createProcessResolver({ cacheSize: 0 })).toThrow(ProcessConfigError);
    expect(() => createProcessResolver({ cacheSize: 1.5 })).toThrow(/cacheSize must be a whole number/);
    expect(() => createProcessResolver({ ttlMs: -1 })).toThrow(/ttlMs must be a non-negative number/);
    expect(() => createProcessResolver({ lookupTimeoutMs: Number.NaN })).toThrow(/lookupTimeoutMs/);
    expect(() => createProcessResolver({ labels: [{ label: 'x' }] })).toThrow(/labels\[0\]/);
    expect(() => createProcessResolver({ procRoot: join(etc, 'no-such-proc') })).toThrow(/procRoot .*no-such-proc/);
  });
});
