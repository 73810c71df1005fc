// How `auditflow tail` shows stream entries. Field values come from other processes (a program's name,
// its argv, a path) and may hold anything: an escape sequence that recolours or clears the terminal, a
// newline that forges a second line, right-to-left overrides that reorder what is shown. None of it
// reaches the terminal raw: control characters, DEL, C1 controls, line separators and bidi controls are
// written as visible escapes, and bytes that are not UTF-8 as \xHH.

import { streamEntryJson, type OutputFormat } from '../schema/format.js';

/** A stream entry as read with the *Buffer commands: values are raw bytes. */
export interface RawEntry {
  id: string;
  fields: Array<[string, Buffer]>;
}

const NAMED: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x1b: '\\e', 0x5c: '\\\\' };

/**
 * Code points a terminal may act on: C0 controls and DEL, C1 controls (U+0080–U+009F; U+009B is a
 * one-character CSI), U+2028/U+2029 line and paragraph separators, and the bidi controls of Unicode
 * UAX #9 (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
 */
function isUnsafe(cp: number): boolean {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

function escapeCodePoint(cp: number): string {
  const named = NAMED[cp];
  if (named !== undefined) return named;
  if (cp < 0x80) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** Length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF). */
function sequenceLength(buf: Buffer, i: number): number {
  const b0 = buf[i] as number;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < buf.length && (buf[i + k] as number) >= lo && (buf[i + k] as number) <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Raw bytes as text that is safe to print: see the top of this file. A backslash is doubled. */
export function escapeForTerminal(value: Buffer | string): string {
  const buf = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (let i = 0; i < buf.length; ) {
    const length = sequenceLength(buf, i);
    if (length === 0) {
      out += `\\x${(buf[i] as number).toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const text = buf.toString('utf8', i, i + length);
    const cp = text.codePointAt(0) as number;
    out += isUnsafe(cp) || cp === 0x5c ? escapeCodePoint(cp) : text;
    i += length;
  }
  return out;
}

/**
 * One JSON object per entry: the typed entry with its stream `id` (src/schema/typed.ts), in `format`.
 * JSON.stringify escapes C0 controls already; the other unsafe code points are escaped as \uXXXX too
 * (still valid JSON). Bytes that are not UTF-8 become U+FFFD: JSON strings hold text, not bytes.
 */
export function formatJsonLine(entry: RawEntry, format: OutputFormat = 'native'): string {
  const fields: Record<string, string> = {};
  for (const [name, value] of entry.fields) fields[name] = value.toString('utf8');
  return streamEntryJson(fields, format, entry.id).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => escapeCodePoint(c.codePointAt(0) as number));
}

/** Milliseconds since the epoch as ISO 8601 UTC; '?' for anything else (8.64e15 ms is Date's limit). */
function isoTime(text: string | undefined): string {
  const ms = Number(text);
  return text !== undefined && /^\d+$/.test(text) && ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : '?';
}

function endpoint(address: string | undefined, port: string | undefined): string {
  if (address === undefined || address === '' || address === 'null') return '?';
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined || port === '' || port === 'null' ? host : `${host}:${port}`;
}

const or = (value: string | undefined, fallback: string): string => (value === undefined || value === '' || value === 'null' ? fallback : value);

/** ` (name)` beside a flow's remote address, or ` (name → cname)` for a CNAME chain; nothing when unnamed. */
function remoteName(f: Map<string, string>): string {
  const name = f.get('remote_name');
  if (name === undefined || name === '') return '';
  const cname = f.get('remote_cname');
  return cname === undefined || cname === '' ? ` (${name})` : ` (${name} → ${cname})`;
}

/** A dns entry's `addresses` (a JSON array in the stream) as `a, b`. */
function addressList(text: string | undefined): string {
  try {
    const parsed: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(parsed) ? parsed.map((item) => escapeForTerminal(String(item))).join(', ') : '?';
  } catch {
    return '?';
  }
}

/**
 * One readable line per entry. Flows: time, direction, protocol, local → remote, program[pid], user,
 * container, result (and ×count for aggregates). Loss and lifecycle entries say what they report;
 * other kinds print their fields.
 */
export function formatReadableLine(entry: RawEntry): string {
  const f = new Map(entry.fields.map(([name, value]) => [name, escapeForTerminal(value)]));
  // An entry's time is its `ts` field (a loss: when it began), else its stream ID's time part (stream-id.ts).
  const time = isoTime(f.get('ts') ?? f.get('first_ts') ?? entry.id.split('-')[0]);
  // A pending entry read again with XREADGROUP after it was trimmed comes back without fields.
  if (entry.fields.length === 0) return `${time} (entry ${escapeForTerminal(entry.id)} is no longer in the stream)`;
  switch (f.get('kind')) {
    case 'flow': {
      const user = f.get('user') ?? (f.has('uid') ? `uid=${f.get('uid') ?? ''}` : '?');
      const container = or(f.get('container_id'), '-').slice(0, 12);
      const count = or(f.get('count'), '1') === '1' ? '' : ` ×${f.get('count') ?? ''}`;
      const program = or(f.get('exe'), or(f.get('comm'), '?'));
      return (
        `${time} ${or(f.get('direction'), '?')} ${or(f.get('proto'), '?')} ${endpoint(f.get('local_addr'), f.get('local_port'))} → ` +
        `${endpoint(f.get('remote_addr'), f.get('remote_port'))}${remoteName(f)} ${program}[${or(f.get('pid'), '?')}] ${or(user, '?')} ${container} ${or(f.get('result'), '?')}${count}`
      );
    }
    case 'loss': {
      const detail = f.has('detail') ? ` ${f.get('detail') ?? ''}` : '';
      return `${time} LOSS ${or(f.get('reason'), '?')} count=${or(f.get('count'), '?')} until ${isoTime(f.get('last_ts'))}${detail} host=${or(f.get('host'), '?')}`;
    }
    case 'dns': {
      const asker = f.has('pid') ? ` ${or(f.get('exe'), or(f.get('comm'), '?'))}[${f.get('pid') ?? ''}]` : '';
      const cname = f.has('cname') ? ` (${f.get('cname') ?? ''})` : '';
      return `${time} DNS ${or(f.get('name'), '?')}${cname} → ${addressList(f.get('addresses'))} ttl=${or(f.get('ttl'), '?')} from ${endpoint(f.get('server'), f.get('server_port'))} to ${endpoint(f.get('client'), f.get('client_port'))}${asker}`;
    }
    case 'lifecycle': {
      const reason = f.has('reason') ? ` (${f.get('reason') ?? ''})` : '';
      return `${time} ${or(f.get('event'), '?').toUpperCase()} auditflow ${or(f.get('version'), '?')} pid ${or(f.get('pid'), '?')} on ${or(f.get('host'), '?')}${reason}`;
    }
    default:
      return `${time} ${[...f].map(([name, value]) => `${escapeForTerminal(name)}=${value}`).join(' ')}`;
  }
}
