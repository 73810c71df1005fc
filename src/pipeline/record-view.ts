// Record view: a kernel record read where it lies in the batch's bytes, without a string or a Map.
// readHeader() reads `audit(<sec>.<ms>:<serial>): ` into numbers; RecordView indexes a record's
// fields in one pass and reads a value only when asked, with exactly the semantics of
// ./record.ts (parseFields, decodeFieldValue, numberField), which the equivalence property test
// (test/unit/pipeline/fast-path.test.ts) holds it to. A header with a number too long to read
// exactly digit by digit, or a record with auditd's field separator 0x1D, it declines: the record
// goes the generic way. A field value too long for that is read as a string, as numberField does.
import { fieldValue, isUntrustedField, parseNumber, rawTextLimit } from './record.js';
import type { RecordFields } from './event-records.js';

/** A record header as numbers, and where the record's fields start. */
export interface RecordHeader {
  /** ms since the epoch */
  time: number;
  serial: number;
  /** Offset of the first byte after `): ` (and the one optional space). */
  body: number;
}

const CHAR_0 = 0x30;
const OPEN = 'audit(';
// JavaScript's \s among latin1 characters (the generic parser's HEADER regex ends with `\s?`).
const isSpace = (byte: number): boolean => (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
const isDigit = (byte: number): boolean => byte >= CHAR_0 && byte <= 0x39;
// Digits read one by one stay exact below 2^53: up to 15 decimal or 13 hex digits.
const MAX_DECIMAL_DIGITS = 15;
const MAX_HEX_DIGITS = 13;

/** `end` moved back over trailing NULs (some kernels count one in the length). */
export function trimNuls(data: Uint8Array, start: number, end: number): number {
  while (end > start && data[end - 1] === 0) end--;
  return end;
}

/**
 * Reads `audit(<sec>.<ms>:<serial>):` at `start`. False when the text does not have that form, or
 * has a number too long to read exactly here: the generic parser then decides (and counts a
 * parse error when it must).
 */
export function readHeader(data: Uint8Array, start: number, end: number, out: RecordHeader): boolean {
  if (end - start < OPEN.length) return false;
  for (let k = 0; k < OPEN.length; k++) if (data[start + k] !== OPEN.charCodeAt(k)) return false;
  let i = start + OPEN.length;
  let seconds = 0;
  const secondsAt = i;
  while (i < end && isDigit(data[i] as number)) seconds = seconds * 10 + ((data[i++] as number) - CHAR_0);
  if (i === secondsAt || i - secondsAt > MAX_DECIMAL_DIGITS || data[i] !== 0x2e || i + 4 >= end) return false;
  let millis = 0;
  for (let k = 1; k <= 3; k++) {
    const byte = data[i + k] as number;
    if (!isDigit(byte)) return false;
    millis = millis * 10 + (byte - CHAR_0);
  }
  i += 4;
  if (data[i] !== 0x3a) return false;
  i++;
  let serial = 0;
  const serialAt = i;
  while (i < end && isDigit(data[i] as number)) serial = serial * 10 + ((data[i++] as number) - CHAR_0);
  if (i === serialAt || i - serialAt > MAX_DECIMAL_DIGITS || serial > 0xffffffff) return false;
  if (i + 1 >= end || data[i] !== 0x29 || data[i + 1] !== 0x3a) return false;
  i += 2;
  if (i < end && isSpace(data[i] as number)) i++;
  out.time = seconds * 1000 + millis;
  out.serial = serial;
  out.body = i;
  return true;
}

// The fields a flow reads (SYSCALL, SOCKETCALL, SOCKADDR, PROCTITLE): all others are skipped.
const KEYS = ['arch', 'syscall', 'success', 'exit', 'a0', 'a1', 'a2', 'a3', 'pid', 'ppid', 'uid', 'euid', 'gid', 'auid', 'ses', 'tty', 'comm', 'exe', 'key', 'saddr', 'proctitle'];
const SLOT: ReadonlyMap<string, number> = new Map(KEYS.map((key, slot) => [key, slot]));
const KEY_BYTES = KEYS.map((key) => Buffer.from(key, 'latin1'));
const SLOTS_BY_LENGTH: number[][] = [];
KEYS.forEach((key, slot) => (SLOTS_BY_LENGTH[key.length] ??= []).push(slot));
const NONE: number[] = [];
const SPACE = 0x20;
const EQUALS = 0x3d;
const GROUP_SEPARATOR = 0x1d;

/** One record's fields, read from the bytes on demand. Reused: index() points it at the next record. */
export class RecordView implements RecordFields {
  private data: Buffer = Buffer.alloc(0);
  /** Per slot: value start, value end, 1 when it was quoted; start -1 when the key is absent. */
  private readonly spans = new Int32Array(KEYS.length * 3);

  /**
   * Indexes the fields of data[start, end) as parseFields() splits them (the first occurrence of a
   * key wins). False for a record with auditd's field separator (its fields would be split there).
   */
  index(data: Buffer, start: number, end: number): boolean {
    this.data = data;
    const spans = this.spans;
    for (let slot = 0; slot < KEYS.length; slot++) spans[slot * 3] = -1;
    let separator = false;
    let i = start;
    while (i < end) {
      while (i < end && data[i] === SPACE) i++;
      const keyStart = i;
      while (i < end && data[i] !== EQUALS && data[i] !== SPACE) {
        if (data[i] === GROUP_SEPARATOR) separator = true;
        i++;
      }
      if (i >= end || data[i] === SPACE) continue;
      const keyEnd = i;
      i++;
      const quote = i < end ? (data[i] as number) : -1;
      let valueStart = i;
      let quoted = 0;
      // Scanned here rather than with indexOf: values are short, and the search must stop at `end`.
      let stop = SPACE;
      if (quote === 0x22 || quote === 0x27) {
        stop = quote;
        valueStart = ++i;
        quoted = 1;
      } else if (quote === 0x7b) {
        stop = 0x7d;
      }
      while (i < end && data[i] !== stop) {
        if (data[i] === GROUP_SEPARATOR) separator = true;
        i++;
      }
      let valueEnd = i;
      // A closing quote is skipped; a closing brace belongs to the value; a space ends it.
      if (i < end && stop !== SPACE) {
        i++;
        if (stop === 0x7d) valueEnd = i;
      }
      const slot = this.slotOf(keyStart, keyEnd);
      if (slot !== -1 && spans[slot * 3] === -1) {
        spans[slot * 3] = valueStart;
        spans[slot * 3 + 1] = valueEnd;
        spans[slot * 3 + 2] = quoted;
      }
    }
    // The generic parser cuts the fields at auditd's separator: such a record is left to it.
    return !separator;
  }

  value(key: string): string | undefined {
    const slot = SLOT.get(key);
    if (slot === undefined || this.spans[slot * 3] === -1) return undefined;
    const start = this.spans[slot * 3] as number;
    const quoted = this.spans[slot * 3 + 2] === 1;
    // A bounded field's text is read only as far as its bound reaches (fieldValue cuts it there too).
    const limit = rawTextLimit(key, quoted);
    const end = limit === undefined ? (this.spans[slot * 3 + 1] as number) : Math.min(this.spans[slot * 3 + 1] as number, start + limit);
    return fieldValue(key, this.data.toString('latin1', start, end), quoted);
  }

  number(key: string, radix: 10 | 16 = 10): number | undefined {
    const slot = SLOT.get(key);
    if (slot === undefined || this.spans[slot * 3] === -1) return undefined;
    const data = this.data;
    let i = this.spans[slot * 3] as number;
    const end = this.spans[slot * 3 + 1] as number;
    // A value the kernel may have hex-encoded, or one too long to read exactly digit by digit: read
    // as a string, as numberField() does.
    if ((this.spans[slot * 3 + 2] === 0 && isUntrustedField(key)) || end - i > (radix === 16 ? MAX_HEX_DIGITS : MAX_DECIMAL_DIGITS)) return parseNumber(this.value(key), radix);
    if (i === end) return undefined;
    if (radix === 16) {
      let result = 0;
      for (; i < end; i++) {
        const digit = hexDigit(data[i] as number);
        if (digit === -1) return undefined;
        result = result * 16 + digit;
      }
      return result;
    }
    const negative = data[i] === 0x2d;
    if (negative && ++i === end) return undefined;
    let result = 0;
    for (; i < end; i++) {
      const byte = data[i] as number;
      if (!isDigit(byte)) return undefined;
      result = result * 10 + (byte - CHAR_0);
    }
    return negative ? -result : result;
  }

  enriched(): undefined {
    // index() declines records with auditd's separator, so a viewed record has no enriched part.
    return undefined;
  }

  private slotOf(start: number, end: number): number {
    const length = end - start;
    for (const slot of SLOTS_BY_LENGTH[length] ?? NONE) {
      const key = KEY_BYTES[slot] as Buffer;
      let k = 0;
      while (k < length && this.data[start + k] === key[k]) k++;
      if (k === length) return slot;
    }
    return -1;
  }
}

function hexDigit(byte: number): number {
  if (byte >= CHAR_0 && byte <= 0x39) return byte - CHAR_0;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}
