import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { LossInfo } from '../../../src/daemon/loss-reporter.js';
import { SerialLedger } from '../../../src/daemon/serial-ledger.js';
import type { DaemonSnapshot } from '../../../src/daemon/snapshot.js';
import type { NativeSocketStats } from '../../../src/native/binding.js';
import { emptyCounters } from '../../../src/sink/types.js';

const log = pino({ level: 'silent' });

function ledger(previous?: Partial<DaemonSnapshot>) {
  const losses: LossInfo[] = [];
  const snapshot = previous === undefined ? undefined : ({ pid: 1, stopped: false, updated: 1000, safeSerial: 100, firstSerial: 50, kernel: { lost: 7 }, ...previous } as DaemonSnapshot);
  return { losses, ledger: new SerialLedger(snapshot, log, (loss) => losses.push(loss)) };
}

const readerStats = (counts: Partial<NativeSocketStats>): NativeSocketStats => ({ enobufs: 0, droppedRecords: 0, truncated: 0, malformed: 0, ...counts }) as NativeSocketStats;

describe('SerialLedger', () => {
  it('counts the events a crashed predecessor missed, from its checkpoint to the first serial read now', () => {
    const { ledger: l, losses } = ledger({});
    expect(l.downSince).toBe(1000);
    l.before(131);
    l.before(140);
    expect(losses).toEqual([{ reason: 'daemon_down', count: 30, ts: 1000, firstSerial: 101, lastSerial: 130 }]);
  });

  it('counts no downtime after a clean stop, and none for its own status file', () => {
    expect(ledger({ stopped: true }).ledger.downSince).toBeUndefined();
    expect(ledger({ pid: process.pid }).ledger.downSince).toBeUndefined();
    const { ledger: l, losses } = ledger();
    l.before(5);
    expect(losses).toEqual([]);
  });

  it('reports the growth of the kernel lost counter, from the predecessor value, and restarts after a reset', () => {
    const { ledger: l, losses } = ledger({});
    l.kernelLost(10, 0);
    l.kernelLost(10, 0);
    l.kernelLost(2, 0);
    l.kernelLost(5, 0);
    expect(losses.map((loss) => [loss.reason, loss.count])).toEqual([
      ['kernel_lost', 3],
      ['kernel_lost', 3],
    ]);
  });

  it('turns the growth of the reader counters into losses by reason', () => {
    const { ledger: l, losses } = ledger();
    l.readerLosses(readerStats({ enobufs: 2, droppedRecords: 5 }));
    l.readerLosses(readerStats({ enobufs: 2, droppedRecords: 9, malformed: 1 }));
    expect(losses.map((loss) => [loss.reason, loss.count])).toEqual([
      ['enobufs', 2],
      ['reader_queue_full', 5],
      ['reader_queue_full', 4],
      ['malformed_datagram', 1],
    ]);
  });

  it('checkpoints below the pipeline pending serial once Redis answered the entries accepted then, never past held entries', () => {
    const { ledger: l } = ledger();
    expect(l.after(10, 20, 1000)).toBe(true);
    l.checkpoint(15, false, { ...emptyCounters(), accepted: 4 }, 1000);
    expect(l.safe).toBeNull();
    l.checkpoint(undefined, false, { ...emptyCounters(), accepted: 6, written: 4 }, 1001);
    expect(l.safe).toBe(14);
    expect(l.after(21, 30, 1050)).toBe(false);
    l.checkpoint(undefined, true, { ...emptyCounters(), accepted: 9, written: 9 }, 1200);
    expect(l.safe).toBe(20);
    expect(l.firstSerial).toBe(10);
    expect(l.lastSerial).toBe(30);
  });
});
