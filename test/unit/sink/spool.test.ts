import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolOptions } from '../../../src/sink/spool.js';
import { encodeRecord, scanRecords } from '../../../src/sink/spool-format.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'auditflow-spool-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Fixed width, so record sizes are equal and byte bounds are exact.
const payload = (i: number): Buffer => Buffer.from(JSON.stringify({ id: `1-${String(i).padStart(6, '0')}`, pad: 'x'.repeat(40) }));
const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
const open = (dir: string, extra: Partial<SpoolOptions> = {}): Spool => Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 1024, fsync: 'never', ...extra });

function readAll(spool: Spool): string[] {
  const out: string[] = [];
  for (;;) {
    const { payloads, next } = spool.read(7);
    if (payloads.length === 0) return out;
    out.push(...payloads.map((p) => p.toString()));
    spool.ack(next);
  }
}

describe('spool record checksum', () => {
  // A record written by the spool before it used zlib.crc32 (its own table-driven CRC-32): the same
  // polynomial keeps such files readable after an upgrade.
  const written = Buffer.from('0c0000008d079c727b226964223a22312d30227d', 'hex');
  it('encodes a record byte for byte as the earlier spool did', () => {
    expect(encodeRecord(Buffer.from('{"id":"1-0"}'))).toEqual(written);
  });
  it('reads a record the earlier spool wrote and rejects it with one flipped bit', () => {
    expect(scanRecords(written).records.map((r) => r.payload.toString())).toEqual(['{"id":"1-0"}']);
    const flipped = Buffer.from(written);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    const scan = scanRecords(flipped);
    expect(scan.records).toEqual([]);
    expect(scan.tailCorrupt).toBe(true);
  });
});

describe('spool records', () => {
  it('skips one damaged record and resynchronises on the next', () => {
    const buf = Buffer.concat([0, 1, 2].map((i) => encodeRecord(payload(i))));
    flipBit(buf, encodeRecord(payload(0)).length + 20, 0x01);
    const scan = scanRecords(buf);
    expect(scan.records.map((r) => r.payload.toString())).toEqual([payload(0).toString(), payload(2).toString()]);
    expect(scan.corrupt).toHaveLength(1);
  });
  it('catches a flipped bit in the length field', () => {
    const buf = Buffer.concat([0, 1].map((i) => encodeRecord(payload(i))));
    flipBit(buf, 1, 0x01);
    const scan = scanRecords(buf);
    expect(scan.records.map((r) => r.payload.toString())).toEqual([payload(1).toString()]);
    expect(scan.corrupt).toHaveLength(1);
  });
});

