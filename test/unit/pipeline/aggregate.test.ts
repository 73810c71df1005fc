import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../../src/pipeline/aggregate.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { fixtureLines, runLogLines } from './fixtures.js';

const base: Flow = runLogLines(fixtureLines('sendto-udp4')).flows.find((flow) => flow.op === 'sendto')!;
const send = (ts: number, change: Partial<Flow> = {}): Flow => ({ ...base, ts, first_ts: ts, last_ts: ts, ...change });

function setup(windowMs = 10_000) {
  const out: Flow[] = [];
  const aggregator = new Aggregator({ windowMs, onFlow: (flow) => out.push(flow) });
  return { out, aggregator };
}

describe('Aggregator', () => {
  it('emits the first send at once and the rest of the window as one counted flow', () => {
    const { out, aggregator } = setup();
    aggregator.push(send(0));
    expect(out).toHaveLength(1);
    aggregator.push(send(1000));
    aggregator.push(send(2000));
    expect(out).toHaveLength(1);
    aggregator.advance(10_000);
    expect(out.map((f) => [f.count, f.first_ts, f.last_ts])).toEqual([
      [1, 0, 0],
      [2, 1000, 2000],
    ]);
  });

  it('costs one flow per window for a steady stream, the counts adding up to the syscalls', () => {
    const { out, aggregator } = setup(1000);
    for (let t = 0; t < 5000; t += 100) aggregator.push(send(t));
    aggregator.flush();
    expect(out.reduce((sum, f) => sum + f.count, 0)).toBe(50);
    expect(out.length).toBeLessThanOrEqual(7);
  });

  it('keeps flows to different peers, processes or results apart', () => {
    const { out, aggregator } = setup();
    aggregator.push(send(0));
    aggregator.push(send(1, { remote_port: 1 }));
    aggregator.push(send(2, { pid: 1 }));
    aggregator.push(send(3, { result: 'EPERM' }));
    expect(out).toHaveLength(4);
  });

  it('never aggregates connect, accept or bind', () => {
    const { out, aggregator } = setup();
    for (const op of ['connect', 'connect', 'accept', 'bind'] as const) aggregator.push(send(0, { op }));
    expect(out).toHaveLength(4);
  });

  it('forgets a window that saw no further sends, so the next send is emitted at once', () => {
    const { out, aggregator } = setup(1000);
    aggregator.push(send(0));
    aggregator.push(send(5000));
    expect(out.map((f) => f.count)).toEqual([1, 1]);
    expect(aggregator.openWindows).toBe(1);
  });
});
