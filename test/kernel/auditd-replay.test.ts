// `auditflow replay` on a log written by a real auditd, against the live pipeline on the same
// events. Debian's auditd 3.0.9 (unpacked into .cache/auditd, never installed) runs in the
// foreground as the kernel's audit daemon with a private config, writing RAW, then ENRICHED;
// the default ruleset (narrowed to this test's children) is loaded; beside it, auditflow reads
// the same records as a multicast listener (AUDIT_NLGRP_READLOG, read-only) into two live
// pipelines: one as the daemon runs it (/proc resolution) and one from the records alone.
// Every scenario of the workload runs at once, holding its sockets open; then auditd gets
// SIGTERM and the built `auditflow replay` reads its log.
//
// Replay must give exactly the flows the live pipeline made from the same records, field by
// field, serial by serial (from an ENRICHED log, plus the user and group names auditd wrote
// there); the daemon's pipeline may add only what /proc knew at the time
// and a log cannot say: the local side of a connect, a send or an accept, the port the
// kernel chose for a bind to port 0, and the Community ID that needs both ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditSocket, batchRecords } from '../../src/audit/socket.js';
import { restoreAuditState } from '../../src/audit/state-guard.js';
import type { AuditStatus } from '../../src/audit/status.js';
import type { Flow } from '../../src/pipeline/flow.js';
import { Pipeline, type PipelineStats } from '../../src/pipeline/pipeline.js';
import { procSocketResolver } from '../../src/pipeline/sockets.js';
import { AUDITD_PID_FILE, startAuditd, type LogFormat, type RunningAuditd } from '../helpers/auditd.js';
import { finished, run, waitForLine, type Finished } from '../helpers/child.js';
import { expectValidEntries } from '../helpers/entry-schema.js';
import { useKernel } from '../helpers/kernel.js';
import { networkRulesForChildren } from '../helpers/network-rules.js';
import { buildWorkload, SCENARIOS, workloadOutput, type Scenario } from '../helpers/workload.js';

const kernel = useKernel();
const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const rules = networkRulesForChildren();
let workload: string;

// The fields only /proc can fill: the records of a connect, a send or an accept do not hold
// the socket's local address, nor a bind to port 0 the port chosen; the Community ID needs both ends.
const PROC_ONLY_FIELDS = new Set(['local_addr', 'local_port', 'community_id']);
// ENRICHED logs carry auditd's names for the ids (UID="root" ...), which replay uses; the
// kernel's records have none (the daemon's process stage names them from /etc/passwd).
const ENRICHED_NAME_FIELDS = ['user', 'euser', 'group'] as const;

/** The flows without auditd's names, for comparing an ENRICHED log's flows with the kernel's. */
const withoutNames = (flows: Flow[]): Flow[] => flows.map((flow) => ({ ...flow, user: null, euser: null, group: null }));

interface Child {
  scenario: Scenario;
  pid: number;
  output: Map<string, string[]>;
}

interface SideBySide {
  auditd: Finished;
  log: string;
  /** The live pipeline as the daemon runs it: /proc resolution on. */
  live: Flow[];
  /** The live pipeline on the same records without /proc: what a log can give. */
  recordsOnly: Flow[];
  recordsOnlyStats: PipelineStats;
  replayed: Flow[];
  replay: Finished;
  children: Child[];
  statusAfterStop: AuditStatus;
  rulesAfterStop: string[];
}

const bySerial = (flows: Flow[]): Flow[] => [...flows].sort((a, b) => a.serial - b.serial || a.count - b.count);
const hex = (list: Buffer[]): string[] => list.map((rule) => rule.toString('hex'));

