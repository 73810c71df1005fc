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
// Serials also reveal drops the kernel did not count (../../docs/flows.md, "Loss"): each new
// serial is checked against the next expected one; serials skipped over are reported lost
// once a later event has waited timeoutMs for them (they may arrive out of order). auditd's
// own DAEMON_* records in a log are numbered by auditd, not the kernel, and are not tracked.
import { AUDIT_EOE, AUDIT_PROCTITLE, AUDIT_SYSCALL, hasKernelSerial, isStandaloneType } from '../linux/record-types.js';
import type { AuditRecord } from './record.js';
import type { LossCallback } from './loss.js';

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

interface SerialTrack {
  /** The next serial expected; undefined until the first record. */
  expected: number | undefined;
  /** Serials seen ahead of `expected`, with the time they arrived (insertion = arrival order). */
  ahead: Map<number, number>;
}

// kernel/audit.c audit_serial(): an unsigned int that skips 0 when it wraps, so serials run
// 1 .. 0xffffffff and then start again at 1.
const SERIAL_MODULUS = 0xffffffff;
const MAX_NODES = 1024;

/** How far `serial` is past `expected`, in [0, SERIAL_MODULUS). */
function serialDistance(expected: number, serial: number): number {
  return (((serial - expected) % SERIAL_MODULUS) + SERIAL_MODULUS) % SERIAL_MODULUS;
}

function nextSerial(serial: number): number {
  return serial >= SERIAL_MODULUS ? 1 : serial + 1;
}

export class Reassembler {
  // Keyed by the serial alone for the local kernel's records (node ''), by `node:serial` otherwise.
  private readonly inFlight = new Map<EventId, InFlight>();
  private readonly completed = new Set<EventId>();
  /** The completed ids in the order they completed: a ring of recentCompleted, oldest at completedNext once full. */
  private readonly completedOrder: EventId[] = [];
  private completedNext = 0;
  private readonly serials = new Map<string, SerialTrack>();
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly maxSerialJump: number;
  private readonly recentCompleted: number;
  private now = 0;
  /** `now` at the last expire(). */
  private expiredAt = -1;
  private eventsOut = 0;
  private endsAfterEmit = 0;

  constructor(private readonly options: ReassemblerOptions) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4096);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxSerialJump = options.maxSerialJump ?? 1_000_000;
    this.recentCompleted = Math.max(1, options.recentCompleted ?? 4096);
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
        this.options.onLoss({ reason: 'late-record', count: 1, node: record.node, time: this.now, firstSerial: record.serial, detail: record.typeName });
      }
    } else {
      this.trackSerial(record.node, record.serial);
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
    for (const [node, track] of this.serials) {
      while (track.ahead.size > 0) this.resolveGap(node, track);
    }
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
    for (const track of this.serials.values()) {
      if (track.ahead.size > 0 && track.expected !== undefined && (oldest === undefined || track.expected < oldest)) oldest = track.expected;
    }
    return oldest;
  }

  /** Bytes-free size of the bookkeeping, for bound checks in tests. */
  get trackedSerials(): number {
    let total = 0;
    for (const track of this.serials.values()) total += track.ahead.size;
    return total + this.completed.size;
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
    this.trackSerial('', serial);
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
      this.options.onLoss({ reason: 'incomplete-event', count: 1, node: event.node, time: this.now, firstSerial: event.serial });
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
    for (const [node, track] of this.serials) {
      for (;;) {
        const oldest = track.ahead.values().next();
        if (oldest.done || this.now - oldest.value <= this.timeoutMs) break;
        this.resolveGap(node, track);
      }
    }
  }

  private trackSerial(node: string, serial: number): void {
    if (serial < 1 || serial > SERIAL_MODULUS) return;
    let track = this.serials.get(node);
    if (!track) {
      track = { expected: undefined, ahead: new Map() };
      this.serials.set(node, track);
      // One track per node= of the input; a log of garbled node names must not grow it.
      if (this.serials.size > MAX_NODES) {
        const oldest = this.serials.keys().next();
        if (!oldest.done) this.serials.delete(oldest.value);
      }
    }
    if (track.expected === undefined) {
      track.expected = nextSerial(serial);
      return;
    }
    const ahead = serialDistance(track.expected, serial);
    const behind = serialDistance(serial, track.expected);
    if (ahead === 0) {
      this.advanceExpected(node, track, serial);
    } else if (ahead <= this.maxSerialJump) {
      track.ahead.set(serial, this.now);
      if (track.ahead.size > this.maxInFlight) this.resolveGap(node, track);
    } else if (behind > this.maxSerialJump) {
      this.options.onLoss({ reason: 'serial-reset', count: 0, node, time: this.now, firstSerial: track.expected, lastSerial: serial });
      track.ahead.clear();
      track.expected = nextSerial(serial);
    }
    // Otherwise the serial is a little behind: an event that arrived late, out of order.
  }

  private advanceExpected(node: string, track: SerialTrack, serial: number): void {
    let current = serial;
    for (;;) {
      const next = nextSerial(current);
      if (next < current) this.options.onLoss({ reason: 'serial-rollover', count: 0, node, time: this.now, firstSerial: current, lastSerial: next });
      current = next;
      if (!track.ahead.delete(current)) break;
    }
    track.expected = current;
  }

  /** Declares the serials between `expected` and the nearest serial seen ahead lost. */
  private resolveGap(node: string, track: SerialTrack): void {
    if (track.expected === undefined || track.ahead.size === 0) return;
    const expected = track.expected;
    let nearest = -1;
    let distance = Infinity;
    for (const serial of track.ahead.keys()) {
      const d = serialDistance(expected, serial);
      if (d < distance) {
        distance = d;
        nearest = serial;
      }
    }
    track.ahead.delete(nearest);
    if (distance > 0) {
      const last = nearest === 1 ? SERIAL_MODULUS : nearest - 1;
      this.options.onLoss({ reason: 'serial-gap', count: distance, node, time: this.now, firstSerial: expected, lastSerial: last });
    }
    this.advanceExpected(node, track, nearest);
  }
}
