import { describe, expect, it } from 'vitest';
import { flowEntry } from '../../../src/daemon/flow-entry.js';
import { LossReporter } from '../../../src/daemon/loss-reporter.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import type { LossReport } from '../../../src/pipeline/loss.js';
import type { SinkEntry } from '../../../src/sink/index.js';
import { fixtureLines, runLogLines } from '../pipeline/fixtures.js';

describe('flowEntry', () => {
  it('flattens a captured flow to strings, JSON for argv, and leaves nulls out', () => {
    const flow = runLogLines(fixtureLines('connect-tcp4-refused')).flows.find((f) => f.op === 'connect');
    expect(flow).toBeDefined();
    const entry = flowEntry(flow!, 'web-1');
    expect(entry.kind).toBe('flow');
    expect(entry.fields).toMatchObject({ host: 'web-1', v: '1', op: 'connect', result: 'ECONNREFUSED', remote_port: '9', proto_num: '6', ipv4_mapped: 'false' });
    expect(JSON.parse(entry.fields.argv ?? '')).toEqual(flow!.argv);
    expect(entry.fields).not.toHaveProperty('kind');
    for (const [name, value] of Object.entries(flow!)) {
      if (value === null) expect(entry.fields).not.toHaveProperty(name);
    }
    expect(Object.values(entry.fields).every((value) => typeof value === 'string')).toBe(true);
  });
});

describe('LossReporter', () => {
  const gap = (first: number, last: number, time: number): LossReport => ({ reason: 'serial_gap', count: last - first + 1, node: '', time, firstSerial: first, lastSerial: last });

  it('merges losses of one reason into one entry with count, time range and serial range', () => {
    const reporter = new LossReporter('h');
    reporter.fromPipeline(gap(10, 12, 1000));
    reporter.fromPipeline(gap(20, 20, 3000));
    reporter.add({ reason: 'kernel_lost', count: 5, ts: 2000 });
    const entries: SinkEntry[] = [];
    reporter.drain((entry) => entries.push(entry) > 0);
    expect(entries.map((e) => e.fields)).toEqual([
      { v: '1', host: 'h', reason: 'serial_gap', count: '4', first_ts: '1000', last_ts: '3000', first_serial: '10', last_serial: '20' },
      { v: '1', host: 'h', reason: 'kernel_lost', count: '5', first_ts: '2000', last_ts: '2000' },
    ]);
    expect(reporter.counts()).toEqual({ kernel_lost: 5, serial_gap: 4 });
  });

  it('keeps an entry the sink refused and offers it again, merged with later losses', () => {
    const reporter = new LossReporter('h');
    reporter.add({ reason: 'backpressure', count: 3, ts: 1 });
    reporter.drain(() => false);
    reporter.add({ reason: 'backpressure', count: 2, ts: 5 });
    const entries: SinkEntry[] = [];
    reporter.drain((entry) => entries.push(entry) > 0);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.fields).toMatchObject({ count: '5', first_ts: '1', last_ts: '5' });
    reporter.drain((entry) => entries.push(entry) > 0);
    expect(entries).toHaveLength(1);
  });

  it('does not report filtered families or informational serial events as losses', () => {
    const reporter = new LossReporter('h');
    reporter.fromPipeline({ reason: 'family', count: 1, node: '', time: 1, detail: 'unix' });
    reporter.fromPipeline({ reason: 'serial_rollover', count: 0, node: '', time: 1 });
    reporter.fromPipeline({ reason: 'serial_reset', count: 0, node: '', time: 1 });
    expect(reporter.counts()).toEqual({});
  });
});

describe('the kernel probe of the daemon', () => {
  it('passes AUDIT_REPLACE (1329, a bare pid) over without a parse error', () => {
    const losses: LossReport[] = [];
    const pipeline = new Pipeline({ onFlow: () => {}, onLoss: (loss) => losses.push(loss) });
    const pid = Buffer.alloc(4);
    pid.writeUInt32LE(24103);
    pipeline.pushKernelRecord(1329, pid);
    expect(losses).toEqual([]);
  });
});
