import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LossTally, lifecycleEntry, lossEntry } from '../../../src/sink/entries.js';
import { reconnectDelay, streamKey } from '../../../src/sink/redis-client.js';
import { StdoutJsonlSink } from '../../../src/sink/stdout-jsonl-sink.js';
import { StreamIdClock, compareStreamIds, formatStreamId, parseStreamId } from '../../../src/sink/stream-id.js';

function collector(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { stream, lines };
}

describe('StdoutJsonlSink', () => {
  it('writes one JSON object per line with the envelope fields and the entry fields', async () => {
    const out = collector();
    const sink = new StdoutJsonlSink({ bootId: 'b1', output: out.stream });
    expect(sink.publish({ kind: 'flow', fields: { v: '1', op: 'connect', seq: 'ignored' } })).toBe(true);
    sink.publish(lifecycleEntry({ event: 'start', host: 'h', ts: 5, version: '0.1.0', pid: 42 }));
    await sink.close();
    expect(out.lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { kind: 'flow', boot_id: 'b1', seq: '1', v: '1', op: 'connect' },
      { kind: 'lifecycle', boot_id: 'b1', seq: '2', v: '1', host: 'h', event: 'start', ts: '5', version: '0.1.0', pid: '42' },
    ]);
    expect(sink.health().counters).toMatchObject({ accepted: 2, written: 2 });
  });

  it('refuses while the output is above its high-water mark and resumes on drain', async () => {
    const lines: string[] = [];
    let pending: (() => void) | undefined;
    const stream = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        pending = done;
      },
    });
    const sink = new StdoutJsonlSink({ bootId: 'b', output: stream });
    let accepted = 0;
    while (sink.publish({ kind: 'flow', fields: { n: String(accepted) } })) accepted++;
    expect(sink.publish({ kind: 'flow', fields: {} })).toBe(false);
    expect(sink.health().counters.blocked).toBe(2);
    const writable = sink.writable();
    while (pending !== undefined) {
      const done = pending;
      pending = undefined;
      done();
      await new Promise((r) => setImmediate(r));
    }
    await writable;
    expect(sink.publish({ kind: 'flow', fields: {} })).toBe(true);
  });
});

describe('entries', () => {
  it('builds a loss entry with count and time range', () => {
    expect(lossEntry({ reason: 'serial_gap', count: 3, firstTs: 10, lastTs: 20, host: 'h', detail: 'x' })).toEqual({
      kind: 'loss',
      fields: { v: '1', host: 'h', reason: 'serial_gap', count: '3', first_ts: '10', last_ts: '20', detail: 'x' },
    });
  });
  it('merges repeated losses of one reason into one entry', () => {
    const tally = new LossTally();
    tally.add('spool_full', 1, 30);
    tally.add('spool_full', 4, 50);
    tally.add('rejected', 2, 40);
    expect(tally.drain('h').map((e) => e.fields)).toEqual([
      { v: '1', host: 'h', reason: 'spool_full', count: '5', first_ts: '30', last_ts: '50' },
      { v: '1', host: 'h', reason: 'rejected', count: '2', first_ts: '40', last_ts: '40' },
    ]);
    expect(tally.size).toBe(0);
  });
});

describe('stream IDs and keys', () => {
  it('keeps IDs strictly increasing when the clock stands still or steps back', () => {
    let now = 1000;
    const clock = new StreamIdClock(() => now);
    const ids = [clock.next(), clock.next()];
    now = 900;
    ids.push(clock.next());
    now = 1001;
    ids.push(clock.next());
    expect(ids.map(formatStreamId)).toEqual(['1000-0', '1000-1', '1000-2', '1001-0']);
  });
  it('continues after an observed ID', () => {
    const clock = new StreamIdClock(() => 5);
    clock.observe({ ms: 7, n: 3 });
    expect(formatStreamId(clock.next())).toBe('7-4');
  });
  it('parses and compares IDs', () => {
    expect(parseStreamId('12-3')).toEqual({ ms: 12, n: 3 });
    expect(parseStreamId('12')).toBeUndefined();
    expect(compareStreamIds({ ms: 1, n: 9 }, { ms: 2, n: 0 })).toBeLessThan(0);
  });
  it('fills the host into the key template', () => {
    expect(streamKey('auditflow:{<host>}:flows', 'web-1')).toBe('auditflow:{web-1}:flows');
    expect(streamKey('auditflow:flows', 'web-1')).toBe('auditflow:flows');
  });
  it('backs off exponentially up to the cap', () => {
    expect([0, 1, 2, 10].map((a) => reconnectDelay(a, 100, 5000, () => 0))).toEqual([100, 200, 400, 5000]);
  });
});
