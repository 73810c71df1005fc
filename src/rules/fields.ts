// What each -F field accepts: its value syntax, the operators the kernel allows for it
// (audit_field_valid in kernel/auditfilter.c) and the lists it may appear on (the checks of
// audit_rule_fieldpair_data in audit-userspace lib/libaudit.c).
import { formatArch, resolveArch, type Machine } from '../linux/arch.js';
import {
  AF_MAX,
  AUDIT_MAX_KEY_LEN,
  FIELD,
  FILE_TYPES,
  FS_TYPES,
  PATH_MAX,
  PERM_ATTR,
  PERM_EXEC,
  PERM_READ,
  PERM_WRITE,
  type FieldName,
  type ListName,
  type Operator,
} from './kernel.js';
import { errnoName, errnoNumber } from '../linux/errno.js';
import { msgTypeName, msgTypeNumber } from '../linux/record-types.js';
import type { UserDatabase } from './userdb.js';

type ValueKind =
  | 'uid' | 'gid' | 'exit' | 'msgtype' | 'string' | 'arch' | 'perm' | 'filetype'
  | 'arg' | 'sessionid' | 'saddr_fam' | 'fstype' | 'number';

// 'any': every operator; 'no-bit': not & or &=; 'eq-ne': = and != only; 'eq': = only.
type OperatorSet = 'any' | 'no-bit' | 'eq-ne' | 'eq';

interface FieldSpec {
  readonly kind: ValueKind;
  readonly ops: OperatorSet;
  readonly lists?: readonly ListName[];
}

// The fields of a syscall's (or an io_uring operation's) end: what the kernel accepts on the exit and
// io_uring lists (kernel/auditfilter.c audit_field_valid(); measured on Linux 6.18).
const EXIT_LISTS: readonly ListName[] = ['exit', 'io_uring'];

const SPECS: Readonly<Record<Exclude<FieldName, 'field_compare'>, FieldSpec>> = {
  pid: { kind: 'number', ops: 'no-bit' },
  uid: { kind: 'uid', ops: 'no-bit' },
  euid: { kind: 'uid', ops: 'no-bit' },
  suid: { kind: 'uid', ops: 'no-bit' },
  fsuid: { kind: 'uid', ops: 'no-bit' },
  auid: { kind: 'uid', ops: 'no-bit' },
  obj_uid: { kind: 'uid', ops: 'no-bit' },
  gid: { kind: 'gid', ops: 'no-bit' },
  egid: { kind: 'gid', ops: 'no-bit' },
  sgid: { kind: 'gid', ops: 'no-bit' },
  fsgid: { kind: 'gid', ops: 'no-bit' },
  obj_gid: { kind: 'gid', ops: 'no-bit' },
  pers: { kind: 'number', ops: 'any' },
  arch: { kind: 'arch', ops: 'eq-ne' },
  msgtype: { kind: 'msgtype', ops: 'no-bit', lists: ['exclude', 'user'] },
  subj_user: { kind: 'string', ops: 'eq-ne' },
  subj_role: { kind: 'string', ops: 'eq-ne' },
  subj_type: { kind: 'string', ops: 'eq-ne' },
  subj_sen: { kind: 'string', ops: 'no-bit' },
  subj_clr: { kind: 'string', ops: 'no-bit' },
  ppid: { kind: 'number', ops: 'no-bit', lists: EXIT_LISTS },
  obj_user: { kind: 'string', ops: 'eq-ne', lists: EXIT_LISTS },
  obj_role: { kind: 'string', ops: 'eq-ne', lists: EXIT_LISTS },
  obj_type: { kind: 'string', ops: 'eq-ne', lists: EXIT_LISTS },
  obj_lev_low: { kind: 'string', ops: 'no-bit', lists: EXIT_LISTS },
  obj_lev_high: { kind: 'string', ops: 'no-bit', lists: EXIT_LISTS },
  sessionid: { kind: 'sessionid', ops: 'no-bit', lists: ['user', 'exit'] },
  fstype: { kind: 'fstype', ops: 'eq-ne', lists: ['filesystem'] },
  devmajor: { kind: 'number', ops: 'no-bit', lists: EXIT_LISTS },
  devminor: { kind: 'number', ops: 'any', lists: EXIT_LISTS },
  inode: { kind: 'number', ops: 'eq-ne', lists: EXIT_LISTS },
  exit: { kind: 'exit', ops: 'no-bit', lists: EXIT_LISTS },
  success: { kind: 'number', ops: 'no-bit', lists: EXIT_LISTS },
  // kernel/audit_watch.c audit_to_watch() and kernel/audit_tree.c audit_make_tree() refuse any
  // operator but = for path and dir (EINVAL).
  path: { kind: 'string', ops: 'eq', lists: EXIT_LISTS },
  // audit_field_valid(): AUDIT_PERM is EINVAL on the io_uring list.
  perm: { kind: 'perm', ops: 'eq', lists: ['exit'] },
  dir: { kind: 'string', ops: 'eq', lists: EXIT_LISTS },
  filetype: { kind: 'filetype', ops: 'eq-ne', lists: EXIT_LISTS },
  exe: { kind: 'string', ops: 'eq-ne' },
  saddr_fam: { kind: 'saddr_fam', ops: 'no-bit' },
  a0: { kind: 'arg', ops: 'any' },
  a1: { kind: 'arg', ops: 'any' },
  a2: { kind: 'arg', ops: 'any' },
  a3: { kind: 'arg', ops: 'any' },
  key: { kind: 'string', ops: 'eq-ne' },
};

