// The on-disk outage spool: append-only segment files in one directory, records framed by
// spool-format.ts. The publisher appends while Redis is away (or slower than the producer), reads the
// records back in order, and acknowledges them once Redis has; a segment is deleted only when every
// record in it is acknowledged. Synchronous file I/O on purpose: appends are small, and a write that has
// returned is in the page cache, so the order of records on disk is the order of `append` calls.
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord, readWholeRecords, scanRecords, type ScannedRecord } from './spool-format.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SpoolOptions {
  dir: string;
  /** Total bytes of segment files the spool may hold; `append` refuses records beyond it. */
  maxBytes: number;
  /** A segment is closed and a new one started once it reaches this size. Default 4 MiB. */
  segmentBytes?: number;
  /** `always`: fsync after every append call; `interval`: every `fsyncIntervalMs`; `never`: leave it to the kernel. */
  fsync: FsyncPolicy;
  fsyncIntervalMs?: number;
}

export interface SpoolOpenReport {
  segments: number;
  records: number;
  /** Damaged records skipped (and counted), including a damaged last record. */
  corrupt: number;
  /** Bytes cut from torn tails. */
  tornBytes: number;
  /** The newest intact record, so the publisher can continue its IDs after it. */
  newest: Buffer | undefined;
}

/** A position in the spool: a segment number and a byte offset in it. */
export interface SpoolCursor {
  segment: number;
  offset: number;
}

interface Segment {
  number: number;
  path: string;
  size: number;
}

const FIRST_SEGMENT_NUMBER = 1_000_000_000;
/** How much of the active segment one read takes at first (about 300 entries of 200 bytes). */
const ACTIVE_READ_BYTES = 64 * 1024;
const SEGMENT_NAME = /^(\d{16})\.seg$/;
const segmentName = (n: number): string => `${String(n).padStart(16, '0')}.seg`;

export class Spool {
  private readonly segments: Segment[] = [];
  private writeFd: number | undefined;
  private dirty = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readCursor: SpoolCursor;
  private ackCursor: SpoolCursor;
  /** The sealed segment being read, whole, so a rewind does not read the file again. */
  private cache: { segment: number; records: ScannedRecord[] } | undefined;
  private nextNumber: number;
  private closed = false;
  readonly opened: SpoolOpenReport;
  /** Damaged records skipped since open (the open scan's included). */
  corrupt = 0;