describe('Spool', () => {
  it('returns records in order across segments and deletes segments once acknowledged', () => {
    const dir = tempDir();
    const spool = open(dir);
    expect(spool.append(Array.from({ length: 100 }, (_, i) => payload(i)))).toBe(100);
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    expect(readAll(spool)).toEqual(Array.from({ length: 100 }, (_, i) => payload(i).toString()));
    expect(segmentFiles(dir)).toEqual([]);
    expect(spool.drained).toBe(true);
    spool.close();
  });

  it('interleaves appends and reads, and reads again after a rewind', () => {
    const dir = tempDir();
    const spool = open(dir);
    spool.append([payload(0), payload(1), payload(2)]);
    const first = spool.read(2);
    expect(first.payloads.map(String)).toEqual([payload(0), payload(1)].map(String));
    spool.rewind();
    spool.append([payload(3)]);
    const again = spool.read(10);
    expect(again.payloads.map(String)).toEqual([0, 1, 2, 3].map((i) => payload(i).toString()));
    spool.ack(again.next);
    expect(spool.drained).toBe(true);
    spool.append([payload(4)]);
    expect(readAll(spool)).toEqual([payload(4).toString()]);
    spool.close();
  });

  it('reads a large active segment in pieces: many small records across read chunks, and records larger than a chunk', () => {
    const dir = tempDir();
    const spool = open(dir, { segmentBytes: 64 * 1024 * 1024 });
    const small = Array.from({ length: 5000 }, (_, i) => payload(i));
    const large = [0, 1, 2].map((i) => Buffer.from(`${i}`.repeat(200 * 1024)));
    spool.append([...small.slice(0, 2500), ...large, ...small.slice(2500)]);
    expect(segmentFiles(dir)).toHaveLength(1);
    const read: string[] = [];
    for (;;) {
      const { payloads, next } = spool.read(333);
      if (payloads.length === 0) break;
      expect(payloads.length).toBeLessThanOrEqual(333);
      read.push(...payloads.map(String));
      spool.ack(next);
    }
    expect(read).toEqual([...small.slice(0, 2500), ...large, ...small.slice(2500)].map(String));
    expect(spool.drained).toBe(true);
    spool.close();
  });

  it('keeps unacknowledged records across a reopen and reports the newest', () => {
    const dir = tempDir();
    const spool = open(dir);
    spool.append(Array.from({ length: 50 }, (_, i) => payload(i)));
    const part = spool.read(20);
    spool.ack(part.next);
    spool.close();
    const reopened = open(dir);
    expect(reopened.opened.newest?.toString()).toBe(payload(49).toString());
    const rest = readAll(reopened);
    // Segments are deleted whole, so a reopen replays the acknowledged part of a partly acknowledged
    // segment again; the publisher's stream IDs make Redis refuse those (docs/sink.md).
    expect(rest.slice(-30)).toEqual(Array.from({ length: 30 }, (_, i) => payload(20 + i).toString()));
    expect(rest.length).toBeLessThanOrEqual(50);
    reopened.close();
  });

  it('truncates a torn tail on open', () => {
    const dir = tempDir();
    const spool = open(dir, { segmentBytes: 1 << 20 });
    spool.append([payload(0), payload(1)]);
    spool.close();
    const [name] = segmentFiles(dir);
    const path = join(dir, name as string);
    const intact = statSync(path).size;
    appendFileSync(path, encodeRecord(payload(2)).subarray(0, 30));
    const reopened = open(dir);
    expect(reopened.opened).toMatchObject({ records: 2, tornBytes: 30, corrupt: 0 });
    expect(statSync(path).size).toBe(intact);
    expect(readAll(reopened)).toEqual([payload(0), payload(1)].map(String));
    reopened.close();
  });

  it('skips and counts a record with a flipped bit', () => {
    const dir = tempDir();
    const spool = open(dir, { segmentBytes: 1 << 20 });
    spool.append([0, 1, 2, 3].map(payload));
    spool.close();
    const [name] = segmentFiles(dir);
    const path = join(dir, name as string);
    const bytes = readFileSync(path);
    const recordLength = encodeRecord(payload(0)).length;
    flipBit(bytes, recordLength + 12, 0x10);
    writeFileSync(path, bytes);
    const reopened = open(dir);
    expect(reopened.opened.corrupt).toBe(1);
    expect(reopened.corrupt).toBe(1);
    expect(readAll(reopened)).toEqual([0, 2, 3].map((i) => payload(i).toString()));
    reopened.close();
  });

  it('refuses records beyond maxBytes and takes them again once space is freed', () => {
    const dir = tempDir();
    const recordLength = encodeRecord(payload(0)).length;
    const spool = open(dir, { maxBytes: recordLength * 10, segmentBytes: recordLength * 2 });
    expect(spool.append(Array.from({ length: 15 }, (_, i) => payload(i)))).toBe(10);
    expect(spool.bytes).toBe(recordLength * 10);
    const { next } = spool.read(4);
    spool.ack(next);
    expect(spool.append([payload(10), payload(11), payload(12), payload(13), payload(14)])).toBe(4);
    expect(readAll(spool)).toEqual(Array.from({ length: 10 }, (_, i) => payload(i + 4).toString()));
    spool.close();
  });

  it('fsyncs with the always and interval policies', () => {
    for (const fsync of ['always', 'interval'] as const) {
      const dir = tempDir();
      const spool = open(dir, { fsync, fsyncIntervalMs: 10 });
      spool.append([payload(0)]);
      expect(readAll(spool)).toEqual([payload(0).toString()]);
      spool.close();
    }
  });
});

function flipBit(buf: Buffer, index: number, mask: number): void {
  buf.writeUInt8(buf.readUInt8(index) ^ mask, index);
}
