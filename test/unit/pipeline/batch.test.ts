// What the daemon reads of a batch itself (its serial ledger and held batches): the serials of the
// first and last kernel records, read with the fast path's header reader, and the records counted,
// control replies left out.
import { describe, expect, it } from 'vitest';
import { edgeSerial, recordCount } from '../../../src/pipeline/batch.js';
import { fixtureLines, kernelRecord, recordBatch } from './fixtures.js';

const AUDIT_GET = 1000; // include/uapi/linux/audit.h: a control reply
const AUDIT_REPLACE = 1329;
const reply = { type: AUDIT_GET, payload: Buffer.alloc(40) };

describe('batch serials', () => {
  const records = fixtureLines('connect-tcp4-ok').map(kernelRecord);
  const serialOf = (line: string): number => Number(/:(\d+)\)/.exec(line)?.[1]);
  const lines = fixtureLines('connect-tcp4-ok');

  it('reads the serials of the first and last kernel records, past control replies at either end', () => {
    const batch = recordBatch([reply, ...records, reply]);
    expect(edgeSerial(batch, 'first')).toBe(serialOf(lines[0] ?? ''));
    expect(edgeSerial(batch, 'last')).toBe(serialOf(lines.at(-1) ?? ''));
    expect(recordCount(batch)).toBe(records.length);
  });

  it('has no serial for a batch of control replies, or whose edge record has no header (AUDIT_REPLACE)', () => {
    expect(edgeSerial(recordBatch([reply, reply]), 'first')).toBeUndefined();
    expect(recordCount(recordBatch([reply]))).toBe(0);
    const replace = { type: AUDIT_REPLACE, payload: Buffer.from([0x39, 0x30, 0, 0]) };
    expect(edgeSerial(recordBatch([replace, ...records]), 'first')).toBeUndefined();
    expect(edgeSerial(recordBatch([replace, ...records]), 'last')).toBe(serialOf(lines.at(-1) ?? ''));
  });
});
