// Entries are written straight into the bytes Redis reads: RESP bulk strings, `$<byte length>\r\n<bytes>\r\n`
// (https://redis.io/docs/latest/develop/reference/protocol-spec/), appended to a slab shared by many
// entries. An entry is then a view of its slab (no copy, no string of the whole entry); a slab is freed
// when the last entry in it is. Numbers are written as ASCII digits without making a string first.

/** Room for one entry's array header (`*` + count + CRLF) left in front of it; see `finish`. */
const HEADER_ROOM = 12;
const SLAB_BYTES = 64 * 1024;
/** Up to this many bytes are copied by a loop rather than by TypedArray#set (see `raw`). */
const SHORT_COPY = 48;
const CR = 0x0d;
const LF = 0x0a;
const DOLLAR = 0x24;
const STAR = 0x2a;
const ZERO = 0x30;
const MINUS = 0x2d;

/** `$<byte length>\r\n<text>\r\n`: a bulk string ready to copy, for names and values used again and again. */
export function bulkBytes(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  return Buffer.from(`$${length}\r\n${text}\r\n`, 'utf8');
}

/** Decimal digits of a non-negative safe integer (compares only: this runs for every number field). */
function digitCount(n: number): number {
  if (n < 1e8) return n < 1e4 ? (n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : 4) : n < 1e6 ? (n < 1e5 ? 5 : 6) : n < 1e7 ? 7 : 8;
  let digits = 8;
  for (let limit = 1e8; n >= limit && digits < 16; limit *= 10) digits++;
  return digits;
}

export class RespWriter {
  private buf = Buffer.allocUnsafe(SLAB_BYTES);
  private pos = HEADER_ROOM;
  /** Where the entry being written starts (after its header room). */
  private start = HEADER_ROOM;

  /** Appends bytes as they are (a cached bulk string, a precomputed field name). */
  raw(bytes: Buffer): void {
    const length = bytes.length;
    this.ensure(length);
    // Most of these are a field name's dozen bytes: a loop the JIT inlines beats a call into C++
    // (Buffer#copy, TypedArray#set) for those; measured, docs/sink.md "Encoding".
    if (length > SHORT_COPY) this.buf.set(bytes, this.pos);
    else for (let i = 0; i < length; i++) this.buf[this.pos + i] = bytes[i] as number;
    this.pos += length;
  }

  /** Appends `text` as a bulk string, UTF-8 (lone surrogates become U+FFFD, as Buffer.from does). */
  bulk(text: string): void {
    if (text.length <= SHORT_COPY && this.shortAscii(text)) return;
    const length = Buffer.byteLength(text, 'utf8');
    this.ensure(length + 24);
    this.pos = this.writeLength(DOLLAR, length, this.pos);
    this.pos += this.buf.write(text, this.pos, 'utf8');
    this.buf[this.pos++] = CR;
    this.buf[this.pos++] = LF;
  }

  /**
   * A short ASCII text (an address, a Community ID, a time) by a loop, as `raw` copies short bytes:
   * Buffer.byteLength and Buffer#write are two calls into C++ for a few dozen bytes. False, with
   * nothing written, for a text with any other character.
   */
  private shortAscii(text: string): boolean {
    const length = text.length;
    this.ensure(length + 24);
    let pos = this.writeLength(DOLLAR, length, this.pos);
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) return false;
      this.buf[pos++] = code;
    }
    this.buf[pos++] = CR;
    this.buf[pos++] = LF;
    this.pos = pos;
    return true;
  }

  /** Appends a number as the bulk string `String(n)` gives, without making that string for integers. */
  bulkNumber(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.bulk(String(n));
      return;
    }
    const negative = n < 0;
    const magnitude = negative ? -n : n;
    const digits = digitCount(magnitude);
    const length = digits + (negative ? 1 : 0);
    this.ensure(length + 24);
    let pos = this.writeLength(DOLLAR, length, this.pos);
    if (negative) this.buf[pos++] = MINUS;
    this.writeDigits(magnitude, digits, pos);
    pos += digits;
    this.buf[pos++] = CR;
    this.buf[pos++] = LF;
    this.pos = pos;
  }

  /** The bytes of the entry being written so far: a mark for `since`. */
  get written(): number {
    return this.pos - this.start;
  }

  /** A copy of what was written to the entry since `mark` (a `written` value), to keep and write again with `raw`. */
  since(mark: number): Buffer {
    return Buffer.from(this.buf.subarray(this.start + mark, this.pos));
  }

  /**
   * Ends the entry: puts `*<count>\r\n` in front of it, so the entry is itself a RESP array of `count`
   * bulk strings, and returns it as a view of the slab.
   */
  finish(count: number): Buffer {
    const digits = digitCount(count);
    const headerStart = this.start - digits - 3;
    this.writeLength(STAR, count, headerStart);
    const entry = this.buf.subarray(headerStart, this.pos);
    this.pos += HEADER_ROOM;
    this.start = this.pos;
    return entry;
  }

  /** Writes `<marker><n>\r\n` at `at`; returns the position after it. */
  private writeLength(marker: number, n: number, at: number): number {
    const digits = digitCount(n);
    this.buf[at++] = marker;
    this.writeDigits(n, digits, at);
    at += digits;
    this.buf[at++] = CR;
    this.buf[at++] = LF;
    return at;
  }

  private writeDigits(n: number, digits: number, at: number): void {
    let i = at + digits - 1;
    // Above 2^31 the int32 division below would wrap: those digits (ms times, serials) the slow way.
    while (n > 0x7fffffff) {
      const q = Math.floor(n / 10);
      this.buf[i--] = ZERO + (n - q * 10);
      n = q;
    }
    for (; i >= at; i--) {
      const q = (n / 10) | 0;
      this.buf[i] = ZERO + (n - q * 10);
      n = q;
    }
  }

  /**
   * Makes room for `bytes` more. A full slab is left to the entries that point into it; the entry being
   * written moves to a new slab, with its header room in front.
   */
  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const written = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, 2 * (HEADER_ROOM + written + bytes)));
    next.set(this.buf.subarray(this.start, this.pos), HEADER_ROOM);
    this.buf = next;
    this.start = HEADER_ROOM;
    this.pos = HEADER_ROOM + written;
  }
}
