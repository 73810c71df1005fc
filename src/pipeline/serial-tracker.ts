// Serial tracker: serials reveal drops the kernel did not count (../../docs/flows.md, "Loss"). Each
// new event's serial is checked against the next one expected, per node= of the input; serials
// skipped over are reported lost once a later event has waited timeoutMs for them (they may still
// arrive, out of order). A jump too large to be a loss is a reset (reboot, another log).
import type { LossCallback } from './loss.js';

interface SerialTrack {
  /** The next serial expected; undefined until the first record. */
  expected: number | undefined;
  /** Serials seen ahead of `expected`, with the time they arrived (insertion = arrival order). */
  ahead: Map<number, number>;
}

export interface SerialTrackerOptions {
  /** Serials seen ahead of a gap, at most per node; the nearest gap is declared beyond it. */
  maxAhead: number;
  /** A serial jump larger than this is a reset, not a loss. */
  maxSerialJump: number;
  onLoss: LossCallback;
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

export class SerialTracker {
  private readonly tracks = new Map<string, SerialTrack>();

  constructor(private readonly options: SerialTrackerOptions) {}

  /** Serials held ahead of a gap, over all nodes (a bound check in tests). */
  get size(): number {
    let total = 0;
    for (const track of this.tracks.values()) total += track.ahead.size;
    return total;
  }

  /** The first serial of the oldest gap not yet declared; undefined when none is open. */
  get oldestPending(): number | undefined {
    let oldest: number | undefined;
    for (const track of this.tracks.values()) {
      if (track.ahead.size > 0 && track.expected !== undefined && (oldest === undefined || track.expected < oldest)) oldest = track.expected;
    }
    return oldest;
  }

  /** A new event's serial, at time `now`. */
  track(node: string, serial: number, now: number): void {
    if (serial < 1 || serial > SERIAL_MODULUS) return;
    let track = this.tracks.get(node);
    if (!track) {
      track = { expected: undefined, ahead: new Map() };
      this.tracks.set(node, track);
      // One track per node= of the input; a log of garbled node names must not grow it.
      if (this.tracks.size > MAX_NODES) {
        const oldest = this.tracks.keys().next();
        if (!oldest.done) this.tracks.delete(oldest.value);
      }
    }
    if (track.expected === undefined) {
      track.expected = nextSerial(serial);
      return;
    }
    const ahead = serialDistance(track.expected, serial);
    const behind = serialDistance(serial, track.expected);
    if (ahead === 0) {
      this.advanceExpected(node, track, serial, now);
    } else if (ahead <= this.options.maxSerialJump) {
      track.ahead.set(serial, now);
      if (track.ahead.size > this.options.maxAhead) this.resolveGap(node, track, now);
    } else if (behind > this.options.maxSerialJump) {
      this.options.onLoss({ reason: 'serial_reset', count: 0, node, time: now, firstSerial: track.expected, lastSerial: serial });
      track.ahead.clear();
      track.expected = nextSerial(serial);
    }
    // Otherwise the serial is a little behind: an event that arrived late, out of order.
  }

  /** Declares the gaps whose next serial has waited longer than timeoutMs. */
  expire(now: number, timeoutMs: number): void {
    for (const [node, track] of this.tracks) {
      for (;;) {
        const oldest = track.ahead.values().next();
        if (oldest.done || now - oldest.value <= timeoutMs) break;
        this.resolveGap(node, track, now);
      }
    }
  }

  /** The input has ended: every open gap is declared. */
  flush(now: number): void {
    for (const [node, track] of this.tracks) {
      while (track.ahead.size > 0) this.resolveGap(node, track, now);
    }
  }

  private advanceExpected(node: string, track: SerialTrack, serial: number, now: number): void {
    let current = serial;
    for (;;) {
      const next = nextSerial(current);
      if (next < current) this.options.onLoss({ reason: 'serial_rollover', count: 0, node, time: now, firstSerial: current, lastSerial: next });
      current = next;
      if (!track.ahead.delete(current)) break;
    }
    track.expected = current;
  }

  /** Declares the serials between `expected` and the nearest serial seen ahead lost. */
  private resolveGap(node: string, track: SerialTrack, now: number): void {
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
      this.options.onLoss({ reason: 'serial_gap', count: distance, node, time: now, firstSerial: expected, lastSerial: last });
    }
    this.advanceExpected(node, track, nearest, now);
  }
}
