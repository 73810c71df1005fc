// The spool's record framing, kept apart from the file handling so it can be tested on plain buffers.
// A record is [u32le payload length][u32le CRC-32 of (length bytes + payload)][payload]. The CRC covers
// the length too, so a flipped bit in the length is caught like one in the payload.
// zlib's CRC-32 (Node >= 20.15) is the IEEE 802.3 one, reflected polynomial 0xEDB88320: the checksum the
// spool used before, so spool files written by older versions stay readable.
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;
/** Larger lengths are treated as corruption; entries are a few hundred bytes. */
export const MAX_RECORD_PAYLOAD = 16 * 1024 * 1024;

export function encodeRecord(payload: Buffer): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  payload.copy(record, RECORD_HEADER_BYTES);
  record.writeUInt32LE(crc32(payload, crc32(record.subarray(0, 4))), 4);
  return record;
}

/** Whether a whole, intact record starts at `pos`; its payload length if so. */
function validAt(buf: Buffer, pos: number): number | undefined {
  if (pos + RECORD_HEADER_BYTES > buf.length) return undefined;
  const length = buf.readUInt32LE(pos);
  if (length > MAX_RECORD_PAYLOAD || pos + RECORD_HEADER_BYTES + length > buf.length) return undefined;
  const expected = buf.readUInt32LE(pos + 4);
  const actual = crc32(buf.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length), crc32(buf.subarray(pos, pos + 4)));
  return actual === expected ? length : undefined;
}

export interface ScannedRecord {
  /** Offset of the record's header in the scanned buffer. */
  offset: number;
  /** Offset just past the record. */
  end: number;
  payload: Buffer;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Damaged stretches followed by an intact record: each counts as one corrupt record. */
  corrupt: Array<{ from: number; to: number }>;
  /**
   * Where the intact data ends. Bytes after it hold no intact record: a torn write (the crash hit
   * mid-append) or a damaged last record; the file is truncated there.
   */
  validEnd: number;
  /** True when the bytes after `validEnd` look like a whole record with a bad CRC rather than a torn one. */
  tailCorrupt: boolean;
}

/**
 * Reads every intact record of `buf`. After a damaged record it looks for the next offset where an
 * intact record starts (a CRC-32 match at a random offset has odds of 2^-32), so one flipped bit costs
 * one record, not the rest of the segment.
 */
export function scanRecords(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  const corrupt: Array<{ from: number; to: number }> = [];
  let pos = 0;
  while (pos < buf.length) {
    const length = validAt(buf, pos);
    if (length !== undefined) {
      const end = pos + RECORD_HEADER_BYTES + length;
      records.push({ offset: pos, end, payload: buf.subarray(pos + RECORD_HEADER_BYTES, end) });
      pos = end;
      continue;
    }
    let next = pos + 1;
    while (next < buf.length && validAt(buf, next) === undefined) next++;
    if (next >= buf.length) break;
    corrupt.push({ from: pos, to: next });
    pos = next;
  }
  let tailCorrupt = false;
  if (pos < buf.length && pos + RECORD_HEADER_BYTES <= buf.length) {
    tailCorrupt = pos + RECORD_HEADER_BYTES + buf.readUInt32LE(pos) === buf.length;
  }
  return { records, corrupt, validEnd: pos, tailCorrupt };
}

/**
 * Reads intact records from the start of `buf`, in order, up to `max`, and stops at the first record
 * that is not whole in `buf` (the rest comes with the next read) or not intact (`damaged`). For data
 * known to hold whole records only, where scanRecords' resynchronising search is not needed.
 */
export function readWholeRecords(buf: Buffer, max: number): { records: ScannedRecord[]; end: number; damaged: boolean } {
  const records: ScannedRecord[] = [];
  let pos = 0;
  while (records.length < max && pos + RECORD_HEADER_BYTES <= buf.length) {
    const length = buf.readUInt32LE(pos);
    if (length > MAX_RECORD_PAYLOAD) return { records, end: pos, damaged: true };
    const end = pos + RECORD_HEADER_BYTES + length;
    if (end > buf.length) break;
    if (validAt(buf, pos) === undefined) return { records, end: pos, damaged: true };
    records.push({ offset: pos, end, payload: buf.subarray(pos + RECORD_HEADER_BYTES, end) });
    pos = end;
  }
  return { records, end: pos, damaged: false };
}
