// Record: one audit record's text parsed into its header (type, time, serial) and fields.
// Two input forms:
//   kernel netlink:  `audit(1763716174.123:4711): arch=c000003e syscall=42 ...` (type in the netlink header)
//   auditd log file: `[node=h ]type=SYSCALL msg=audit(1763716174.123:4711): ... [\x1dARCH=x86_64 ...]`
// auditd's ENRICHED log format appends the interpreted fields after a 0x1D (GS) byte.
import { AUDIT_EOE, AUDIT_PROCTITLE, AUDIT_TYPE_NAMES, typeFromName } from '../linux/record-types.js';
import { utf8Prefix } from './utf8.js';

export interface AuditRecord {
  type: number;
  /** `SYSCALL`, `SOCKADDR`, ... or `UNKNOWN[1234]`. */
  typeName: string;
  /** Event time in milliseconds since the epoch. */
  time: number;
  serial: number;
  /** The `node=` prefix of a log line; '' when absent. */
  node: string;
  /** Field values: quotes removed and kernel hex-encoded strings decoded (see decodeFieldValue). */
  fields: Map<string, string>;
  /** auditd's interpreted fields (ENRICHED format), empty otherwise. */
  enriched: Map<string, string>;
  /** The text after `audit(...): `, as received (for logging a bad record once). */
  body: string;
}

export type RecordParseErrorKind = 'no-header' | 'bad-header' | 'no-type';

export class RecordParseError {
  readonly name = 'RecordParseError';
  constructor(
    readonly kind: RecordParseErrorKind,
    readonly text: string,
  ) {}
  get message(): string {
    return `${this.kind}: ${this.text.slice(0, 200)}`;
  }
}

export type ParseResult = { ok: true; record: AuditRecord } | { ok: false; error: RecordParseError };

// kernel/audit.c audit_log_n_untrustedstring(): these values are printed quoted when they
// hold only 0x21..0x7e and no '"', and as upper-case hex of their bytes otherwise.
const UNTRUSTED_STRING_FIELDS = new Set([
  'comm',
  'exe',
  'proctitle',
  'key',
  'cwd',
  'name',
  'path',
  'new',
  'old',
  'data',
  'root_dir',
  'watch',
  'old-chardev',
  'new-chardev',
  'vm',
  'sauid',
  'filter_key',
]);

// The longest value the kernel writes for these fields, in bytes once decoded. comm: TASK_COMM_LEN
// (16, include/linux/sched.h) less its NUL (kernel/audit.c audit_log_task: get_task_comm). exe and
// cwd: audit_log_d_path() formats them in a PATH_MAX + 11 buffer (PATH_MAX 4096,
// include/uapi/linux/limits.h; 11 for " (deleted)" and the NUL). A longer value comes from a
// malformed or hostile record (a log handed to replay): it is cut there, so no such record makes
// a flow (and every entry and cache line of it) larger than the kernel could.
const PATH_MAX = 4096;
const FIELD_MAX_BYTES: ReadonlyMap<string, number> = new Map([
  ['comm', 16 - 1],
  ['exe', PATH_MAX + 10],
  ['cwd', PATH_MAX + 10],
]);

const HEADER = /^audit\((\d+)\.(\d{3}):(\d+)\):\s?/;
const GROUP_SEPARATOR = '\x1d';

/**
 * Parses one record in kernel netlink form. `type` comes from the netlink header; the
 * payload may end in NULs (some kernels count one in the length).
 */
export function parseKernelRecord(type: number, payload: Buffer | string): ParseResult {
  const text = trimEnd(typeof payload === 'string' ? payload : payload.toString('latin1'), '\0');
  return parseBody(type, AUDIT_TYPE_NAMES.get(type) ?? `UNKNOWN[${type}]`, '', text);
}

/** Parses one line of an auditd log (raw or ENRICHED). Never throws. */
export function parseLogLine(line: string): ParseResult {
  let rest = trimEnd(line, '\r\n');
  let node = '';
  if (rest.startsWith('node=')) {
    const space = rest.indexOf(' ');
    if (space === -1) return { ok: false, error: new RecordParseError('no-type', line) };
    node = rest.slice(5, space);
    rest = rest.slice(space + 1);
  }
  const typeMatch = /^type=(\S+) msg=/.exec(rest);
  if (!typeMatch) return { ok: false, error: new RecordParseError(rest.includes('audit(') ? 'no-type' : 'no-header', line) };
  const typeName = typeMatch[1] ?? '';
  const type = typeFromName(typeName);
  if (type === undefined) return { ok: false, error: new RecordParseError('no-type', line) };
  return parseBody(type, typeName, node, rest.slice(typeMatch[0].length));
}

/**
 * `text` without the trailing characters in `chars`. A loop, not /[...]+$/: V8 tries that regex
 * from every position of a long run not at the end (quadratic on hostile input).
 */
function trimEnd(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1] as string)) end--;
  return end === text.length ? text : text.slice(0, end);
}

function parseBody(type: number, typeName: string, node: string, text: string): ParseResult {
  const header = HEADER.exec(text);
  if (!header) return { ok: false, error: new RecordParseError(text.startsWith('audit(') ? 'bad-header' : 'no-header', text) };
  const serial = Number(header[3]);
  if (!Number.isSafeInteger(serial) || serial > 0xffffffff) return { ok: false, error: new RecordParseError('bad-header', text) };
  let body = text.slice(header[0].length);
  let enrichedText = '';
  const separator = body.indexOf(GROUP_SEPARATOR);
  if (separator !== -1) {
    enrichedText = body.slice(separator + 1);
    body = body.slice(0, separator);
  }
  return {
    ok: true,
    record: {
      type,
      typeName,
      time: Number(header[1]) * 1000 + Number(header[2]),
      serial,
      node,
      fields: parseFields(body, true),
      enriched: parseFields(enrichedText, false),
      body,
    },
  };
}

