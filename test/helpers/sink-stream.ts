// Shared by the sink tests: numbered flows, publishing with the `block` protocol, reading a stream
// back whole, and the exactly-once-in-order check.
import { expect } from 'vitest';
import type { RedisClient } from '../../src/sink/redis-client.js';
import type { FlowSink, SinkEntry } from '../../src/sink/types.js';

export interface ReadEntry {
  id: string;
  fields: Record<string, string>;
}

/** Flow number `i`: its `n` field is how the checks find gaps, duplicates and reordering. */
export const flow = (i: number, extra: Record<string, string> = {}): SinkEntry => ({ kind: 'flow', fields: { v: '1', host: 'host-a', n: String(i), op: 'connect', ...extra } });

/** Publishes flows from..to-1; under `block` a refused flow is offered again once the sink is writable. */
export async function publishAll(sink: FlowSink, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    while (!sink.publish(flow(i))) await sink.writable();
  }
}

export async function readStream(reader: RedisClient, key: string): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  let start = '-';
  for (;;) {
    const page = await reader.xrange(key, start, '+', 'COUNT', 10_000);
    for (const [id, flat] of page) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      out.push({ id, fields });
    }
    if (page.length < 10_000) return out;
    start = `(${page.at(-1)?.[0] ?? ''}`;
  }
}

/** Flows 0..count-1, each once, in order; `seq` without gaps over all entries. */
export function expectExactlyInOrder(entries: ReadEntry[], count: number): void {
  const flows = entries.filter((e) => e.fields.kind === 'flow');
  expect(flows.length).toBe(count);
  const misplaced = flows.findIndex((e, i) => e.fields.n !== String(i));
  expect(misplaced).toBe(-1);
  const seqs = entries.map((e) => Number(e.fields.seq));
  expect(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)).toBe(true);
}
