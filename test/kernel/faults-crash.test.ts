// Crash: the daemon SIGKILLed in the middle of a burst and started again on the same state and runtime
// directories. Nothing it had taken in may vanish: every connect is a flow or inside a counted loss
// (the downtime is the `daemon_down` loss, from the last serial the old daemon had made safe), the
// restart is marked (`down_since`), and the daemon slot is taken again.
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/daemon/snapshot.js';
import { type DaemonChild, readStream, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { checkConservation, startConnects } from '../helpers/faults.js';
import { useKernel } from '../helpers/kernel.js';
import { startRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

const kernel = useKernel();
const servers = useDaemonRedis();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (daemon: DaemonChild): boolean => daemon.child.exitCode === null && daemon.child.signalCode === null;

async function statusFile(daemon: DaemonChild): Promise<number> {
  await until(() => readSnapshot(daemon.dirs.runtime) !== undefined, 5000, 'the status file');
  return readSnapshot(daemon.dirs.runtime)?.lastSerial ?? 0;
}

describe('crash: SIGKILL in a burst, then a restart', () => {
  // spool_fsync = always: a spooled entry is on disk before publish() returns, so it survives a
  // power loss too; a SIGKILL alone would not need it (written data stays in the page cache).
  const args = (stream: string, url: string, extra: string[] = []): string[] => ['--redis', url, '--stream', stream, '--set', 'spool_fsync=always', ...extra];

  it('loses nothing it had taken in: every connect is a flow or inside the daemon_down loss; the slot is taken again', async () => {
    const first = startDaemon({ args: args('crash:burst', servers.redis.url) });
    let second: DaemonChild | undefined;
    try {
      await first.waitForLog('running');
      const floor = await statusFile(first);
      // About 8 s of connects: the first daemon sees the start (it is killed once it has published
      // 1,000 flows), the second the end.
      const run = startConnects(31000, 8000, 1000);
      // The checkpoint holds at start until the daemon's own CONFIG_CHANGE event ends (2 s: its
      // syscall is excluded, so no EOE comes); a crash before that counts more as daemon_down.
      const checkpointed = (): boolean => {
        const status = readSnapshot(first.dirs.runtime);
        return (status?.pipeline.flows ?? 0) >= 1000 && (status?.safeSerial ?? 0) > (status?.firstSerial ?? Infinity) + 2000;
      };
      await until(checkpointed, 30_000, 'the first flows, checkpointed');
      expect(run.progress()).toBeLessThan(7000);
      await first.stop('SIGKILL');
      const killedAt = Date.now();
      second = startDaemon({ args: args('crash:burst', servers.redis.url), dirs: first.dirs });
      await second.waitForLog('running');
      expect((await kernel.control.status()).pid).toBe(second.pid);
      expect((await run.done).stdout).toBe('done 8000\n');
      await until(() => (readSnapshot(second?.dirs.runtime ?? '')?.pipeline.inFlight ?? 1) === 0, 10_000, 'the pipeline to settle');
      expect((await second.stop()).code).toBe(0);

      const entries = (await readStream(servers.redis.url, 'crash:burst')).map((e) => e.fields);
      const report = checkConservation(entries, run, floor);
      expect(report.duplicates).toEqual([]);
      expect(report.missing.length, 'the crash lost nothing: this test did not test').toBeGreaterThan(0);
      // Every missing connect is inside a loss with a serial range: nothing rests on the kernel's count.
      expect(report.deficit, JSON.stringify({ ...report, missing: report.missing.length })).toBe(0);
      const down = entries.filter((f) => f.kind === 'loss' && f.reason === 'daemon_down');
      expect(down).toHaveLength(1);
      const [firstLost, lastLost] = [Number(down[0]?.first_serial), Number(down[0]?.last_serial)];
      expect(lastLost - firstLost + 1).toBe(Number(down[0]?.count));
      // Flows from both daemons, on both sides of the gap.
      const flows = entries.filter((f) => f.kind === 'flow' && f.pid === String(run.pid)).map((f) => Number(f.serial));
      expect(flows.filter((serial) => serial < firstLost).length).toBeGreaterThan(500);
      expect(flows.filter((serial) => serial > lastLost).length).toBeGreaterThan(500);
      const start = entries.find((f) => f.kind === 'lifecycle' && f.event === 'start' && f.pid === String(second?.pid));
      expect(Number(start?.down_since)).toBeGreaterThan(killedAt - 3000);
      expect(Number(start?.down_since)).toBeLessThanOrEqual(killedAt);
    } finally {
      await first.stop('SIGKILL');
      await second?.stop();
    }
  });

  it('loses nothing held in memory while Redis hung: those flows are inside the daemon_down loss', async () => {
    const hung = await startRedis();
    // A long command timeout keeps the flows in the sink's memory queue while Redis does not answer.
    const first = startDaemon({ args: args('crash:hung', hung.url, ['--set', 'redis_command_timeout_ms=60000']) });
    let second: DaemonChild | undefined;
    try {
      await first.waitForLog('running');
      const floor = await statusFile(first);
      process.kill(hung.pid as number, 'SIGSTOP');
      const run = startConnects(41000, 300);
      await run.done;
      await until(() => (readSnapshot(first.dirs.runtime)?.pipeline.flows ?? 0) >= 300, 10_000, 'the flows');
      // The status file is rewritten every second: let it see the burst before the crash.
      await sleep(2500);
      await first.stop('SIGKILL');
      process.kill(hung.pid as number, 'SIGCONT');
      second = startDaemon({ args: args('crash:hung', hung.url), dirs: first.dirs });
      await second.waitForLog('running');
      expect((await second.stop()).code).toBe(0);

      const entries = (await readStream(hung.url, 'crash:hung')).map((e) => e.fields);
      const report = checkConservation(entries, run, floor);
      expect(report.duplicates).toEqual([]);
      expect(report.missing.length, 'nothing was held in memory: this test did not test').toBeGreaterThan(0);
      expect(report.deficit, JSON.stringify({ ...report, missing: report.missing.length })).toBe(0);
    } finally {
      if (alive(first)) await first.stop('SIGKILL');
      if (hung.pid !== undefined) process.kill(hung.pid, 'SIGCONT');
      await second?.stop();
      await hung.stop();
    }
  });
});
