// Batch: the fast path. The addon's batch (one Buffer, six meta words per record) is read where it
// lies: a syscall event whose records are all in the batch, one after the other (SYSCALL first, EOE
// or PROCTITLE last), is read in one pass into a reused BatchEvent, its header as numbers, only the
// fields a flow needs indexed, nothing allocated until a flow is built. Everything else goes,
// record by record and in order, the generic way (parseKernelRecord → Reassembler): an event cut
// by the batch's end or interleaved with another, a record the generic parser would treat in a way
// the view does not (a bad header, auditd's field separator, a header number too long to read exactly),
// a serial the reassembler already holds, and every record outside a syscall event. Both ways meet
// in the one Reassembler (serials, gaps, late records, counts: Reassembler.takeWhole).
import { batchLength, isKernelRecord, META_WORDS, type RecordBatch } from '../native/record-batch.js';
import { findLookup, readLookup } from './early-lookups.js';
import type { EarlyLookup, EventRecords } from './event-records.js';
import { proctitleValueArgv } from './record.js';
import { readHeader, RecordView, trimNuls, type RecordHeader } from './record-view.js';
import { AUDIT_EOE, AUDIT_PROCTITLE, AUDIT_REPLACE, AUDIT_SOCKADDR, AUDIT_SOCKETCALL, AUDIT_SYSCALL, AUDIT_URINGOP, hasKernelSerial, isStandaloneType } from '../linux/record-types.js';

// Control replies are skipped (src/audit/socket.ts hands them to the control plane); so is
// AUDIT_REPLACE: the kernel's probe of the registered daemon, a bare pid, no event (Pipeline.pushKernelRecord).
const isRecord = (type: number): boolean => isKernelRecord(type) && type !== AUDIT_REPLACE;

/** Where a record's payload ends in the batch, trailing NULs left out. */
function payloadEnd(batch: RecordBatch, index: number): number {
  const start = batch.meta[index * META_WORDS + 4] as number;
  return trimNuls(batch.data, start, Math.min(start + (batch.meta[index * META_WORDS + 5] as number), batch.data.length));
}

/**
 * The serial of a batch's first or last kernel record, read as the fast path reads it; undefined
 * when the batch has no kernel record or that record's header is unreadable (AUDIT_REPLACE's bare pid).
 */
export function edgeSerial(batch: RecordBatch, edge: 'first' | 'last'): number | undefined {
  const count = batchLength(batch);
  const step = edge === 'first' ? 1 : -1;
  for (let index = edge === 'first' ? 0 : count - 1; index >= 0 && index < count; index += step) {
    if (!isKernelRecord(batch.meta[index * META_WORDS] as number)) continue;
    const header: RecordHeader = { time: 0, serial: 0, body: 0 };
    return readHeader(batch.data, batch.meta[index * META_WORDS + 4] as number, payloadEnd(batch, index), header) ? header.serial : undefined;
  }
  return undefined;
}

// PROCTITLE values remembered (a few hundred processes make most flows; 128 bytes of hex each at most).
const ARGV_MEMO_ENTRIES = 1024;

/** The fast path's event: one batch's records of one syscall event, read on demand. Reused. */
class BatchEvent implements EventRecords {
  readonly node = '';
  serial = 0;
  time = 0;
  readonly syscall = new RecordView();
  socketcall: RecordView | undefined;
  // io_uring and netfilter events start with their own record, not SYSCALL: never read here.
  readonly uringop = undefined;
  readonly packet = undefined;
  private readonly socketcallView = new RecordView();
  private readonly sockaddrView = new RecordView();
  private readonly proctitleView = new RecordView();
  private hasSockaddr = false;
  private hasProctitle = false;
  private lookups: Buffer | null = null;
  private lookupEntry = -1;
  private early: EarlyLookup | undefined;
  /** Decoded PROCTITLE values by their text, oldest first out. */
  private readonly argvs = new Map<string, string[]>();

  /** A new event, from its SYSCALL record's fields at data[start, end); false when the view declines them. */
  start(serial: number, time: number, data: Buffer, start: number, end: number): boolean {
    this.serial = serial;
    this.time = time;
    this.socketcall = undefined;
    this.hasSockaddr = false;
    this.hasProctitle = false;
    this.lookupEntry = -1;
    this.early = undefined;
    return this.syscall.index(data, start, end);
  }

  /**
   * One more record of the event: the first SOCKETCALL, the first SOCKADDR and the PROCTITLE are
   * indexed (the others no flow reads); false when the view declines it.
   */
  add(type: number, data: Buffer, start: number, end: number): boolean {
    if (type === AUDIT_SOCKETCALL && this.socketcall === undefined) {
      this.socketcall = this.socketcallView;
      return this.socketcallView.index(data, start, end);
    }
    if (type === AUDIT_SOCKADDR && !this.hasSockaddr) {
      this.hasSockaddr = true;
      return this.sockaddrView.index(data, start, end);
    }
    if (type === AUDIT_PROCTITLE) {
      this.hasProctitle = true;
      return this.proctitleView.index(data, start, end);
    }
    return true;
  }

  setLookup(lookups: Buffer | null, entry: number): void {
    this.lookups = lookups;
    this.lookupEntry = entry;
  }

  get saddr(): string | undefined {
    return this.hasSockaddr ? (this.sockaddrView.value('saddr') ?? '') : undefined;
  }

  /** Decoded when the socket step asks for it, once. */
  get lookup(): EarlyLookup | undefined {
    if (this.early === undefined && this.lookupEntry !== -1 && this.lookups !== null) {
      this.early = readLookup(this.lookups, this.lookupEntry);
      this.lookupEntry = -1;
    }
    return this.early;
  }

