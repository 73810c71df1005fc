// What a local user controls stays bounded in the process stage: command lines are read only up to
// argv_max_bytes and argv_max_args (and flows say so), the cache holds a bounded number of bytes, and the identity of a
// process is checked at most once per pid per kernel batch, never for an event that is no flow.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, copyFileSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Flow } from '../../../../src/pipeline/flow.js';
import { Pipeline } from '../../../../src/pipeline/pipeline.js';
import { cmdlineArgv, createProcessResolver, LabelRules, LruTtlCache, ProcessResolver, UserNames, type ProcessResolverOptions } from '../../../../src/pipeline/process/index.js';
import { FakeProc, type FakeProcess } from '../../../helpers/fake-proc.js';
import { fixtureLines, runLogLines } from '../fixtures.js';

const LINES = fixtureLines('connect-tcp4-ok');
const RECORDED = runLogLines(LINES).flows;
const T = RECORDED[0]!.ts;
const PID = 16609;
const PPID = 16408;
const BOOT = T - 3_600_000;
const CHILD_TICKS = (T - 500 - BOOT) / 10;
// A PROCTITLE the kernel cut at 128 bytes: the flow's argv before /proc replaces it.
const CUT_TITLE = [RECORDED[1]!.exe!, 'a'.repeat(200)];
const CUT = Buffer.from(CUT_TITLE.join('\0')).subarray(0, 128).toString('utf8').split('\0');

let proc: FakeProc;
let clock: number;
let etc: string;
const created: ProcessResolver[] = [];

const child = (over: Partial<FakeProcess> = {}): FakeProcess => ({ pid: PID, ppid: PPID, comm: 'fixture-workloa', startTicks: CHILD_TICKS, exe: RECORDED[1]!.exe!, cwd: '/srv', argv: ['w'], ...over });
const parent = (over: Partial<FakeProcess> = {}): FakeProcess => ({ pid: PPID, ppid: 1, comm: 'bash', startTicks: 100_000, exe: '/usr/bin/bash', cwd: '/root', argv: ['bash'], ...over });
const copy = (over: Partial<Flow> = {}): Flow => ({ ...structuredClone(RECORDED[1]!), ...over });

beforeEach(() => {
  clock = T + 2000;
  proc = new FakeProc(BOOT, clock);
  etc = mkdtempSync(join(tmpdir(), 'auditflow-etc-'));
  copyFileSync('/etc/passwd', join(etc, 'passwd'));
  copyFileSync('/etc/group', join(etc, 'group'));
  proc.add({ pid: 1, ppid: 0, comm: 'systemd', startTicks: 1, exe: '/usr/lib/systemd/systemd', cwd: '/', argv: ['/sbin/init'] });
});

afterEach(async () => {
  await Promise.all(created.splice(0).map((made) => made.close()));
  proc.dispose();
  rmSync(etc, { recursive: true, force: true });
});

const resolver = (options: ProcessResolverOptions = {}): ProcessResolver => {
  const users = new UserNames({ passwdPath: join(etc, 'passwd'), groupPath: join(etc, 'group'), checkIntervalMs: 0, now: () => clock });
  // Flows wait for the worker's answer as long as a loaded test machine may take.
  const made = new ProcessResolver({ procRoot: proc.root, users, now: () => clock, lookupTimeoutMs: 10_000, ...options });
  created.push(made);
  return made;
};

async function resolveAll(stage: ProcessResolver, flows: Flow[]): Promise<Flow[]> {
  await stage.ready();
  const out: Flow[] = [];
  for (const flow of flows) stage.push(flow, (done) => out.push(done));
  await stage.settled();
  return out;
}

const joinedBytes = (argv: readonly string[]): number => Buffer.byteLength(argv.join('\0'));

