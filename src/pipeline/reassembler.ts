// Reassembler: groups records into events by (node, serial). An event is complete on EOE,
// on PROCTITLE (the last record the kernel writes before EOE, and the last one auditd logs,
// since auditd does not write EOE), or at once for a standalone type. Events that never
// complete are emitted when they age out or when too many are in flight.
//
// Time is the pipeline's "now": the latest record time seen, or a later clock value given
// to advance(). Ages are measured from when a record arrived (in that time), not from the
// event's own timestamp: a blocking accept() is stamped when it started, maybe minutes
// before its records arrive.
//
// Serials also reveal drops the kernel did not count: ./serial-tracker.ts. auditd's own DAEMON_*
// records in a log are numbered by auditd, not the kernel, and are not tracked.
import { AUDIT_EOE, AUDIT_PROCTITLE, AUDIT_SYSCALL, hasKernelSerial, isStandaloneType } from '../linux/record-types.js';
import type { AuditRecord } from './record.js';
import type { LossCallback } from './loss.js';
import { SerialTracker } from './serial-tracker.js';

export interface AuditEvent {
  node: string;
  serial: number;
  /** Event time, ms (the first record's). */
  time: number;
  records: AuditRecord[];
  /** False when it was emitted without the record that ends it. */
  complete: boolean;
}

export interface ReassemblerOptions {
  onEvent: (event: AuditEvent) => void;
  onLoss: LossCallback;
  /** Events waiting for their end, at most (default 4096). */
  maxInFlight?: number;
  /** How long an event waits for its end, and a serial gap for the late serial (ms, default 2000). */
  timeoutMs?: number;
  /** A serial jump larger than this is a reset (reboot, another log), not a loss (default 1,000,000). */
  maxSerialJump?: number;
  /** How many completed serials are remembered to recognise late records (default 4096). */
  recentCompleted?: number;
}

type EventId = number | string;

interface InFlight {
  event: AuditEvent;
  touched: number;
}

export class Reassembler {
  // Keyed by the serial alone for the local kernel's records (node ''), by `node:serial` otherwise.
  private readonly inFlight = new Map<EventId, InFlight>();
  private readonly completed = new Set<EventId>();
  /** The completed ids in the order they completed: a ring of recentCompleted, oldest at completedNext once full. */
  private readonly completedOrder: EventId[] = [];
  private completedNext = 0;
  private readonly serials: SerialTracker;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly recentCompleted: number;
  private now = 0;
  /** `now` at the last expire(). */
  private expiredAt = -1;
  private eventsOut = 0;
  private endsAfterEmit = 0;