// The exclude list filters records before they exist: only these (libaudit, with the
// kernel's AUDIT_FEATURE_BITMAP_EXCLUDE_EXTEND). The filesystem list knows fstype and key.
const LIST_FIELDS: Readonly<Partial<Record<ListName, readonly string[]>>> = {
  exclude: ['pid', 'uid', 'gid', 'auid', 'msgtype', 'subj_user', 'subj_role', 'subj_type', 'subj_sen', 'subj_clr'],
  filesystem: ['fstype', 'key'],
};

const FIELD_ALIASES: Readonly<Record<string, FieldName>> = { loginuid: 'auid' };

export function fieldByName(name: string): Exclude<FieldName, 'field_compare'> | undefined {
  const resolved = FIELD_ALIASES[name] ?? name;
  return Object.hasOwn(SPECS, resolved) ? (resolved as Exclude<FieldName, 'field_compare'>) : undefined;
}

export function fieldById(id: number): FieldName | undefined {
  return (Object.keys(FIELD) as FieldName[]).find((name) => FIELD[name] === id);
}

// Why this field cannot be used with this operator on this list, or undefined if it can.
export function fieldUseProblem(field: Exclude<FieldName, 'field_compare'>, op: Operator, list: ListName): string | undefined {
  const spec = SPECS[field];
  const allowedOnList = LIST_FIELDS[list];
  if (allowedOnList && !allowedOnList.includes(field)) return `field ${field} cannot be used on the ${list} list`;
  if (spec.lists && !spec.lists.includes(list)) return `field ${field} can only be used on the ${spec.lists.join(' or ')} list`;
  const allowed =
    spec.ops === 'any' ||
    (spec.ops === 'no-bit' && op !== '&' && op !== '&=') ||
    (spec.ops === 'eq-ne' && (op === '=' || op === '!=')) ||
    (spec.ops === 'eq' && op === '=');
  return allowed ? undefined : `operator ${op} is not valid for field ${field}`;
}

export function isStringField(field: FieldName): boolean {
  return field !== 'field_compare' && SPECS[field].kind === 'string';
}

export interface ValueContext {
  readonly machine: Machine;
  readonly users: UserDatabase;
}

export type ParsedValue = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly reason: string };