describe('command lines from /proc', () => {
  it('are cut at the bound, at a character boundary, and say so', () => {
    const bytes = Buffer.from('prog\0ééé\0');
    expect(cmdlineArgv(bytes, 100)).toEqual({ argv: ['prog', 'ééé'], truncated: false });
    // 'prog\0é' is 7 bytes; 8 would split the second é.
    expect(cmdlineArgv(bytes, 8)).toEqual({ argv: ['prog', 'é'], truncated: true });
    expect(cmdlineArgv(bytes, 9)).toEqual({ argv: ['prog', 'éé'], truncated: true });
    expect(cmdlineArgv(Buffer.from('prog\0x\0'), 6, true)).toEqual({ argv: ['prog', 'x'], truncated: true });
    expect(cmdlineArgv(Buffer.alloc(0), 6)).toEqual({ argv: [], truncated: false });
  });

  it('are cut at the argument count, also when the arguments are empty', () => {
    expect(cmdlineArgv(Buffer.from('a\0b\0c\0'), 100, false, 2)).toEqual({ argv: ['a', 'b'], truncated: true });
    expect(cmdlineArgv(Buffer.from('a\0b\0'), 100, false, 2)).toEqual({ argv: ['a', 'b'], truncated: false });
    expect(cmdlineArgv(Buffer.from('\0\0\0x'), 100, false, 1)).toEqual({ argv: [''], truncated: true });
    expect(cmdlineArgv(Buffer.from('\0\0\0x'), 100, false, 3)).toEqual({ argv: ['', '', ''], truncated: true });
    // A byte bound that ends right after a NUL leaves an empty last argument: it counts too.
    expect(cmdlineArgv(Buffer.from(`a\0${'b'.repeat(200)}`), 128, false, 2)).toEqual({ argv: ['a', 'b'.repeat(126)], truncated: true });
    expect(cmdlineArgv(Buffer.from(`${'a'.repeat(127)}\0b`), 128, false, 1)).toEqual({ argv: ['a'.repeat(127)], truncated: true });
    expect(cmdlineArgv(Buffer.from(`${'a'.repeat(127)}\0b`), 128, false, 2)).toEqual({ argv: ['a'.repeat(127), ''], truncated: true });
    // A 2 MiB argument area of empty arguments gives the count, not a million strings.
    expect(cmdlineArgv(Buffer.alloc(2 << 20), 4096, false, 64)).toEqual({ argv: [], truncated: false });
    const empties = Buffer.concat([Buffer.alloc(4095), Buffer.from('x')]);
    expect(cmdlineArgv(empties, 4096, true, 64)).toEqual({ argv: Array.from({ length: 64 }, () => ''), truncated: true });
  });

  it('bound argv and parent_argv of 10,000 arguments to argv_max_args, marked truncated', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => String(i % 10));
    proc.add(parent({ argv: ['/usr/bin/bash', ...many] }));
    proc.add(child({ argv: [...CUT_TITLE, ...many] }));
    const [flow] = await resolveAll(resolver({ argvMaxBytes: 1 << 20, argvMaxArgs: 5 }), [copy({ argv: CUT })]);
    expect(flow!.argv).toEqual([...CUT_TITLE, '0', '1', '2']);
    expect(flow!.argv_truncated).toBe(true);
    expect(flow!.parent_argv).toEqual(['/usr/bin/bash', '0', '1', '2', '3']);
    expect(flow!.parent_argv_truncated).toBe(true);
  });

  it("bound a PROCTITLE of 128 empty arguments to argv_max_args, also when the process is gone", async () => {
    // 127 NULs and a last byte: what the kernel logs for a process with that argument area.
    const title = [...Array.from({ length: 127 }, () => ''), 'x'];
    const [gone, unknown] = await resolveAll(resolver({ argvMaxArgs: 64 }), [copy({ argv: title }), copy({ argv: title, pid: null })]);
    for (const flow of [gone, unknown]) {
      expect(flow!.argv).toEqual(title.slice(0, 64));
      expect(flow!.argv_truncated).toBe(true);
    }
    expect(gone!.proc_gone).toBe(true);
  });

  it('leave a PROCTITLE within argv_max_args as it is, unmarked', async () => {
    const [flow] = await resolveAll(resolver({ argvMaxArgs: 2 }), [copy({ argv: ['nc', '127.0.0.1'] })]);
    expect(flow!.argv).toEqual(['nc', '127.0.0.1']);
    expect(flow).not.toHaveProperty('argv_truncated');
  });

  it('bound argv and parent_argv of a 1 MiB command line, marked truncated', async () => {
    const huge = ['/usr/bin/x', ...Array.from({ length: 1024 }, () => 'b'.repeat(1023))];
    proc.add(parent({ argv: ['/usr/bin/bash', 'p'.repeat(1 << 20)] }));
    proc.add(child({ argv: [...CUT_TITLE, ...huge] }));
    const [flow] = await resolveAll(resolver({ argvMaxBytes: 1000 }), [copy({ argv: CUT })]);
    expect(joinedBytes(flow!.argv)).toBeLessThanOrEqual(1000);
    expect(flow!.argv.slice(0, 2)).toEqual(CUT_TITLE);
    expect(flow!.argv_truncated).toBe(true);
    expect(joinedBytes(flow!.parent_argv!)).toBe(1000);
    expect(flow!.parent_argv_truncated).toBe(true);
  });

  it('are not marked when they fit', async () => {
    proc.add(parent());
    proc.add(child({ argv: CUT_TITLE }));
    const [flow] = await resolveAll(resolver(), [copy({ argv: CUT })]);
    expect(flow).toMatchObject({ argv: CUT_TITLE, parent_argv: ['bash'] });
    expect(flow).not.toHaveProperty('argv_truncated');
    expect(flow).not.toHaveProperty('parent_argv_truncated');
  });

  it('are read only up to the bound: a cmdline that never ends answers at once', async () => {
    proc.add(parent());
    proc.add(child());
    const path = join(proc.root, String(PID), 'cmdline');
    rmSync(path);
    execFileSync('mkfifo', [path]);
    // A writer that never closes: a read to the end of the file would wait for ever (the flow then
    // leaves after lookupTimeoutMs without the command line).
    const writer = openSync(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
    try {
      writeSync(writer, Buffer.from(`${CUT_TITLE.join('\0')}\0${'c'.repeat(4000)}`));
      const stage = resolver({ argvMaxBytes: 300, lookupTimeoutMs: 10_000 });
      const [flow] = await resolveAll(stage, [copy({ argv: CUT })]);
      expect(flow).toMatchObject({ argv: [...CUT_TITLE, 'c'.repeat(300 - joinedBytes(CUT_TITLE) - 1)], argv_truncated: true });
      expect(stage.stats().timeouts).toBe(0);
    } finally {
      closeSync(writer);
    }
  });

  it('keep the cache within its byte bound', async () => {
    proc.add(parent());
    for (let i = 0; i < 20; i++) proc.add(child({ pid: 40_000 + i, argv: ['x'.repeat(3000)] }));
    const stage = resolver({ cacheMaxBytes: 40_000 });
    await resolveAll(stage, Array.from({ length: 20 }, (_, i) => copy({ pid: 40_000 + i })));
    const { cachedBytes, evictions, cached, timeouts } = stage.stats();
    expect(timeouts).toBe(0);
    expect(cachedBytes).toBeLessThanOrEqual(40_000);
    expect(cachedBytes).toBeGreaterThan(0);
    expect(evictions).toBeGreaterThan(0);
    expect(cached).toBeLessThan(21);
  });

  it('refuse a bound below the PROCTITLE length', () => {
    expect(() => createProcessResolver({ argvMaxBytes: 64 })).toThrow(/argvMaxBytes must be a whole number of at least 128/);
    expect(() => createProcessResolver({ argvMaxArgs: 0 })).toThrow(/argvMaxArgs must be a whole number of at least 1/);
  });
});

