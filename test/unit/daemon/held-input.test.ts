import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HeldInput } from '../../../src/daemon/held-input.js';
import type { LossInfo } from '../../../src/daemon/loss-reporter.js';
import type { RecordBatch } from '../../../src/native/record-batch.js';
import type { EncodableEntry, FlowSink, SinkEntry } from '../../../src/sink/index.js';
import { emptyCounters } from '../../../src/sink/types.js';
import { fixtureLines, kernelRecord, recordBatch } from '../pipeline/fixtures.js';

/** A sink that takes `room` entries, then refuses until given more room; writable() resolves then. */
class RoomSink implements FlowSink {
  readonly taken: Array<SinkEntry | EncodableEntry> = [];
  private waiting: Array<() => void> = [];
  constructor(private room: number) {}
  publish(entry: SinkEntry | EncodableEntry): boolean {
    if (this.room === 0) return false;
    this.room--;
    this.taken.push(entry);
    return true;
  }
  writable(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  give(room: number): void {
    this.room += room;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  health() {
    return { state: 'ready' as const, lastError: undefined, queued: 0, spoolBytes: 0, counters: emptyCounters() };
  }
}

const entry = (n: number): SinkEntry => ({ kind: 'flow', fields: { n: String(n) } });
// Real captured records, one event per batch.
const events = fixtureLines('connect-tcp4-ok').map(kernelRecord);
const batch = (): RecordBatch => recordBatch(events);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setUp(room: number, maxBytes = 1 << 20) {
  const sink = new RoomSink(room);
  const fed: RecordBatch[] = [];
  const losses: LossInfo[] = [];
  const held = new HeldInput({ sink: () => sink, feed: (b) => fed.push(b), lose: (l) => losses.push(l), log: pino({ level: 'silent' }), maxBytes });
  return { sink, fed, losses, held };
}

describe('HeldInput (full_policy = block)', () => {
  it('feeds batches and hands entries straight on while the sink takes them', () => {
    const { sink, fed, held } = setUp(10);
    held.take(batch());
    held.offer(entry(1));
    expect(fed).toHaveLength(1);
    expect(sink.taken).toEqual([entry(1)]);
    expect(held.empty).toBe(true);
    expect(held.stats()).toEqual({ blocked: false, heldBatches: 0, heldBytes: 0 });
  });

  it('keeps a refused entry and the batches behind it, in order, until the sink takes entries again', async () => {
    const { sink, fed, held } = setUp(1);
    held.offer(entry(1));
    held.offer(entry(2));
    const [b1, b2] = [batch(), batch()];
    held.take(b1);
    held.take(b2);
    expect(fed).toEqual([]);
    expect(held.stats()).toEqual({ blocked: true, heldBatches: 2, heldBytes: b1.data.length + b2.data.length });
    expect(held.empty).toBe(false);
    sink.give(5);
    await tick();
    expect(sink.taken).toEqual([entry(1), entry(2)]);
    expect(fed).toEqual([b1, b2]);
    expect(held.stats()).toEqual({ blocked: false, heldBatches: 0, heldBytes: 0 });
  });

  it('drops a batch past its byte bound and counts it as backpressure with its serial range', () => {
    const one = batch();
    const { losses, held } = setUp(0, one.data.length);
    held.offer(entry(1));
    held.take(one);
    held.take(batch());
    expect(losses).toEqual([{ reason: 'backpressure', count: events.length, ts: expect.any(Number) as number, firstSerial: expect.any(Number) as number, lastSerial: expect.any(Number) as number }]);
    expect(losses[0]?.firstSerial).toBeLessThan(losses[0]?.lastSerial ?? 0);
  });

  it('drain() at stop hands what is held to the sink, waiting for its room, in order', async () => {
    const { sink, fed, held } = setUp(0);
    held.offer(entry(1));
    held.take(batch());
    const drained = held.drain();
    await tick();
    expect(sink.taken).toEqual([]);
    sink.give(1);
    await drained;
    expect(sink.taken).toEqual([entry(1)]);
    expect(fed).toHaveLength(1);
  });
});