  argv(): string[] {
    if (!this.hasProctitle) return [];
    const raw = this.proctitleView.value('proctitle');
    if (raw === undefined) return [];
    // A process's flows share one PROCTITLE: decoded once, the same array (never changed: later
    // stages replace argv, they do not edit it) is every such flow's, and the sink's bytes for it
    // are found by identity (flow-entry.ts).
    let argv = this.argvs.get(raw);
    if (argv === undefined) {
      argv = proctitleValueArgv(raw);
      if (this.argvs.size >= ARGV_MEMO_ENTRIES) this.argvs.delete(this.argvs.keys().next().value as string);
      this.argvs.set(raw, argv);
    }
    return argv;
  }
}

export interface BatchTarget {
  /** A record the fast path leaves to the generic path (parseKernelRecord, then the Reassembler). */
  generic(type: number, payload: Buffer): void;
  /** The early lookup made for a SYSCALL record left to the generic path, for when its event completes. */
  lookupFor(serial: number, lookup: EarlyLookup): void;
  /** Whether the reassembler already holds or has emitted this serial's event. */
  knows(serial: number): boolean;
  /** A whole event read by the fast path, of `records` records (`trailingEnd`: an EOE after its PROCTITLE). */
  whole(event: EventRecords, records: number, trailingEnd: boolean): void;
}

export class BatchReader {
  private readonly header: RecordHeader = { time: 0, serial: 0, body: 0 };
  private readonly event = new BatchEvent();
  private lookupFrom = 0;

  constructor(private readonly target: BatchTarget) {}

  read(batch: RecordBatch): void {
    const meta = batch.meta;
    const count = batchLength(batch);
    this.lookupFrom = 0;
    for (let index = 0; index < count; ) {
      const type = meta[index * META_WORDS] as number;
      if (!isRecord(type)) {
        index++;
        continue;
      }
      if (type === AUDIT_SYSCALL) {
        const next = this.wholeEvent(batch, index, count);
        if (next !== -1) {
          index = next;
          continue;
        }
      }
      if (type === AUDIT_SYSCALL) this.keepLookup(batch, index);
      const start = meta[index * META_WORDS + 4] as number;
      this.target.generic(type, batch.data.subarray(start, start + (meta[index * META_WORDS + 5] as number)));
      index++;
    }
  }

  /**
   * Reads the event whose SYSCALL record is entry `first`, to its end, and hands it on: the index
   * after its last record. -1 when it is not one the fast path takes (nothing handed on, nothing
   * changed): its records then go the generic way.
   */
  private wholeEvent(batch: RecordBatch, first: number, count: number): number {
    const { data, meta } = batch;
    const header = this.header;
    const event = this.event;
    let end = payloadEnd(batch, first);
    if (!readHeader(data, meta[first * META_WORDS + 4] as number, end, header) || this.target.knows(header.serial)) return -1;
    const { serial, time } = header;
    if (!event.start(serial, time, data, header.body, end)) return -1;
    let records = 1;
    let last = -1;
    for (let index = first + 1; index < count && last === -1; index++) {
      const type = meta[index * META_WORDS] as number;
      if (!isRecord(type)) continue;
      end = payloadEnd(batch, index);
      if (!readHeader(data, meta[index * META_WORDS + 4] as number, end, header) || header.serial !== serial || header.time !== time) return -1;
      if (type === AUDIT_SYSCALL || type === AUDIT_URINGOP || isStandaloneType(type) || !hasKernelSerial(type)) return -1;
      records++;
      if (type === AUDIT_EOE || type === AUDIT_PROCTITLE) last = index;
      if (!event.add(type, data, header.body, end)) return -1;
    }
    if (last === -1) return -1;
    // The kernel's EOE after the PROCTITLE that completed the event.
    const trailing = meta[last * META_WORDS] === AUDIT_PROCTITLE ? this.trailingEnd(batch, last + 1, count, serial, time) : -1;
    if (trailing !== -1) records++;
    const entry = findLookup(batch.lookups, this.lookupFrom, first);
    if (entry !== -1) this.lookupFrom = entry + 1;
    event.setLookup(batch.lookups, entry);
    this.target.whole(event, records, trailing !== -1);
    return (trailing === -1 ? last : trailing) + 1;
  }

  /** A SYSCALL record going the generic way keeps its early lookup, found or not, under its serial. */
  private keepLookup(batch: RecordBatch, index: number): void {
    const entry = findLookup(batch.lookups, this.lookupFrom, index);
    if (entry === -1) return;
    this.lookupFrom = entry + 1;
    const lookup = readLookup(batch.lookups as Buffer, entry);
    const header = this.header;
    if (lookup !== undefined && readHeader(batch.data, batch.meta[index * META_WORDS + 4] as number, payloadEnd(batch, index), header)) this.target.lookupFor(header.serial, lookup);
  }

  /** The index of the next record when it is this event's EOE with the same time; -1 otherwise. */
  private trailingEnd(batch: RecordBatch, from: number, count: number, serial: number, time: number): number {
    for (let index = from; index < count; index++) {
      const type = batch.meta[index * META_WORDS] as number;
      if (!isRecord(type)) continue;
      if (type !== AUDIT_EOE) return -1;
      const header = this.header;
      const ok = readHeader(batch.data, batch.meta[index * META_WORDS + 4] as number, payloadEnd(batch, index), header);
      return ok && header.serial === serial && header.time === time ? index : -1;
    }
    return -1;
  }
}

/** How many entries of a batch are kernel records (not control replies). */
export function recordCount(batch: RecordBatch): number {
  let records = 0;
  for (let index = 0; index < batchLength(batch); index++) if (isKernelRecord(batch.meta[index * META_WORDS] as number)) records++;
  return records;
}