// C-style integer (as strtoul/strtol with base 0 read it: 0x hex, leading 0 octal), possibly
// negative, checked to fit the kernel's u32 and returned as that u32.
export function parseU32(text: string): number | undefined {
  const match = /^(-?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(text);
  if (!match) return undefined;
  const digits = match[2] as string;
  const magnitude = /^0x/i.test(digits) ? Number.parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith('0') ? Number.parseInt(digits, 8) : Number(digits);
  if (match[1] === '-') return magnitude <= 0x80000000 ? (-magnitude >>> 0) : undefined;
  return magnitude <= 0xffffffff ? magnitude : undefined;
}

const UNSET = 0xffffffff; // AUDIT_UID_UNSET / AUDIT_SID_UNSET, (unsigned)-1

function number(text: string, field: string): ParsedValue {
  const value = parseU32(text);
  if (value !== undefined) return { ok: true, value };
  return /^-?[0-9]/.test(text)
    ? { ok: false, reason: `value ${JSON.stringify(text)} is out of range for field ${field}` }
    : { ok: false, reason: `field ${field} needs a number, not ${JSON.stringify(text)}` };
}

export function parseNumericValue(field: Exclude<FieldName, 'field_compare'>, text: string, ctx: ValueContext): ParsedValue {
  const spec = SPECS[field];
  const numeric = /^-?[0-9]/.test(text);
  switch (spec.kind) {
    case 'uid':
      if (numeric) return number(text, field);
      if (text === 'unset') return { ok: true, value: UNSET };
      return lookup(ctx.users.uid(text), `unknown user ${JSON.stringify(text)}`);
    case 'gid':
      if (numeric) return number(text, field);
      return lookup(ctx.users.gid(text), `unknown group ${JSON.stringify(text)}`);
    case 'sessionid':
      if (text === 'unset') return { ok: true, value: UNSET };
      return number(text, field);
    case 'exit': {
      if (numeric) return number(text, field);
      const negative = text.startsWith('-');
      const errno = errnoNumber(negative ? text.slice(1) : text);
      if (errno === undefined) return { ok: false, reason: `unknown errno ${JSON.stringify(text)}` };
      return { ok: true, value: negative ? -errno >>> 0 : errno };
    }
    case 'msgtype':
      if (numeric) return number(text, field);
      return lookup(msgTypeNumber(text), `unknown message type ${JSON.stringify(text)}`);
    case 'arch': {
      const resolved = resolveArch(text, ctx.machine);
      return resolved.ok ? { ok: true, value: resolved.arch.value } : resolved;
    }
    case 'perm':
      return parsePerm(text);
    case 'filetype':
      // auditctl takes names only, but lists numbers (below); numbers are read so that a
      // listed rule loads back.
      if (numeric) return number(text, field);
      return lookup(FILE_TYPES[text], `unknown file type ${JSON.stringify(text)}`);
    case 'fstype':
      if (numeric) return number(text, field);
      return lookup(FS_TYPES[text], `unknown file system type ${JSON.stringify(text)}`);
    case 'saddr_fam': {
      const parsed = number(text, field);
      if (parsed.ok && parsed.value >= AF_MAX) return { ok: false, reason: `saddr_fam ${text} is not an address family (AF_MAX is ${AF_MAX})` };
      return parsed;
    }
    case 'arg':
    case 'number':
      return number(text, field);
    case 'string':
      return { ok: false, reason: `field ${field} holds text, not a number` };
  }
}

function lookup(value: number | undefined, reason: string): ParsedValue {
  return value === undefined ? { ok: false, reason } : { ok: true, value };
}

export function parsePerm(text: string): ParsedValue {
  if (text.length > 4) return { ok: false, reason: `permission ${JSON.stringify(text)} is longer than rwxa` };
  let value = 0;
  for (const letter of text.toLowerCase()) {
    const bit = { r: PERM_READ, w: PERM_WRITE, x: PERM_EXEC, a: PERM_ATTR }[letter];
    if (bit === undefined) return { ok: false, reason: `permission ${JSON.stringify(text)} may only contain r, w, x and a` };
    value |= bit;
  }
  return { ok: true, value };
}

export function formatPerm(value: number): string {
  return (value & PERM_READ ? 'r' : '') + (value & PERM_WRITE ? 'w' : '') + (value & PERM_EXEC ? 'x' : '') + (value & PERM_ATTR ? 'a' : '');
}

// The longest value a string field may hold: AUDIT_MAX_KEY_LEN for keys, PATH_MAX otherwise.
export function stringLimit(field: FieldName): number {
  return field === 'key' ? AUDIT_MAX_KEY_LEN : PATH_MAX;
}

const signed = (value: number): number => value | 0;

// A numeric field's value the way auditctl -l prints it (print_rule, src/auditctl-listing.c).
export function formatNumericValue(field: Exclude<FieldName, 'field_compare'>, value: number, machine: Machine): string {
  switch (SPECS[field].kind) {
    case 'arch':
      return formatArch(value, machine);
    case 'msgtype':
      return msgTypeName(value) ?? String(signed(value));
    case 'perm':
      return formatPerm(value);
    case 'arg':
      return `0x${value.toString(16).toUpperCase()}`;
    case 'exit': {
      const name = signed(value) < 0 ? errnoName(-signed(value)) : undefined;
      return name ? `-${name}` : String(signed(value));
    }
    // auditctl 3.0.9 lists filetype as its S_IF* number (filetype=file reads back as
    // filetype=32768), measured against Debian's auditctl -l.
    case 'fstype':
      return Object.keys(FS_TYPES).find((name) => FS_TYPES[name] === value) ?? String(value);
    default:
      return field === 'inode' ? String(value) : String(signed(value));
  }
}