  private constructor(private readonly options: Required<SpoolOptions>) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.opened = this.recover();
    this.corrupt = this.opened.corrupt;
    const first = this.segments[0]?.number ?? 0;
    this.readCursor = { segment: first, offset: 0 };
    this.ackCursor = { segment: first, offset: 0 };
    // New spools start numbering high so that `prepend` always has numbers below the first segment.
    this.nextNumber = (this.segments.at(-1)?.number ?? FIRST_SEGMENT_NUMBER - 1) + 1;
    if (options.fsync === 'interval') {
      this.timer = setInterval(() => this.sync(), options.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  static open(options: SpoolOptions): Spool {
    return new Spool({ segmentBytes: 4 * 1024 * 1024, fsyncIntervalMs: 1000, ...options });
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Bytes of segment files on disk. */
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  /** True when every record ever appended has been acknowledged (and its files deleted). */
  get drained(): boolean {
    return this.segments.length === 0;
  }

  /** True when `read` would return nothing: everything appended has been handed out. */
  get caughtUp(): boolean {
    const last = this.segments.at(-1);
    return last === undefined || (this.readCursor.segment === last.number && this.readCursor.offset >= last.size);
  }

  /**
   * Appends payloads in order, as far as `maxBytes` allows. Returns how many were appended; the caller
   * applies its full policy to the rest.
   */
  append(payloads: readonly Buffer[]): number {
    if (this.closed) throw new Error('spool is closed');
    let total = this.bytes;
    let appended = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const writePending = (): void => {
      if (pending.length === 0) return;
      const segment = this.activeSegment();
      writeSync(this.writeFd as number, Buffer.concat(pending, pendingBytes), 0, pendingBytes, segment.size);
      segment.size += pendingBytes;
      pending = [];
      pendingBytes = 0;
      this.dirty = true;
    };
    for (const payload of payloads) {
      const record = encodeRecord(payload);
      if (total + record.length > this.options.maxBytes) break;
      const active = this.writeFd === undefined ? undefined : this.segments.at(-1);
      const activeSize = (active?.size ?? 0) + pendingBytes;
      if (activeSize > 0 && activeSize + record.length > this.options.segmentBytes) {
        writePending();
        this.seal();
      }
      pending.push(record);
      pendingBytes += record.length;
      total += record.length;
      appended++;
    }
    writePending();
    if (this.options.fsync === 'always') this.sync();
    return appended;
  }

  /**
   * Puts payloads before every record in the spool, in a segment numbered below the first. The
   * publisher uses it for entries older than the spool's (a failed batch taken from the memory queue,
   * the queue itself); they were accepted already, so `maxBytes` does not refuse them. Only valid when
   * no record is handed out and unacknowledged.
   */
  prepend(payloads: readonly Buffer[]): void {
    if (this.closed) throw new Error('spool is closed');
    if (payloads.length === 0) return;
    const number = (this.segments[0]?.number ?? this.nextNumber) - 1;
    if (number < 0) throw new Error('spool segment numbers exhausted');
    const path = join(this.options.dir, segmentName(number));
    const data = Buffer.concat(payloads.map(encodeRecord));
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, data, 0, data.length, 0);
      if (this.options.fsync !== 'never') fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.options.fsync === 'always') this.syncDir();
    this.segments.unshift({ number, path, size: data.length });
    this.readCursor = { segment: number, offset: 0 };
    this.ackCursor = { segment: number, offset: 0 };
  }

  /** Up to `max` records after the read cursor, oldest first, and the cursor just past them. */
  read(max: number): { payloads: Buffer[]; next: SpoolCursor } {
    const payloads: Buffer[] = [];
    while (payloads.length < max) {
      const index = this.segments.findIndex((s) => s.number === this.readCursor.segment);
      const segment = this.segments[index];
      if (segment === undefined) break;
      if (this.readCursor.offset >= segment.size) {
        const following = this.segments[index + 1];
        if (following === undefined) break;
        this.readCursor = { segment: following.number, offset: 0 };
        continue;
      }
      for (const record of this.recordsFrom(segment, this.readCursor.offset, max - payloads.length)) {
        payloads.push(record.payload);
        this.readCursor = { segment: segment.number, offset: record.end };
      }
      // Damaged bytes at a sealed segment's end (skipped records) leave nothing more to read in it.
      if (payloads.length < max && segment.number !== this.activeNumber()) this.readCursor = { segment: segment.number, offset: segment.size };
      else if (payloads.length < max) break;
    }
    return { payloads, next: { ...this.readCursor } };
  }

  /** Everything before `cursor` is in Redis: delete the segments it covers entirely. */
  ack(cursor: SpoolCursor): void {
    this.ackCursor = { ...cursor };
    while (this.segments.length > 0) {
      const first = this.segments[0] as Segment;
      const isActive = first.number === this.activeNumber();
      const fullyAcked = first.number < this.ackCursor.segment || (first.number === this.ackCursor.segment && this.ackCursor.offset >= first.size);
      if (!fullyAcked) break;
      if (isActive) {
        closeSync(this.writeFd as number);
        this.writeFd = undefined;
        this.dirty = false;
      }
      unlinkSync(first.path);
      this.segments.shift();
      if (this.cache?.segment === first.number) this.cache = undefined;
    }
    const first = this.segments[0];
    if (first !== undefined && first.number > this.ackCursor.segment) this.ackCursor = { segment: first.number, offset: 0 };
    if (first !== undefined && first.number > this.readCursor.segment) this.readCursor = { segment: first.number, offset: 0 };
    if (first === undefined) {
      this.ackCursor = { segment: this.nextNumber, offset: 0 };
      this.readCursor = { segment: this.nextNumber, offset: 0 };
    }
  }

  /** Records handed out but not acknowledged (a failed send) will be read again. */
  rewind(): void {
    this.readCursor = { ...this.ackCursor };
  }

  sync(): void {
    if (this.dirty && this.writeFd !== undefined) {
      fsyncSync(this.writeFd);
      this.dirty = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.writeFd !== undefined) {
      if (this.options.fsync !== 'never') this.sync();
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
  }

  private activeNumber(): number | undefined {
    return this.writeFd === undefined ? undefined : this.segments.at(-1)?.number;
  }

  private activeSegment(): Segment {
    const active = this.writeFd === undefined ? undefined : this.segments.at(-1);
    if (active !== undefined) return active;
    const number = this.nextNumber++;
    const path = join(this.options.dir, segmentName(number));
    this.writeFd = openSync(path, 'wx', 0o600);
    const segment = { number, path, size: 0 };
    if (this.segments.length === 0) {
      this.readCursor = { segment: number, offset: 0 };
      this.ackCursor = { segment: number, offset: 0 };
    }
    this.segments.push(segment);
    // A new file's directory entry must reach the disk too, or an fsynced record can vanish with it.
    if (this.options.fsync === 'always') this.syncDir();
    return segment;
  }

  private seal(): void {
    if (this.writeFd === undefined) return;
    if (this.options.fsync !== 'never') this.sync();
    closeSync(this.writeFd);
    this.writeFd = undefined;
    this.dirty = false;
  }

  private syncDir(): void {
    const fd = openSync(this.options.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Up to `max` records of `segment` from `offset` on. */
  private recordsFrom(segment: Segment, offset: number, max: number): ScannedRecord[] {
    if (segment.number !== this.activeNumber()) {
      if (this.cache?.segment !== segment.number) {
        this.cache = { segment: segment.number, records: scanRecords(readFile(segment.path, 0, segment.size)).records };
      }
      const records = this.cache.records;
      const first = firstAtOrAfter(records, offset);
      return records.slice(first, first + max);
    }
    // The active segment holds only whole records this process wrote, and may be large: read it in
    // chunks from `offset`, as far as `max` records need, instead of the whole rest of the file per call.
    const out: ScannedRecord[] = [];
    let position = offset;
    let chunk = ACTIVE_READ_BYTES;
    while (out.length < max && position < segment.size) {
      const buf = readFile(segment.path, position, Math.min(segment.size - position, chunk));
      const parsed = readWholeRecords(buf, max - out.length);
      if (parsed.damaged && parsed.records.length === 0) {
        // Damaged under us (a bad disk): the resynchronising scan skips what it must.
        const rest = scanRecords(readFile(segment.path, position, segment.size - position)).records;
        out.push(...rest.slice(0, max - out.length).map((r) => ({ ...r, offset: r.offset + position, end: r.end + position })));
        break;
      }
      if (parsed.records.length === 0) {
        // One record larger than the chunk (or, read to the end, no whole record: nothing to hand out).
        if (buf.length >= segment.size - position) break;
        chunk *= 2;
        continue;
      }
      out.push(...parsed.records.map((r) => ({ ...r, offset: r.offset + position, end: r.end + position })));
      position += parsed.end;
    }
    return out;
  }

  /** Scans the segments a previous run left: truncates torn tails, counts damaged records. */
  private recover(): SpoolOpenReport {
    const report: SpoolOpenReport = { segments: 0, records: 0, corrupt: 0, tornBytes: 0, newest: undefined };
    const names = readdirSync(this.options.dir)
      .filter((name) => SEGMENT_NAME.test(name))
      .sort();
    for (const name of names) {
      const path = join(this.options.dir, name);
      const size = statSync(path).size;
      const scan = scanRecords(readFile(path, 0, size));
      report.corrupt += scan.corrupt.length + (scan.tailCorrupt ? 1 : 0);
      if (scan.validEnd < size) {
        if (!scan.tailCorrupt) report.tornBytes += size - scan.validEnd;
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, scan.validEnd);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      if (scan.records.length === 0) {
        unlinkSync(path);
        continue;
      }
      report.segments++;
      report.records += scan.records.length;
      report.newest = Buffer.from(scan.records.at(-1)?.payload ?? Buffer.alloc(0));
      this.segments.push({ number: Number(SEGMENT_NAME.exec(name)?.[1]), path, size: scan.validEnd });
    }
    return report;
  }
}

/** Index of the first record at or after `offset` (records are sorted by offset). */
function firstAtOrAfter(records: readonly ScannedRecord[], offset: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((records[mid] as ScannedRecord).offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function readFile(path: string, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}
