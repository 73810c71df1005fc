import { describe, expect, it } from 'vitest';
import type { LossReport } from '../../../src/pipeline/loss.js';
import { Reassembler, type AuditEvent, type ReassemblerOptions } from '../../../src/pipeline/reassembler.js';
import { parseKernelRecord, type AuditRecord } from '../../../src/pipeline/record.js';

const SYSCALL = 1300;
const SOCKADDR = 1306;
const EOE = 1320;
const PROCTITLE = 1327;
const USER_LOGIN = 1112;
const CONFIG_CHANGE = 1305;
const DAEMON_START = 1200;
const DAEMON_END = 1201;

function record(type: number, serial: number, timeMs = 1000, body = 'x=1'): AuditRecord {
  const result = parseKernelRecord(type, `audit(${Math.floor(timeMs / 1000)}.${String(timeMs % 1000).padStart(3, '0')}:${serial}): ${body}`);
  if (!result.ok) throw new Error(result.error.message);
  return result.record;
}

function setup(options: Partial<ReassemblerOptions> = {}) {
  const events: AuditEvent[] = [];
  const losses: LossReport[] = [];
  const reassembler = new Reassembler({ onEvent: (e) => events.push(e), onLoss: (l) => losses.push(l), ...options });
  const push = (...records: AuditRecord[]): void => records.forEach((r) => reassembler.push(r));
  return { events, losses, reassembler, push };
}