/** Waits until `count()` stayed the same for `quietMs`: the kernel has delivered what it had. */
async function quiet(count: () => number, quietMs: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (count() !== last) {
    if (Date.now() > deadline) throw new Error(`records kept arriving for ${timeoutMs} ms`);
    last = count();
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}

async function sideBySide(format: LogFormat): Promise<SideBySide> {
  const live: Flow[] = [];
  const recordsOnly: Flow[] = [];
  const withProc = new Pipeline({ onFlow: (flow) => live.push(flow), resolver: procSocketResolver() });
  const plain = new Pipeline({ onFlow: (flow) => recordsOnly.push(flow) });
  let records = 0;
  const reader = new AuditSocket({
    mode: 'multicast',
    onBatch: (batch) => {
      records += batchRecords(batch).length;
      withProc.pushBatch(batch);
      plain.pushBatch(batch);
    },
  });
  let auditd: RunningAuditd | undefined;
  const running: Array<{ child: ChildProcess; done: Promise<Finished> }> = [];
  try {
    auditd = await startAuditd(kernel.control, format);
    // Loaded once (the first run); auditd leaves them in the kernel when it exits.
    const loaded = new Set(hex(await kernel.control.listRules()));
    for (const rule of rules) if (!loaded.has(rule.toString('hex'))) await kernel.control.addRule(rule);

    // Every scenario at once, so their events interleave; each holds its sockets open until
    // its stdin closes, so /proc still shows them while the records are read.
    for (const scenario of SCENARIOS) {
      const child = spawn(workload, [scenario, '--hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
      running.push({ child, done: finished(child) });
    }
    await Promise.all(running.map(({ child }) => waitForLine(child, /^done$/)));
    await quiet(() => records, 500);
    for (const { child } of running) child.stdin?.end();
    const results = await Promise.all(running.map(({ done }) => done));
    const children = results.map((result, i) => {
      if (result.code !== 0) throw new Error(`${SCENARIOS[i]}: workload exited ${result.code}: ${result.stderr}`);
      return { scenario: SCENARIOS[i]!, pid: running[i]!.child.pid ?? -1, output: workloadOutput(result.stdout) };
    });

    const stopped = await auditd.stop();
    const statusAfterStop = await kernel.control.status();
    const rulesAfterStop = hex(await kernel.control.listRules());
    withProc.flush();
    plain.flush();

    const replay = await run(process.execPath, [cli, 'replay', auditd.logFile]);
    const replayed = replay.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Flow);
    expectValidEntries(replayed);
    return {
      auditd: stopped,
      log: readFileSync(auditd.logFile, 'latin1'),
      live,
      recordsOnly,
      recordsOnlyStats: plain.stats(),
      replayed,
      replay,
      children,
      statusAfterStop,
      rulesAfterStop,
    };
  } finally {
    for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(running.map(({ done }) => done.catch(() => undefined)));
    await auditd?.stop();
    await reader.close();
    if (auditd) rmSync(auditd.dir, { recursive: true, force: true });
  }
}

const runs = new Map<LogFormat, SideBySide>();

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build (npm test does)`);
  workload = buildWorkload();
});

describe.each(['RAW', 'ENRICHED'] as const)('auditd writing %s, auditflow listening beside it', (format) => {
  let side: SideBySide;
  beforeAll(async () => {
    side = await sideBySide(format);
    runs.set(format, side);
  });

  it('auditd ran as the audit daemon, wrote its log in that format and stopped cleanly on SIGTERM', () => {
    expect(side.auditd.code, side.auditd.stderr).toBe(0);
    const lines = side.log.split('\n').filter((line) => line !== '');
    expect(lines[0]).toMatch(new RegExp(`^type=DAEMON_START msg=audit\\(.*format=${format.toLowerCase()} `));
    expect(lines.at(-1)).toMatch(/^type=DAEMON_END msg=audit\(.*op=terminate /);
    // ENRICHED appends auditd's interpretation after a 0x1D byte; RAW never does.
    expect(side.log.includes('\x1d')).toBe(format === 'ENRICHED');
  });

  it('replay reads the whole log: no malformed line, no serial gap, no event cut short', () => {
    expect(side.replay.code, side.replay.stderr).toBe(0);
    expect(side.replay.stderr).toMatch(/^auditflow replay: \d+ lines, \d+ records, \d+ events, \d+ flows\n/);
    expect(side.replay.stderr).not.toMatch(/malformed|parse_error|serial_gap|reassembly_timeout|late_record/);
    expect(side.recordsOnlyStats.losses).not.toHaveProperty('serial_gap');
  });

  it('replay gives exactly the flows the live pipeline made from the same records, field by field', () => {
    const workloadPids = new Set(side.children.map((child) => child.pid));
    expect(side.replayed.length).toBeGreaterThanOrEqual(20);
    expect(side.replayed.every((flow) => workloadPids.has(flow.pid ?? -1))).toBe(true);
    if (format === 'RAW') {
      expect(bySerial(side.replayed)).toEqual(bySerial(side.recordsOnly));
    } else {
      expect(bySerial(withoutNames(side.replayed))).toEqual(bySerial(side.recordsOnly));
      // The workload runs as root: auditd named uid, euid and gid 0 so.
      for (const flow of side.replayed) expect({ uid: flow.uid, user: flow.user, euser: flow.euser, gid: flow.gid, group: flow.group }).toEqual({ uid: 0, user: 'root', euser: 'root', gid: 0, group: 'root' });
    }
  });

  it("the daemon's pipeline has the same flows; it adds only the local side, which only /proc knew", () => {
    const key = (flow: Flow): string => `${flow.serial}:${flow.count}`;
    const replayed = new Map(withoutNames(side.replayed).map((flow) => [key(flow), flow]));
    expect(bySerial(side.live).map(key)).toEqual(bySerial(side.replayed).map(key));
    expect(side.live.every((flow) => ENRICHED_NAME_FIELDS.every((field) => flow[field] === null))).toBe(true);
    const added = new Set<string>();
    for (const flow of side.live) {
      const fromLog = replayed.get(key(flow))!;
      for (const [field, value] of Object.entries(flow)) {
        const logged = fromLog[field as keyof Flow];
        if (JSON.stringify(value) === JSON.stringify(logged)) continue;
        const what = `serial ${flow.serial} ${flow.op} ${field}: live ${JSON.stringify(value)}, replay ${JSON.stringify(logged)}`;
        // An accept without an address buffer has no SOCKADDR: its peer too is only in the socket.
        const peerOnlyInSocket = flow.op === 'accept' && fromLog.remote_addr === null && (field === 'remote_addr' || field === 'remote_port');
        expect(PROC_ONLY_FIELDS.has(field) || peerOnlyInSocket, what).toBe(true);
        // A bind to port 0 logs port 0; the port the kernel chose is only in /proc.
        expect(logged, what).toBe(flow.op === 'bind' && field === 'local_port' ? 0 : null);
        added.add(`${flow.op}.${field}`);
      }
    }
    // The peer of an accept without an address buffer comes from its socket when it was still open (not asserted: a race).
    expect([...added].filter((field) => field !== 'accept.remote_addr' && field !== 'accept.remote_port').sort()).toEqual([
      'accept.community_id',
      'accept.local_addr',
      'accept.local_port',
      'bind.local_port',
      'connect.community_id',
      'connect.local_addr',
      'connect.local_port',
      'sendmsg.local_addr',
      'sendmsg.local_port',
      'sendto.local_addr',
      'sendto.local_port',
    ]);
    const child = side.children.find((candidate) => candidate.scenario === 'connect-tcp4-ok')!;
    expect(side.live.find((flow) => flow.pid === child.pid && flow.op === 'connect')).toMatchObject({ local_addr: '127.0.0.1', local_port: Number(child.output.get('local')?.[0]) });
  });

  it('the replayed flows are the scenarios the workload ran: protocol, direction, result and the remote end', () => {
    const flowsOf = (scenario: Scenario): Flow[] => {
      const child = side.children.find((candidate) => candidate.scenario === scenario)!;
      return side.replayed.filter((flow) => flow.pid === child.pid);
    };
    const value = (scenario: Scenario, name: string): number => Number(side.children.find((child) => child.scenario === scenario)?.output.get(name)?.[0]);
    const ops = (scenario: Scenario): string[] => flowsOf(scenario).map((flow) => `${flow.op} ${flow.result}`);

    expect(flowsOf('connect-tcp4-ok').find((flow) => flow.op === 'connect')).toMatchObject({ direction: 'egress', result: 'ok', family: 'inet', proto: 'tcp', remote_addr: '127.0.0.1', remote_port: value('connect-tcp4-ok', 'server'), key: 'auditflow-connect' });
    expect(flowsOf('connect-tcp4-refused')).toMatchObject([{ op: 'connect', result: 'ECONNREFUSED', proto: 'tcp', remote_addr: '127.0.0.1', remote_port: 9 }]);
    expect(flowsOf('connect-tcp6-ok').find((flow) => flow.op === 'connect')).toMatchObject({ result: 'ok', family: 'inet6', proto: 'tcp', remote_addr: '::1', remote_port: value('connect-tcp6-ok', 'server') });
    expect(flowsOf('connect-tcp6-refused')).toMatchObject([{ op: 'connect', result: 'ECONNREFUSED', family: 'inet6', proto: 'tcp', remote_port: 9 }]);
    expect(flowsOf('connect-tcp4-nonblock').find((flow) => flow.op === 'connect')).toMatchObject({ result: 'inprogress', proto: 'tcp' });
    expect(flowsOf('sendto-udp4').find((flow) => flow.op === 'sendto')).toMatchObject({ direction: 'egress', proto: 'udp', proto_num: 17, remote_port: value('sendto-udp4', 'server'), key: 'auditflow-send' });
    expect(flowsOf('sendto-udp6').find((flow) => flow.op === 'sendto')).toMatchObject({ family: 'inet6', proto: 'udp', remote_addr: '::1', remote_port: value('sendto-udp6', 'server') });
    expect(flowsOf('sendto-repeat').filter((flow) => flow.op === 'sendto').map((flow) => flow.count)).toEqual([1, 4]);
    expect(flowsOf('bind-ipv4')).toMatchObject([{ op: 'bind', direction: 'listen', result: 'ok', proto: 'tcp', local_addr: '127.0.0.1', local_port: 47391 }]);
    expect(flowsOf('bind-ipv6')).toMatchObject([{ op: 'bind', proto: 'udp', local_addr: '::1', local_port: 47392 }]);
    for (const scenario of ['accept-peer', 'accept4-peer', 'accept6-peer'] as const) {
      expect(flowsOf(scenario).find((flow) => flow.op === 'accept'), scenario).toMatchObject({ direction: 'ingress', result: 'ok', proto: 'tcp', remote_port: value(scenario, 'local'), key: 'auditflow-accept' });
    }
    expect(flowsOf('comm-hex')).toMatchObject([{ op: 'connect', comm: 'my "odd" name' }]);
    // saddr_fam rules keep these out in the kernel (rules/network.rules).
    expect(ops('unix-ignored')).toEqual([]);
    expect(ops('netlink-ignored')).toEqual([]);
    // An accept without an address buffer: the a1=0 rule takes it; no peer in the log (live, the socket has it).
    expect(flowsOf('accept-nopeer').filter((flow) => flow.op === 'accept')).toMatchObject([{ result: 'ok', remote_addr: null, key: 'auditflow-accept' }]);
  });
});

it('auditd left auditing enabled and the rules loaded; restoring the snapshot undoes both', async () => {
  expect(runs.size).toBe(2);
  for (const [format, side] of runs) {
    expect(side.statusAfterStop, format).toMatchObject({ enabled: 1, pid: 0 });
    expect(side.rulesAfterStop, format).toEqual(expect.arrayContaining(hex(rules)));
  }
  expect(existsSync(AUDITD_PID_FILE)).toBe(false);
  await restoreAuditState(kernel.control, kernel.snapshot);
  const status = await kernel.control.status();
  expect({ enabled: status.enabled, pid: status.pid }).toEqual({ enabled: kernel.snapshot.status.enabled, pid: kernel.snapshot.status.pid });
  expect(hex(await kernel.control.listRules())).toEqual(hex(kernel.snapshot.rules));
});