/**
 * Splits `k=v k="v w" k='v w'` into a map. Tokens without `=` are skipped; the first
 * occurrence of a key wins (SYSCALL records do not repeat keys; user messages nest a
 * `msg='...'` that is kept whole).
 */
export function parseFields(text: string, decode: boolean): Map<string, string> {
  const fields = new Map<string, string>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    const keyStart = i;
    while (i < n && text[i] !== '=' && text[i] !== ' ') i++;
    if (i >= n || text[i] === ' ') continue;
    const key = text.slice(keyStart, i);
    i++;
    let value: string;
    let quoted = false;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      const end = text.indexOf(quote, i + 1);
      if (end === -1) {
        value = text.slice(i + 1);
        i = n;
      } else {
        value = text.slice(i + 1, end);
        i = end + 1;
      }
      quoted = true;
    } else if (quote === '{') {
      // auditd ENRICHED SADDR={ fam=inet laddr=127.0.0.1 lport=9 }
      const end = text.indexOf('}', i);
      value = end === -1 ? text.slice(i) : text.slice(i, end + 1);
      i = end === -1 ? n : end + 1;
    } else {
      const end = text.indexOf(' ', i);
      value = end === -1 ? text.slice(i) : text.slice(i, end);
      i = end === -1 ? n : end;
    }
    if (key.length === 0 || fields.has(key)) continue;
    fields.set(key, decode ? fieldValue(key, value, quoted) : value);
  }
  return fields;
}

/** Whether the kernel writes this field's value as hex when it holds unsafe bytes. */
export const isUntrustedField = (key: string): boolean => UNTRUSTED_STRING_FIELDS.has(key);

/**
 * Characters of a field's raw text that can matter: a byte a character quoted; unquoted, 2 hex
 * digits a byte and one byte more (it tells whether the bound cuts a character). undefined when
 * the field has no bound. The fast path reads no more than these from the record's bytes.
 */
export function rawTextLimit(key: string, quoted: boolean): number | undefined {
  const max = FIELD_MAX_BYTES.get(key);
  return max === undefined ? undefined : quoted ? max : 2 * (max + 1);
}

/**
 * A field's value from its raw text: an unquoted untrusted string decoded (decodeFieldValue),
 * and cut to the field's kernel bound (FIELD_MAX_BYTES; at a UTF-8 character boundary where
 * hex-decoded).
 */
export function fieldValue(key: string, raw: string, quoted: boolean): string {
  const max = FIELD_MAX_BYTES.get(key);
  if (max === undefined) return quoted ? raw : decodeFieldValue(key, raw);
  const limit = rawTextLimit(key, quoted) as number;
  const text = raw.length > limit ? raw.slice(0, limit) : raw;
  if (!quoted && isUntrustedField(key) && isHex(text)) return utf8Prefix(Buffer.from(text, 'hex'), max);
  // Quoted (printable ASCII from the kernel), or not hex (`(null)`, garbage): a byte a character.
  return text.length > max ? text.slice(0, max) : text;
}

/** Decodes an unquoted untrusted-string value the kernel wrote as hex; other values pass through. */
export function decodeFieldValue(key: string, value: string): string {
  if (!isUntrustedField(key) || !isHex(value)) return value;
  return Buffer.from(value, 'hex').toString(key === 'proctitle' ? 'latin1' : 'utf8');
}

function isHex(value: string): boolean {
  return value.length > 0 && value.length % 2 === 0 && /^[0-9A-Fa-f]+$/.test(value);
}

/**
 * PROCTITLE's argv: the kernel logs the process's argument area (truncated to 128 bytes,
 * kernel/auditsc.c MAX_PROCTITLE_AUDIT_LEN) with NULs between the arguments.
 */
export function proctitleArgv(record: AuditRecord): string[] {
  return proctitleValueArgv(record.fields.get('proctitle'));
}

/** proctitleArgv() of a PROCTITLE record's (decoded) proctitle value. */
export function proctitleValueArgv(value: string | undefined): string[] {
  if (value === undefined || value === '(null)') return [];
  const bytes = Buffer.from(value, 'latin1');
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0) {
      parts.push(bytes.subarray(start, i).toString('utf8'));
      start = i + 1;
    }
  }
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** A field's value as a number, or undefined when absent or not a number. */
export function numberField(record: AuditRecord, key: string, radix: 10 | 16 = 10): number | undefined {
  return parseNumber(record.fields.get(key), radix);
}

/** A field value as a number, or undefined when absent or not a number. */
export function parseNumber(value: string | undefined, radix: 10 | 16): number | undefined {
  if (value === undefined) return undefined;
  const parsed = radix === 16 ? (/^[0-9a-fA-F]{1,16}$/.test(value) ? Number.parseInt(value, 16) : Number.NaN) : /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isFinite(parsed) ? parsed : undefined;
}

export const isEndOfEvent = (record: AuditRecord): boolean => record.type === AUDIT_EOE || record.type === AUDIT_PROCTITLE;
