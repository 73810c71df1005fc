// Pipeline.oldestPendingSerial() is what the daemon's crash checkpoint rests on: nothing the pipeline
// emits later may have a serial at or below a checkpoint taken from it.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { ProcessResolver } from '../../../src/pipeline/process/index.js';
import { FakeProc } from '../../helpers/fake-proc.js';
import { fixtureLines, runLogLines } from './fixtures.js';

const serialOf = (line: string): number => Number(/:(\d+)\):/.exec(line)?.[1]);

const connect = fixtureLines('connect-tcp4-ok');
const serials = [...new Set(connect.map(serialOf))];

/** Feeds `lines` one by one, taking a checkpoint after each, and returns what was emitted after each checkpoint. */
function run(lines: string[]): { emitted: Array<{ serial: number; what: string }>; violations: string[] } {
  const emitted: Array<{ serial: number; what: string }> = [];
  const pipeline = new Pipeline({
    onFlow: (flow) => emitted.push({ serial: flow.serial, what: `flow ${flow.op}` }),
    onLoss: (loss) => {
      if (loss.count > 0 && loss.firstSerial !== undefined) emitted.push({ serial: loss.firstSerial, what: loss.reason });
    },
    aggregateWindowMs: 10_000,
  });
  let newest = 0;
  const checkpoints: Array<{ at: number; serial: number }> = [];
  const checkpoint = (): void => {
    const pending = pipeline.oldestPendingSerial();
    checkpoints.push({ at: emitted.length, serial: pending === undefined ? newest : Math.min(newest, pending - 1) });
  };
  for (const line of lines) {
    pipeline.pushLogLine(line);
    newest = Math.max(newest, serialOf(line));
    checkpoint();
  }
  pipeline.advance(Date.now());
  checkpoint();
  pipeline.flush();
  expect(pipeline.oldestPendingSerial()).toBeUndefined();
  const violations = checkpoints.flatMap(({ at, serial }) => emitted.slice(at).filter((e) => e.serial <= serial).map((e) => `${e.what} ${e.serial} after a checkpoint at ${serial}`));
  return { emitted, violations };
}

describe('Pipeline.oldestPendingSerial: nothing emitted later is at or below a checkpoint', () => {
  it.each([
    ['a send counted in an open aggregation window', fixtureLines('sendto-repeat'), 'flow sendto'],
    ['an event whose serial never came (a gap)', connect.filter((line) => serialOf(line) !== serials[1]), 'serial_gap'],
    ['an event without its PROCTITLE and EOE', connect.filter((line) => !(serialOf(line) === serials.at(-1) && /^type=(PROCTITLE|EOE) /.test(line))), 'reassembly_timeout'],
  ])('%s', (_name, lines, late) => {
    const { emitted, violations } = run(lines);
    expect(emitted.map((e) => e.what)).toContain(late);
    expect(violations).toEqual([]);
  });
});

describe('Pipeline.oldestPendingSerial with the process stage', () => {
  it('stays below a flow that waits for its process context', async () => {
    // The connect fixture's process, with a cmdline that blocks its reader (a FIFO): its flow waits.
    const flows = runLogLines(connect).flows;
    const pid = flows[0]?.pid as number;
    const clock = flows[0]!.ts + 2000;
    const proc = new FakeProc(flows[0]!.ts - 3_600_000, clock);
    proc.add({ pid: 1, ppid: 0, comm: 'systemd', startTicks: 1, exe: '/usr/lib/systemd/systemd', cwd: '/', argv: ['/sbin/init'], cgroup: '0::/init.scope\n' });
    proc.add({ pid, ppid: 1, comm: 'fixture-workloa', startTicks: 360_000 - 50, exe: flows[0]!.exe as string, cwd: '/', argv: ['w'], cgroup: '0::/\n' });
    rmSync(join(proc.root, String(pid), 'cmdline'));
    execFileSync('mkfifo', [join(proc.root, String(pid), 'cmdline')]);
    const processContext = new ProcessResolver({ procRoot: proc.root, lookupTimeoutMs: 60_000, now: () => clock });
    try {
      const out: number[] = [];
      const pipeline = new Pipeline({ onFlow: (flow) => out.push(flow.serial), processContext });
      for (const line of connect) pipeline.pushLogLine(line);
      expect(out).toEqual([]);
      expect(pipeline.oldestPendingSerial()).toBe(Math.min(...flows.map((flow) => flow.serial)));
      pipeline.flush();
      expect(out).toEqual(flows.map((flow) => flow.serial));
      expect(pipeline.oldestPendingSerial()).toBeUndefined();
    } finally {
      // Unblock the worker's read once it is there (opening a FIFO without a reader fails, ENXIO).
      for (let tries = 0; tries < 100; tries++) {
        try {
          closeSync(openSync(join(proc.root, String(pid), 'cmdline'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      await processContext.close();
      proc.dispose();
    }
  });
});
