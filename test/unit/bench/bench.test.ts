// The benchmark's parts that need no kernel: its options, its C programs (they compile, and the
// workload's counts follow from its modes), and the pure readers of /proc, auditd logs and results.
// The benchmark itself (npm run bench) is never run by the tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogScan } from '../../../bench/consumers/auditd.js';
import { daemonIdle } from '../../../bench/consumers/auditflow.js';
import { BenchUsageError, parseBenchOptions } from '../../../bench/options.js';
import { parsePeakRss, parseStatTicks } from '../../../bench/proc.js';
import { buildPrograms, type Programs } from '../../../bench/programs.js';
import { formatSpread, summarize, targets } from '../../../bench/report.js';
import type { Sample } from '../../../bench/sample.js';
import { percentile, spread } from '../../../bench/stats.js';
import { parseWorkloadOutput } from '../../../bench/workload.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('bench options', () => {
  it('defaults to every mode and consumer, 3 runs of 2 s, and a 10,000/s fixed-rate run of 20 s', () => {
    const options = parseBenchOptions([], 'out.json');
    expect(options).toMatchObject({ seconds: 2, repeats: 3, workers: 2, fixedRate: 10_000, fixedSeconds: 20, output: 'out.json', baseline: '' });
    expect(options.modes).toEqual(['connect', 'refused', 'sendto', 'unix', 'mixed', 'recv', 'dns']);
    expect(options.consumers).toEqual(['bare', 'drain', 'auditd', 'auditflow']);
  });

  it('keeps the canonical order of lists, and adds the baseline consumer with --baseline', () => {
    const options = parseBenchOptions(['--modes', 'mixed,connect', '--consumers', 'auditflow,drain', '--baseline', '/tmp/x', '--fixed-rate', '0'], 'o');
    expect(options.modes).toEqual(['connect', 'mixed']);
    expect(options.consumers).toEqual(['drain', 'auditflow', 'baseline']);
    expect(options.fixedRate).toBe(0);
    expect(parseBenchOptions(['--set', 'batch_linger_ms=20', '--set', 'queue_limit=5000'], 'o').daemonSettings).toEqual(['batch_linger_ms = 20', 'queue_limit = 5000']);
    expect(parseBenchOptions(['--node-arg=--max-semi-space-size=8', '--node-arg=--single-threaded-gc'], 'o').nodeArgs).toEqual(['--max-semi-space-size=8', '--single-threaded-gc']);
    expect(parseBenchOptions([], 'o').nodeArgs).toEqual([]);
  });

  it('refuses unknown modes, bad numbers and unknown flags with a usage error', () => {
    for (const args of [['--modes', 'tcp'], ['--set', 'linger'], ['--seconds', '0'], ['--repeats', '1.5'], ['--workers', 'two'], ['--fixed-rate', '-1'], ['--bogus'], ['--consumers', '']]) {
      expect(() => parseBenchOptions(args, 'o'), args.join(' ')).toThrow(BenchUsageError);
    }
  });
});