  constructor(private readonly options: ReassemblerOptions) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4096);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.recentCompleted = Math.max(1, options.recentCompleted ?? 4096);
    this.serials = new SerialTracker({ maxAhead: this.maxInFlight, maxSerialJump: options.maxSerialJump ?? 1_000_000, onLoss: options.onLoss });
  }

  push(record: AuditRecord): void {
    this.now = Math.max(this.now, record.time);
    if (!hasKernelSerial(record.type)) {
      // auditd's own record: a whole event, whose serial may equal a kernel event's.
      this.emit({ node: record.node, serial: record.serial, time: record.time, records: [record], complete: true });
      this.expire();
      return;
    }
    const id: EventId = record.node === '' ? record.serial : `${record.node}:${record.serial}`;
    const pending = this.inFlight.get(id);
    if (pending) {
      pending.event.records.push(record);
      pending.touched = this.now;
      // Re-insert, so the map stays in order of last arrival and expire() can stop early.
      this.inFlight.delete(id);
      this.inFlight.set(id, pending);
      if (record.type === AUDIT_EOE || record.type === AUDIT_PROCTITLE) this.finish(id, pending.event, true);
    } else if (this.completed.has(id)) {
      // After PROCTITLE completed the event, the kernel's EOE for it is expected.
      if (record.type === AUDIT_EOE) {
        this.endsAfterEmit++;
      } else {
        this.options.onLoss({ reason: 'late_record', count: 1, node: record.node, time: this.now, firstSerial: record.serial, detail: record.typeName });
      }
    } else {
      this.serials.track(record.node, record.serial, this.now);
      const event: AuditEvent = { node: record.node, serial: record.serial, time: record.time, records: [record], complete: false };
      if (record.type === AUDIT_EOE || record.type === AUDIT_PROCTITLE || isStandaloneType(record.type)) {
        this.finish(id, event, true);
      } else {
        this.inFlight.set(id, { event, touched: this.now });
        if (this.inFlight.size > this.maxInFlight) this.evictOldest();
      }
    }
    this.expire();
  }

  /** Moves the clock forward (a live daemon calls this on a timer) and expires what aged out. */
  advance(now: number): void {
    this.now = Math.max(this.now, now);
    this.expire();
  }

  /** Emits every event in flight and reports every open gap: the input has ended. */
  flush(): void {
    for (const [id, pending] of [...this.inFlight]) this.finish(id, pending.event, false);
    this.serials.flush(this.now);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get eventCount(): number {
    return this.eventsOut;
  }

  /**
   * EOE records that came after their event was emitted (the kernel's EOE after the
   * PROCTITLE that completed it): expected, so neither part of an event nor a loss.
   */
  get trailingEnds(): number {
    return this.endsAfterEmit;
  }

  /**
   * The lowest serial whose event may still be emitted, or reported lost, later: the oldest event in
   * flight, and the first serial of an open gap. Every serial below it, and up to the newest record
   * pushed, is settled. undefined when nothing is pending.
   */
  get oldestPendingSerial(): number | undefined {
    let oldest: number | undefined;
    for (const { event } of this.inFlight.values()) if (oldest === undefined || event.serial < oldest) oldest = event.serial;
    const gap = this.serials.oldestPending;
    return gap !== undefined && (oldest === undefined || gap < oldest) ? gap : oldest;
  }

  /** Bytes-free size of the bookkeeping, for bound checks in tests. */
  get trackedSerials(): number {
    return this.serials.size + this.completed.size;
  }

  /** Whether a record of this serial (of the local kernel) would join an event already begun or emitted. */
  knows(serial: number): boolean {
    return this.inFlight.has(serial) || this.completed.has(serial);
  }

  /**
   * An event the fast path (./batch.ts) read whole: the local kernel's records of one syscall event,
   * of a serial not seen before (see knows()), all with one time, from the SYSCALL record to the
   * EOE or PROCTITLE that ends it (and the EOE after that PROCTITLE when `trailingEnd`). Does what
   * push() would do with those records (clock, serial tracking, the in-flight bound, expiry,
   * completion, counts); the caller hands the event on itself, right after.
   */
  takeWhole(serial: number, time: number, trailingEnd: boolean): void {
    this.now = Math.max(this.now, time);
    this.serials.track('', serial, this.now);
    // push() puts the event in flight before it ends: it counts against the bound meanwhile.
    if (this.inFlight.size >= this.maxInFlight) this.evictOldest();
    this.expire();
    this.remember(serial);
    this.eventsOut++;
    if (trailingEnd) this.endsAfterEmit++;
  }

  /** An emitted event's id, kept among the last recentCompleted to recognise late records. */
  private remember(id: EventId): void {
    this.completed.add(id);
    if (this.completedOrder.length < this.recentCompleted) {
      this.completedOrder.push(id);
      return;
    }
    this.completed.delete(this.completedOrder[this.completedNext] as EventId);
    this.completedOrder[this.completedNext] = id;
    this.completedNext = (this.completedNext + 1) % this.recentCompleted;
  }

  private finish(id: EventId, event: AuditEvent, complete: boolean): void {
    this.inFlight.delete(id);
    this.remember(id);
    // Only a syscall event has an end to wait for; a lone CONFIG_CHANGE or AVC outside a
    // syscall is whole when it ages out.
    const lacksEnd = !complete && event.records.some((record) => record.type === AUDIT_SYSCALL);
    if (lacksEnd) {
      this.options.onLoss({ reason: 'reassembly_timeout', count: 1, node: event.node, time: this.now, firstSerial: event.serial });
    }
    event.complete = !lacksEnd;
    this.emit(event);
  }

  private emit(event: AuditEvent): void {
    this.eventsOut++;
    this.options.onEvent(event);
  }

  private evictOldest(): void {
    const oldest = this.inFlight.entries().next();
    if (!oldest.done) this.finish(oldest.value[0], oldest.value[1].event, false);
  }

  private expire(): void {
    // Nothing new can have aged out since the last call at this same time: everything added since
    // was stamped with this time (unless a negative timeout expires even that).
    if (this.now === this.expiredAt && this.timeoutMs >= 0) return;
    this.expiredAt = this.now;
    for (const [id, pending] of this.inFlight) {
      if (this.now - pending.touched <= this.timeoutMs) break;
      this.finish(id, pending.event, false);
    }
    this.serials.expire(this.now, this.timeoutMs);
  }
}
