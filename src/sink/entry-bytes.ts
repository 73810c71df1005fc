// An accepted entry as bytes: the RESP array `[id, name, value, name, value, ...]`, exactly the tail of
// the XADD that writes it (xadd.ts puts `XADD key [trim]` in front). The memory queue holds these, and
// the spool stores them as its record payload, so an entry is encoded once, when it is accepted. The
// spool of an earlier version stored `{"id":...,"fields":{...}}` as JSON; such records are still read
// (readSpooled), so an upgrade loses nothing.
import { bulkBytes, RespWriter } from './resp-writer.js';
import type { EncodableEntry, EntryKind, SinkEntry, StampedEntry } from './types.js';

const STAR = 0x2a;
const DOLLAR = 0x24;
const CR = 0x0d;
const BRACE = 0x7b;

const KIND = bulkBytes('kind');
const BOOT_ID = bulkBytes('boot_id');
const SEQ = bulkBytes('seq');
const KIND_VALUES: Record<EntryKind, Buffer> = { flow: bulkBytes('flow'), loss: bulkBytes('loss'), lifecycle: bulkBytes('lifecycle'), dns: bulkBytes('dns') };

export function isEncodable(entry: SinkEntry | EncodableEntry): entry is EncodableEntry {
  return typeof (entry as EncodableEntry).encode === 'function';
}

/**
 * The entry's own fields as bulk-string pairs. The envelope fields belong to the sink; a producer's own
 * values for them would break the ID scheme, so they are left out here.
 */
function writeFieldMap(out: RespWriter, fields: Record<string, string>): number {
  let pairs = 0;
  for (const name in fields) {
    if (name === 'kind' || name === 'boot_id' || name === 'seq') continue;
    out.bulk(name);
    out.bulk(fields[name] as string);
    pairs++;
  }
  return pairs;
}

/** Writes the sink's envelope and stamp for every entry of one boot: `boot_id` is encoded once. */
export class EntryStamper {
  private readonly bootId: Buffer;

  constructor(
    bootId: string,
    private readonly out: RespWriter = new RespWriter(),
  ) {
    this.bootId = bulkBytes(bootId);
  }

  /** `[id, kind, <kind>, boot_id, <boot>, seq, <seq>, ...the entry's fields]` as bytes. */
  stamp(id: string, seq: number, entry: SinkEntry | EncodableEntry): Buffer {
    const out = this.out;
    out.bulk(id);
    out.raw(KIND);
    out.raw(KIND_VALUES[entry.kind]);
    out.raw(BOOT_ID);
    out.raw(this.bootId);
    out.raw(SEQ);
    out.bulkNumber(seq);
    const pairs = isEncodable(entry) ? entry.encode(out) : writeFieldMap(out, entry.fields);
    return out.finish(1 + 2 * (3 + pairs));
  }
}

/** An entry with its ID and every field as given (envelope included), as bytes. */
export function encodeStamped(entry: StampedEntry, out: RespWriter = new RespWriter()): Buffer {
  out.bulk(entry.id);
  let pairs = 0;
  for (const name in entry.fields) {
    out.bulk(name);
    out.bulk(entry.fields[name] as string);
    pairs++;
  }
  return out.finish(1 + 2 * pairs);
}

/** Reads `<digits>\r\n` at `at`: the number and the position after the CRLF, or undefined. */
function readLength(bytes: Buffer, at: number): { n: number; next: number } | undefined {
  let n = 0;
  let pos = at;
  while (pos < bytes.length && bytes[pos] !== CR) {
    const digit = (bytes[pos] as number) - 0x30;
    if (digit < 0 || digit > 9 || pos - at > 9) return undefined;
    n = n * 10 + digit;
    pos++;
  }
  if (pos === at || pos + 1 >= bytes.length || bytes[pos + 1] !== 0x0a) return undefined;
  return { n, next: pos + 2 };
}

/** The entry's bulk strings, or undefined when the bytes are not one whole array of them. */
function splitEntry(bytes: Buffer): Buffer[] | undefined {
  if (bytes[0] !== STAR) return undefined;
  const count = readLength(bytes, 1);
  if (count === undefined || count.n < 1 || count.n % 2 !== 1) return undefined;
  const parts: Buffer[] = [];
  let pos = count.next;
  for (let i = 0; i < count.n; i++) {
    if (bytes[pos] !== DOLLAR) return undefined;
    const length = readLength(bytes, pos + 1);
    if (length === undefined) return undefined;
    const end = length.next + length.n;
    if (end + 2 > bytes.length || bytes[end] !== CR || bytes[end + 1] !== 0x0a) return undefined;
    parts.push(bytes.subarray(length.next, end));
    pos = end + 2;
  }
  return pos === bytes.length ? parts : undefined;
}

/** The number of bulk strings in an entry (its array header), and where they start. */
export function entryCount(bytes: Buffer): { count: number; bodyStart: number } {
  const header = readLength(bytes, 1);
  if (bytes[0] !== STAR || header === undefined) throw new Error('not an encoded entry');
  return { count: header.n, bodyStart: header.next };
}

/** The entry's ID and fields, decoded (a refused retry's check, the spool's newest record, tests). */
export function decodeEntry(bytes: Buffer): StampedEntry | undefined {
  const parts = splitEntry(bytes);
  if (parts === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (let i = 1; i + 1 < parts.length; i += 2) fields[(parts[i] as Buffer).toString('utf8')] = (parts[i + 1] as Buffer).toString('utf8');
  return { id: (parts[0] as Buffer).toString('utf8'), fields };
}

/** An earlier version's spool record: the entry with its ID, as JSON. */
function decodeJsonRecord(payload: Buffer): StampedEntry | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { id, fields } = value as { id?: unknown; fields?: unknown };
    if (typeof id !== 'string' || typeof fields !== 'object' || fields === null) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') out[k] = v;
    return { id, fields: out };
  } catch {
    return undefined;
  }
}

/**
 * A spool record's payload as entry bytes: this version's RESP bytes after a check that they are one
 * whole entry (a bad one would break the pipelined stream for every entry after it), or an earlier
 * version's JSON encoded again. Undefined for neither.
 */
export function readSpooled(payload: Buffer): Buffer | undefined {
  if (payload[0] === STAR) return splitEntry(payload) === undefined ? undefined : payload;
  if (payload[0] !== BRACE) return undefined;
  const entry = decodeJsonRecord(payload);
  return entry === undefined ? undefined : encodeStamped(entry);
}