describe('bench C programs', () => {
  let dir: string;
  let programs: Programs;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditflow-bench-'));
    programs = buildPrograms(ROOT, dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => parseWorkloadOutput(execFileSync(programs.workload, args, { encoding: 'utf8' }));

  it('counts per mode what rules/network.rules audits and what becomes a flow', () => {
    const connect = run('connect', '1', '0.2');
    // socket + connect + accept4 per op, after the listener's socket + bind (a bind is a flow).
    expect(connect.audited).toBe(connect.syscalls);
    expect(connect.flows).toBe(1 + ((connect.syscalls - 2) / 3) * 2);
    const refused = run('refused', '1', '0.2');
    expect(refused.flows).toBe(1 + (refused.syscalls - 2) / 2);
    const sendto = run('sendto', '1', '0.2');
    expect(sendto.flows).toBe(1 + (sendto.syscalls - 3));
    const unix = run('unix', '2', '0.2');
    expect(unix).toMatchObject({ audited: 0, flows: 0, failures: 0 });
    expect(unix.syscalls).toBeGreaterThan(0);
    // sendto with an address, then recvfrom with an address buffer: both audited (with udp-ingress), both flows.
    const recv = run('recv', '1', '0.2');
    expect(recv.audited).toBe(recv.syscalls);
    expect(recv.flows).toBe(1 + (recv.syscalls - 3));
    for (const result of [connect, refused, sendto, recv]) expect(result.failures).toBe(0);
  });

  it('makes DNS lookups answered from port 53, each followed by a connect to the answer (as root: the server binds port 53)', () => {
    if (process.getuid?.() !== 0) return;
    const dns = run('dns', '2', '0.2');
    // Per worker: the listener's socket + bind, the DNS server's and client's sockets, its bind and
    // the client's connect (6 audited, 3 flows); per op 7 syscalls, 4 audited, 3 flows.
    const ops = (dns.syscalls - 2 * 6) / 7;
    expect(Number.isInteger(ops) && ops > 0).toBe(true);
    expect(dns).toMatchObject({ audited: 2 * 6 + ops * 4, flows: 2 * 3 + ops * 3, failures: 0 });
  });

  it('holds a fixed rate', () => {
    const paced = run('mixed', '2', '1', '2000');
    expect(paced.seconds).toBeGreaterThanOrEqual(1);
    // Generous: other tests share the machine; a flat-out mixed run makes tens of thousands.
    expect(paced.syscalls).toBeGreaterThan(1000);
    expect(paced.syscalls).toBeLessThan(3000);
  });

  it('rejects bad arguments with exit code 2', () => {
    expect(() => execFileSync(programs.workload, ['tcp', '1', '1'], { stdio: 'pipe' })).toThrow(/status 2|exit code 2|Command failed/);
  });
});

describe('bench readers', () => {
  it('reads utime + stime after the last parenthesis of /proc/<pid>/stat', () => {
    const stat = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 500 0 0';
    expect(parseStatTicks(stat)).toBe(325);
    expect(parsePeakRss('Name:\tnode\nVmHWM:\t  123456 kB\nVmRSS:\t 1 kB\n')).toBe(123456 * 1024);
  });

  it("counts an auditd log's events by serial, skipping auditd's own records", () => {
    const scan = new AuditLogScan('/bench/workload');
    for (const line of [
      'type=DAEMON_START msg=audit(1795252395.000:9001): op=start ver=3.0.9',
      'type=SYSCALL msg=audit(1795252395.901:10): arch=c000003e syscall=42 success=yes exe="/bench/workload" key="auditflow-connect"\x1dARCH=x86_64',
      'type=SOCKADDR msg=audit(1795252395.901:10): saddr=02000050',
      'type=SYSCALL msg=audit(1795252395.902:12): arch=c000003e syscall=42 exe="/usr/bin/curl"',
      'type=EOE msg=audit(1795252395.902:12): ',
    ]) {
      scan.line(line);
    }
    expect(scan.result()).toEqual({ events: 2, serialGaps: 1, exeEvents: 1 });
  });

  it('calls the daemon idle only when two status files in a row show no work', () => {
    const status = (updated: number, records: number, queued = 0) => ({
      updated,
      pipeline: { records, events: 0, flows: 0, losses: {} },
      reader: { records },
      sinkHealth: { queued, spoolBytes: 0, counters: { written: records } },
      backpressure: { blocked: false, heldBatches: 0 },
      losses: {},
    });
    expect(daemonIdle(undefined, status(1, 5))).toBe(false);
    expect(daemonIdle(status(1, 5), status(1, 5))).toBe(false);
    expect(daemonIdle(status(1, 5), status(2, 6))).toBe(false);
    expect(daemonIdle(status(1, 5), status(2, 5, 3))).toBe(false);
    expect(daemonIdle(status(1, 5), status(2, 5))).toBe(true);
  });

  it('summarizes repeats as median and range, and pairs each run with the drain run of its repeat', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(formatSpread({ median: 43_210, min: 41_000, max: 44_100, n: 3 })).toBe('43.2k (41.0k–44.1k)');
    const workload = { syscalls: 0, audited: 0, flows: 10, failures: 0, seconds: 1 };
    const sample = (consumer: Sample['consumer'], repeat: number, rate: number): Sample => ({ run: 'saturated', mode: 'connect', consumer, repeat, workload, syscallsPerSecond: rate });
    const summaries = summarize([sample('drain', 0, 100), sample('auditflow', 0, 95), sample('drain', 1, 200), sample('auditflow', 1, 100)]);
    expect(summaries.find((s) => s.consumer === 'auditflow')?.ratioToDrain).toEqual({ median: 0.725, min: 0.5, max: 0.95, n: 2 });
    expect(targets(summaries, 10_000)[0]).toMatchObject({ name: 'saturated rate vs the drain ceiling', met: false });
  });
});