describe('Reassembler', () => {
  it('completes an event on EOE', () => {
    const { events, push } = setup();
    push(record(SYSCALL, 10), record(SOCKADDR, 10));
    expect(events).toHaveLength(0);
    push(record(EOE, 10));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ serial: 10, complete: true });
    expect(events[0]!.records.map((r) => r.type)).toEqual([SYSCALL, SOCKADDR, EOE]);
  });

  it('completes on PROCTITLE (auditd logs have no EOE) and takes the EOE after it quietly', () => {
    const { events, losses, push } = setup();
    push(record(SYSCALL, 10), record(PROCTITLE, 10), record(EOE, 10));
    expect(events).toHaveLength(1);
    expect(losses).toEqual([]);
  });

  it('emits a standalone user message at once', () => {
    const { events, push } = setup();
    push(record(USER_LOGIN, 7));
    expect(events).toMatchObject([{ serial: 7, complete: true }]);
  });

  it('keeps interleaved events apart', () => {
    const { events, push } = setup();
    push(record(SYSCALL, 1), record(SYSCALL, 2), record(SOCKADDR, 1), record(EOE, 2), record(EOE, 1));
    expect(events.map((e) => [e.serial, e.records.length])).toEqual([
      [2, 2],
      [1, 3],
    ]);
  });

  it('expires an event without its end by record time and reports it incomplete', () => {
    const { events, losses, push } = setup({ timeoutMs: 500 });
    push(record(SYSCALL, 1, 1000), record(SYSCALL, 2, 1400));
    expect(events).toHaveLength(0);
    push(record(EOE, 2, 1600));
    expect(events.map((e) => [e.serial, e.complete])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(losses).toMatchObject([{ reason: 'reassembly_timeout', firstSerial: 1, count: 1 }]);
  });

  it('expires by an injected clock, and a lone record outside a syscall is no loss', () => {
    const { events, losses, reassembler, push } = setup({ timeoutMs: 500 });
    push(record(CONFIG_CHANGE, 1, 1000));
    reassembler.advance(1400);
    expect(events).toHaveLength(0);
    reassembler.advance(1501);
    expect(events).toMatchObject([{ serial: 1, complete: true }]);
    expect(losses).toEqual([]);
  });

  it('measures age from arrival, so a long blocking syscall stamped long ago is not cut short', () => {
    const { events, push } = setup({ timeoutMs: 500 });
    push(record(SYSCALL, 1, 60_000), record(EOE, 1, 60_000));
    push(record(SYSCALL, 2, 1_000));
    push(record(SOCKADDR, 2, 1_000), record(EOE, 2, 1_000));
    expect(events.map((e) => [e.serial, e.complete])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('bounds the events in flight, evicting the oldest', () => {
    const { events, losses, reassembler, push } = setup({ maxInFlight: 2 });
    push(record(SYSCALL, 1), record(SYSCALL, 2), record(SYSCALL, 3));
    expect(reassembler.inFlightCount).toBe(2);
    expect(events.map((e) => e.serial)).toEqual([1]);
    expect(losses).toMatchObject([{ reason: 'reassembly_timeout', firstSerial: 1 }]);
  });

  it('reports a serial gap once the missing serials had time to arrive', () => {
    const { losses, reassembler, push } = setup({ timeoutMs: 500 });
    push(record(USER_LOGIN, 1, 1000), record(USER_LOGIN, 5, 1000));
    expect(losses).toEqual([]);
    reassembler.advance(1501);
    expect(losses).toMatchObject([{ reason: 'serial_gap', count: 3, firstSerial: 2, lastSerial: 4 }]);
  });

  it('reports no gap for events that arrive out of order', () => {
    const { losses, reassembler, push } = setup({ timeoutMs: 500 });
    push(record(USER_LOGIN, 1), record(USER_LOGIN, 3), record(USER_LOGIN, 2), record(USER_LOGIN, 4));
    reassembler.advance(10_000);
    reassembler.flush();
    expect(losses).toEqual([]);
  });

  it('follows the serial across its 32-bit rollover, which skips 0', () => {
    const { losses, reassembler, push } = setup();
    push(record(USER_LOGIN, 0xfffffffe), record(USER_LOGIN, 0xffffffff), record(USER_LOGIN, 1), record(USER_LOGIN, 2));
    reassembler.flush();
    expect(losses).toMatchObject([{ reason: 'serial_rollover', count: 0, firstSerial: 0xffffffff, lastSerial: 1 }]);
  });

  it('counts a gap across the rollover', () => {
    const { losses, reassembler, push } = setup();
    push(record(USER_LOGIN, 0xfffffffe), record(USER_LOGIN, 2));
    reassembler.flush();
    expect(losses.find((l) => l.reason === 'serial_gap')).toMatchObject({ count: 2, firstSerial: 0xffffffff, lastSerial: 1 });
  });

  it('treats a jump back by a whole boot as a reset, not a loss', () => {
    const { losses, push } = setup();
    push(record(USER_LOGIN, 5_000_000), record(USER_LOGIN, 1));
    expect(losses).toMatchObject([{ reason: 'serial_reset', count: 0 }]);
  });

  it('reports a record for an event already emitted as late', () => {
    const { losses, push } = setup();
    push(record(SYSCALL, 1), record(EOE, 1), record(SOCKADDR, 1));
    expect(losses).toMatchObject([{ reason: 'late_record', firstSerial: 1, detail: 'SOCKADDR' }]);
  });

  it("keeps auditd's own DAEMON_* records, numbered by auditd, out of the serial count", () => {
    // As Debian's auditd 3.0.9 wrote them here: its DAEMON_START/END carry auditd's counter
    // (8539, 8540) between kernel serials near 745,000; one of them equals a kernel serial.
    const { events, losses, push } = setup();
    push(record(DAEMON_START, 8539), record(SYSCALL, 745254), record(PROCTITLE, 745254), record(SYSCALL, 745255));
    push(record(DAEMON_END, 745255), record(PROCTITLE, 745255), record(SYSCALL, 745256), record(PROCTITLE, 745256), record(DAEMON_END, 8540));
    expect(losses).toEqual([]);
    expect(events.map((e) => [e.serial, e.records.map((r) => r.type)])).toEqual([
      [8539, [DAEMON_START]],
      [745254, [SYSCALL, PROCTITLE]],
      [745255, [DAEMON_END]],
      [745255, [SYSCALL, PROCTITLE]],
      [745256, [SYSCALL, PROCTITLE]],
      [8540, [DAEMON_END]],
    ]);
  });

  it('tracks serials per node', () => {
    const { losses, reassembler } = setup();
    for (const [node, serial] of [['a', 1], ['b', 100], ['a', 2], ['b', 101]] as const) reassembler.push({ ...record(USER_LOGIN, serial), node });
    reassembler.flush();
    expect(losses).toEqual([]);
  });
});
