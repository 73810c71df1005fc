// The drain ceiling (bench/drain.c): registers, reads, discards, counts.
import { spawnGroup } from '../processes.js';
import type { ConsumerFigures, RunningConsumer } from './types.js';

interface DrainCounters {
  records: number;
  bytes: number;
  events: number;
  gaps: number;
  enobufs: number;
}

function parseCounters(line: string): DrainCounters {
  const value = JSON.parse(line) as DrainCounters;
  if (typeof value.events !== 'number') throw new Error(`drain printed ${line}`);
  return value;
}

export async function startDrain(path: string): Promise<RunningConsumer> {
  const child = spawnGroup(path, []);
  await child.line((line) => line === 'ready', 5000);
  // The next counters line: watched for before the signal that asks for it is sent.
  const nextReport = (): Promise<DrainCounters> => child.line((text) => text.startsWith('{'), 5000).then(parseCounters);
  return {
    pid: child.pid,
    settleMs: 300,
    stallMs: 3000,
    // Every audited syscall is one event (other processes' events only add to the count).
    done: async (owed) => owed.progress >= owed.progressBefore + owed.audited,
    async progress() {
      const report = nextReport();
      child.kill('SIGUSR1');
      return (await report).events;
    },
    async finish(): Promise<ConsumerFigures> {
      const final = nextReport();
      const exit = await child.stop(5000);
      if (exit.code !== 0) throw new Error(`drain exited with ${exit.signal ?? exit.code}: ${child.stderr().trim()}`);
      const counters = await final;
      if (counters.enobufs > 0) process.stderr.write(`drain: ${counters.enobufs} ENOBUFS\n`);
      return { events: counters.events, serialGaps: counters.gaps };
    },
    async abort() {
      await child.stop(2000);
    },
  };
}