describe('the byte-bounded cache', () => {
  it('drops the least recently used while over its bytes, also when an entry grows', () => {
    const cache = new LruTtlCache<string>({ maxEntries: 10, ttlMs: 1000, maxBytes: 100 });
    cache.set('a', 'a', 0, 40);
    cache.set('b', 'b', 0, 40);
    expect(cache.bytes).toBe(80);
    cache.resize('a', 70);
    expect(cache.lookup('a', 0)).toBeUndefined();
    expect(cache.bytes).toBe(40);
    cache.set('c', 'c', 0, 200);
    // Alone over the bound, the newest stays: its owner bounds each entry.
    expect([cache.size, cache.bytes, cache.evictions]).toEqual([1, 200, 2]);
  });
});

describe('identity checks', () => {
  it("read a pid's stat at most once per batch, for its own flows and as a parent", async () => {
    proc.add(parent());
    const stage = resolver();
    // The process is gone: every flow asks for it and for its parent (read, with init, the first time).
    const gone = (): Flow[] => [copy({ serial: 1 }), copy({ serial: 2, exe: '/usr/bin/other' }), copy({ serial: 3 })];
    await resolveAll(stage, gone());
    expect(stage.stats().statReads).toBe(7);
    await resolveAll(stage, gone());
    const unbatched = stage.stats().statReads;
    expect(unbatched).toBe(13);
    stage.beginBatch();
    await resolveAll(stage, gone());
    expect(stage.stats().statReads - unbatched).toBe(2);
    // A new batch reads again.
    stage.beginBatch();
    await resolveAll(stage, gone());
    expect(stage.stats().statReads - unbatched).toBe(4);
  });

  it('read again within a batch for an event after the read', async () => {
    proc.add(parent());
    const stage = resolver();
    stage.beginBatch();
    const [first] = await resolveAll(stage, [copy()]);
    expect(first?.proc_gone).toBe(true);
    const before = stage.stats().statReads;
    // The process appears, and an event of it comes after the batch's read: not "gone" from the old read.
    clock += 10;
    proc.add(child());
    const [later] = await resolveAll(stage, [copy({ ts: clock - 5 })]);
    expect(stage.stats().statReads).toBeGreaterThan(before);
    expect(later?.proc_gone).toBe(false);
  });

  it('are not made for socket() events or events the family filter drops; their key labels reach the flows', async () => {
    proc.add(parent());
    proc.add(child());
    const stage = resolver({ labels: new LabelRules([{ key: 'auditflow-fixture', label: 'fixture' }]) });
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), processContext: stage });
    // The socket() event alone (its three records), then an AF_UNIX connect the filter drops.
    for (const line of LINES.slice(0, 3)) pipeline.pushLogLine(line);
    for (const line of fixtureLines('unix-ignored')) pipeline.pushLogLine(line);
    pipeline.flush();
    expect(flows).toEqual([]);
    expect(pipeline.stats().losses).toMatchObject({ family: expect.any(Number) });
    expect(stage.stats()).toMatchObject({ statReads: 0, lookups: 0 });
    // The socket()'s key labels the process once a flow reads it.
    const [flow] = await resolveAll(stage, [copy({ key: null })]);
    expect(flow?.labels).toEqual(['fixture']);
  });
});
