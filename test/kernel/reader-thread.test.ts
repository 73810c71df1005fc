import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { AuditSocket, type AuditMessage } from '../../src/audit/socket.js';
import { finished, helperPath, waitForLine } from '../helpers/child.js';
import { useKernel } from '../helpers/kernel.js';
import { until } from '../helpers/until.js';
import { connectRuleForChildrenOf, nativeConnectSyscall } from '../helpers/raw-rule.js';
import { AUDIT_EOE, AUDIT_SYSCALL, field, simpleRecord } from '../helpers/records.js';

const kernel = useKernel();
const BURST = 3000;


function blockEventLoop(minMs: number, maxMs: number, doneFile: string): number {
  const start = Date.now();
  while (Date.now() - start < minMs || (!existsSync(doneFile) && Date.now() - start < maxMs)) {
    // Busy on purpose: the JavaScript thread takes nothing off the queue meanwhile.
  }
  return Date.now() - start;
}

describe('the reader thread', () => {
  it(`keeps draining the kernel while the JavaScript thread is blocked: ${BURST} connects, no loss, no serial gap`, async () => {
    const messages: AuditMessage[] = [];
    const socket = new AuditSocket({ onRecords: (records) => messages.push(...records) });
    const control = new AuditControl(socket);
    const rule = connectRuleForChildrenOf(process.pid, 'auditflow-test-busy');
    const scratch = mkdtempSync(join(tmpdir(), 'auditflow-busy-'));
    const doneFile = join(scratch, 'done');
    try {
      await control.register();
      await control.set({ enabled: 1 });
      await control.addRule(rule);
      const lostBefore = (await kernel.control.status()).lost;

      const child = spawn(process.execPath, [helperPath('connect-burst.mjs'), String(BURST), doneFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exit = finished(child);
      const readBefore = socket.stats().records;
      const blockedMs = blockEventLoop(2000, 30_000, doneFile);
      const readWhileBlocked = socket.stats().records - readBefore;
      expect((await exit).code).toBe(0);

      const connects = () =>
        messages
          .filter((m) => m.type === AUDIT_SYSCALL)
          .map(simpleRecord)
          .filter((r) => field(r.text, 'syscall') === String(nativeConnectSyscall()) && r.text.endsWith('key="auditflow-test-busy"'));
      await until(() => {
        const last = connects().at(-1);
        return connects().length >= BURST && last !== undefined && messages.some((m) => m.type === AUDIT_EOE && simpleRecord(m).serial === last.serial);
      });

      const burst = connects();
      expect(burst).toHaveLength(BURST);
      // Each connect is SYSCALL, SOCKADDR, PROCTITLE and EOE: all four read while JS was blocked.
      expect(readWhileBlocked).toBeGreaterThanOrEqual(BURST * 4);
      const first = burst[0]!.serial;
      const last = burst.at(-1)!.serial;
      const serials = new Set(messages.map((m) => simpleRecord(m).serial).filter((s) => s >= first && s <= last));
      const gaps = [];
      for (let s = first; s <= last; s++) if (!serials.has(s)) gaps.push(s);
      expect(gaps).toEqual([]);
      expect((await kernel.control.status()).lost).toBe(lostBefore);
      const stats = socket.stats();
      expect(stats.droppedRecords).toBe(0);
      expect(stats.enobufs).toBe(0);
      console.log(
        `reader drained ${readWhileBlocked} records in ${blockedMs} ms with the JS thread blocked ` +
          `(${Math.round((readWhileBlocked * 1000) / blockedMs)} records/s, bounded by the workload); ` +
          `${stats.batches} batches for ${stats.records} records`,
      );
    } finally {
      await control.unregister().catch(() => {});
      await kernel.control.deleteRule(rule).catch(() => {});
      await socket.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  it('counts every record the bounded queue could not hand over: delivered + dropped = read', async () => {
    let delivered = 0;
    const socket = new AuditSocket({ maxQueueBytes: 64 * 1024, maxBatchRecords: 64, onRecords: (records) => (delivered += records.length) });
    const control = new AuditControl(socket);
    const forward = socket.onReply;
    let replies = 0;
    socket.onReply = (message) => {
      replies++;
      forward?.(message);
    };
    const rule = connectRuleForChildrenOf(process.pid, 'auditflow-test-queue');
    const scratch = mkdtempSync(join(tmpdir(), 'auditflow-queue-'));
    const doneFile = join(scratch, 'done');
    try {
      await control.register();
      await control.set({ enabled: 1 });
      await control.addRule(rule);
      const child = spawn(process.execPath, [helperPath('connect-burst.mjs'), '1000', doneFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exit = finished(child);
      blockEventLoop(500, 30_000, doneFile);
      expect((await exit).code).toBe(0);
      await control.deleteRule(rule);
      await control.unregister();
    } finally {
      await kernel.control.deleteRule(rule).catch(() => {});
      await control.unregister().catch(() => {});
      await socket.close();
      rmSync(scratch, { recursive: true, force: true });
    }
    const stats = socket.stats();
    // 1,000 connects are 4,000 records, far more than 64 KiB of queue holds.
    expect(stats.droppedRecords).toBeGreaterThan(0);
    expect(delivered + replies + stats.droppedRecords).toBe(stats.records);
  });
});

describe('multicast mode', () => {
  it('receives the same event while another process is the unicast daemon', async () => {
    const daemon = spawn(process.execPath, ['--import', 'tsx', helperPath('hold-daemon-slot.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const daemonExit = finished(daemon);
    const received: AuditMessage[] = [];
    const reader = new AuditSocket({ mode: 'multicast', onRecords: (records) => received.push(...records) });
    const rule = connectRuleForChildrenOf(process.pid, 'auditflow-test-multicast');
    try {
      await waitForLine(daemon, /^registered \d+/);
      await kernel.control.set({ enabled: 1 });
      await kernel.control.addRule(rule);
      const workload = await finished(spawn(process.execPath, [helperPath('connect-burst.mjs'), '1']));
      expect(workload.code).toBe(0);
      await until(() => received.some((m) => m.type === AUDIT_SYSCALL && simpleRecord(m).text.endsWith('key="auditflow-test-multicast"')));
      expect((await kernel.control.status()).pid).toBe(daemon.pid);
    } finally {
      await kernel.control.deleteRule(rule).catch(() => {});
      await reader.close();
      daemon.kill('SIGTERM');
    }
    const exit = await daemonExit;
    expect(exit.code).toBe(0);
    // The unicast daemon got the records too: multicast reads beside it, it takes nothing away.
    expect(Number(/records (\d+)/.exec(exit.stdout)?.[1])).toBeGreaterThan(0);
  });
});
