// Shared by the sink tests: reading a stream back whole, and the exactly-once-in-order check.
import { expect } from 'vitest';
import type { RedisClient } from '../../src/sink/redis-client.js';

export { flow, publishAll } from './sink-flows.js';

export interface ReadEntry {
  id: string;
  fields: Record<string, string>;
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
