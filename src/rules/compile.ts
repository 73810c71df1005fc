// The options of one rules-file line -> commands, following auditctl's setopt() and
// handle_request() (src/auditctl.c) and audit_rule_fieldpair_data() (lib/libaudit.c):
// order matters (-F arch before -S, a list before -F, a syscall or watch before -k).
import { archInfo, formatArch, mismatchTable, resolveArch, type ArchInfo, type Machine } from '../linux/arch.js';
import { checkIdsKey, checkKeyLength, setListAction, unsigned, type Fail } from './checks.js';
import { RuleSyntaxError, quote, type SourcePosition } from './errors.js';
import { fieldByName, fieldUseProblem, isStringField, parseNumericValue, parsePerm, stringLimit } from './fields.js';
import {
  AUDIT_BITMASK_SIZE,
  AUDIT_KEY_SEPARATOR,
  AUDIT_MAX_FIELDS,
  MAX_AUDIT_MESSAGE_LENGTH,
  NAME_MAX,
  PATH_MAX,
  RULE_DATA_HEADER_BYTES,
  type ActionName,
  type ListName,
  type Operator,
} from './kernel.js';
import type { Command, NumberFieldName, Rule, RuleField, RuleWarning, StringFieldName } from './rule.js';
import { parseOptions, splitFieldPair, splitWords, type Option } from './syntax.js';
import { compareNumber } from './compare-pairs.js';
import { uringOpName, uringOpNumber } from '../linux/io-uring.js';
import type { UserDatabase } from './userdb.js';

export interface CompileContext {
  readonly machine: Machine;
  readonly users: UserDatabase;
  // auditctl stats a -w path: a directory becomes a dir= watch, anything else (even a
  // missing path) a path= watch.
  readonly isDirectory: (path: string) => boolean;
}

export interface LineResult {
  readonly commands: Command[];
  readonly warnings: RuleWarning[];
}

// auditctl refuses a field once a rule has AUDIT_MAX_FIELDS - 1 (libaudit's EAU_FIELDTOOMANY check).
const MAX_RULE_FIELDS = AUDIT_MAX_FIELDS - 1;
const NLMSG_HDRLEN = 16;

interface RuleBuilder {
  mode: 'add' | 'delete' | undefined;
  list: ListName | undefined;
  action: ActionName | undefined;
  prepend: boolean;
  syscalls: Set<number> | 'all' | undefined;
  arch: ArchInfo | undefined;
  fields: RuleField[];
  keys: string[];
  watch: boolean;
  // What auditctl tracks to allow a key: _audit_syscalladded, _audit_permadded, exe and fstype.
  keyAllowed: boolean;
}

export function compileLine(line: string, position: SourcePosition, ctx: CompileContext): LineResult | undefined {
  const words = splitWords(line);
  if (words.length === 0 || (words[0] as string).startsWith('#')) return undefined;
  return compileOptions(parseOptions(words, position), position, ctx);
}

export function compileOptions(options: readonly Option[], position: SourcePosition, ctx: CompileContext): LineResult {
  const fail = (reason: string, token?: string): never => {
    throw new RuleSyntaxError(reason, position, token);
  };
  const commands: Command[] = [];
  const warnings: RuleWarning[] = [];
  const push = (command: DistributiveOmit<Command, 'source'>): void => {
    commands.push({ ...command, source: position } as Command);
  };
  const b: RuleBuilder = { mode: undefined, list: undefined, action: undefined, prepend: false, syscalls: undefined, arch: undefined, fields: [], keys: [], watch: false, keyAllowed: false };

  for (let i = 0; i < options.length; i++) {
    const { flag, value = '' } = options[i] as Option;
    const token = `${flag} ${value}`.trim();
    switch (flag) {
      case '-a':
      case '-A':
      case '-d':
        if (b.mode !== undefined) fail(b.watch ? `${flag} cannot be combined with a watch` : 'only one -a, -A or -d per rule', token);
        setListAction(b, value, fail, token);
        b.mode = flag === '-d' ? 'delete' : 'add';
        b.prepend = flag === '-A';
        if (b.list === 'task' && b.syscalls !== undefined) fail('syscalls cannot be audited on the task list', token);
        if (b.list === 'io_uring' && (b.syscalls !== undefined || b.arch !== undefined)) fail('give the io_uring list before -S and -F: its -S names io_uring operations, not syscalls', token);
        break;
      case '-S':
        addSyscalls(b, value, ctx, position, warnings, fail, token);
        break;
      case '-F':
        addField(b, value, ctx, fail, token);
        break;
      case '-C':
        addComparison(b, value, fail, token);
        break;
      case '-w':
      case '-W':
        if (b.mode !== undefined) fail(`${flag} cannot be combined with -a, -A or -d`, token);
        startWatch(b, value, flag === '-W' ? 'delete' : 'add', ctx, fail, token);
        break;
      case '-p': {
        if (!b.watch && !b.fields.some((f) => f.kind === 'string' && (f.field === 'path' || f.field === 'dir'))) fail('-p needs a watch (-w) given before it', token);
        const perm = parsePerm(value);
        if (!perm.ok) fail(perm.reason, token);
        setPerm(b, perm.ok ? perm.value : 0);
        break;
      }
      case '-k':
        if (b.mode === undefined || !b.keyAllowed) fail('-k needs a watch or a syscall given before it', token);
        if (value.includes(AUDIT_KEY_SEPARATOR)) fail(`key ${quote(value)} contains the key separator \\x01`, token);
        checkIdsKey(value, fail, token);
        b.keys.push(value);
        break;
      case '-D':
        if (options.length === 1) push({ kind: 'delete_all' });
        else if (options.length === 2 && options[1]?.flag === '-k' && options[1].value) return { commands: [{ kind: 'delete_all', key: options[1].value, source: position }], warnings };
        else fail('-D takes no other option than -k key', token);
        break;
      case '-b':
        push({ kind: 'set_backlog_limit', value: unsigned(value, 'backlog limit', fail, token) });
        break;
      case '-r':
        push({ kind: 'set_rate_limit', value: unsigned(value, 'rate limit', fail, token) });
        break;
      case '--backlog_wait_time':
        push({ kind: 'set_backlog_wait_time', value: unsigned(value, 'backlog_wait_time', fail, token) });
        break;
      case '-f':
        if (value !== '0' && value !== '1' && value !== '2') fail(`failure mode must be 0, 1 or 2, not ${quote(value)}`, token);
        push({ kind: 'set_failure', value: Number(value) as 0 | 1 | 2 });
        break;
      case '-e':
        if (value === '2') push({ kind: 'set_immutable' });
        else if (value === '0' || value === '1') push({ kind: 'set_enabled', value: Number(value) as 0 | 1 });
        else fail(`enabled must be 0, 1 or 2, not ${quote(value)}`, token);
        break;
      case '--reset-lost':
        push({ kind: 'reset_lost' });
        break;
      case '--loginuid-immutable':
        push({ kind: 'set_loginuid_immutable' });
        break;
      case '-i':
        push({ kind: 'ignore_errors' });
        break;
      case '-c':
        push({ kind: 'continue_on_error' });
        break;
      default:
        fail(`option ${flag} is not allowed in a rules file`, token);
    }
  }

  if (b.mode !== undefined) push(finishRule(b, fail));
  else if (b.syscalls !== undefined || b.fields.length > 0) fail('no list given: use -a, -A, -d or -w');
  return { commands, warnings };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function addSyscalls(b: RuleBuilder, text: string, ctx: CompileContext, position: SourcePosition, warnings: RuleWarning[], fail: Fail, token: string): void {
  if (b.list === 'task' || b.list === 'user' || b.list === 'exclude' || b.list === 'filesystem') fail(`syscalls cannot be audited on the ${b.list} list`, token);
  if (b.list === 'io_uring') {
    addUringOps(b, text, position, warnings, fail, token);
    return;
  }
  const arch = b.arch ?? archInfo(ctx.machine);
  const names = text.split(',').filter((name) => name !== '');
  if (names.length === 0) fail('-S needs a syscall name or number', token);
  const numbers: number[] = [];
  for (const name of names) {
    if (name === 'all') {
      b.syscalls = 'all';
      continue;
    }
    let nr = arch.table.byName.get(name);
    if (nr === undefined && /^[0-9]/.test(name)) {
      nr = /^(0x[0-9a-f]+|[0-9]+)$/i.test(name) ? Number(name) : NaN;
      if (!(nr >= 0 && nr < AUDIT_BITMASK_SIZE * 32)) fail(`syscall number ${quote(name)} is out of range`, name);
    }
    if (nr === undefined) fail(`unknown syscall ${quote(name)} for arch ${formatArch(arch.value, ctx.machine)}`, name);
    numbers.push(nr as number);
    if (b.syscalls === undefined) b.syscalls = new Set();
    if (b.syscalls !== 'all') b.syscalls.add(nr as number);
  }
  b.keyAllowed = true;
  const compat = b.arch === undefined ? mismatchTable(ctx.machine) : undefined;
  if (compat && b.mode === 'add' && names.some((name) => name !== 'all' && !/^[0-9]/.test(name) && compat.byName.get(name) !== arch.table.byName.get(name))) {
    warnings.push({ ...position, message: `32/64 bit syscall mismatch for ${quote(text)}: give -F arch=b64 or -F arch=b32` });
  }
}

/** -S on the io_uring list: io_uring operation names (linux/io-uring.ts) or opcode numbers. */
function addUringOps(b: RuleBuilder, text: string, position: SourcePosition, warnings: RuleWarning[], fail: Fail, token: string): void {
  const names = text.split(',').filter((name) => name !== '');
  if (names.length === 0) fail('-S needs an io_uring operation name or number', token);
  for (const name of names) {
    if (name === 'all') {
      b.syscalls = 'all';
      continue;
    }
    let op = uringOpNumber(name);
    if (op === undefined && /^(0x[0-9a-f]+|[0-9]+)$/i.test(name)) {
      op = Number(name);
      if (op >= AUDIT_BITMASK_SIZE * 32) fail(`io_uring operation number ${quote(name)} is out of range`, name);
      if (b.mode === 'add' && uringOpName(op) === undefined) warnings.push({ ...position, message: `io_uring operation ${op} is never audited by the kernel (audit_skip in io_uring/opdef.c)` });
    }
    if (op === undefined) fail(`unknown io_uring operation ${quote(name)}: the kernel audits only ${AUDITED_URING_HINT}`, name);
    if (b.syscalls === undefined) b.syscalls = new Set();
    if (b.syscalls !== 'all') b.syscalls.add(op as number);
  }
  b.keyAllowed = true;
}

const AUDITED_URING_HINT = 'the operations without audit_skip (connect, accept, bind, listen, sendmsg, sendmsg_zc, recvmsg, shutdown, openat, ...)';

function addField(b: RuleBuilder, pair: string, ctx: CompileContext, fail: Fail, token: string): void {
  if (b.mode === undefined || b.list === undefined) fail('the list (-a, -A or -d) must come before -F', token);
  const split = splitFieldPair(pair);
  if (split === undefined) fail(`-F ${quote(pair)} has no operator`, token);
  const { field: name, op, value } = split as { field: string; op: Operator; value: string };
  if (name === '') fail(`-F ${quote(pair)} has no field name`, token);
  if (value === '') fail(`-F ${quote(pair)} has no value`, token);
  const field = fieldByName(name);
  if (field === undefined) fail(`unknown field ${quote(name)}`, token);
  const known = field as Exclude<typeof field, undefined>;
  const problem = fieldUseProblem(known, op, b.list as ListName);
  if (problem) fail(problem, token);

  if (known === 'key') {
    if (!b.keyAllowed) fail('a key needs a watch, syscall, exe or fstype given before it', token);
    checkIdsKey(value, fail, token);
    const existing = b.fields.findIndex((f) => f.kind === 'string' && f.field === 'key');
    // auditctl would send a second key field, which the kernel refuses; auditflow joins keys
    // into the one field, so that auditctl -l's "-F key=a -F key=b" reads back as it was.
    if (existing >= 0) {
      const current = b.fields[existing] as RuleField & { kind: 'string' };
      b.fields[existing] = { ...current, value: current.value + AUDIT_KEY_SEPARATOR + value };
      checkKeyLength(current.value + AUDIT_KEY_SEPARATOR + value, fail, token);
      return;
    }
    checkKeyLength(value, fail, token);
  }
  if (b.fields.length >= MAX_RULE_FIELDS) fail(`too many fields: a rule holds at most ${MAX_RULE_FIELDS}`, token);

  if (isStringField(known)) {
    if (Buffer.byteLength(value) > stringLimit(known)) fail(`value of ${known} is longer than ${stringLimit(known)} bytes`, token);
    if (known === 'path' || known === 'dir') checkWatchedPath(b, known, value, fail, token);
    b.fields.push({ kind: 'string', field: known as StringFieldName, op, value });
    if (known === 'path' || known === 'dir' || known === 'exe') b.keyAllowed = true;
    return;
  }
  if (known === 'arch') {
    // The kernel takes it, but an io_uring operation has no architecture: its opcodes are the same
    // everywhere and its URINGOP record names none.
    if (b.list === 'io_uring') fail('-F arch cannot be used on the io_uring list: io_uring operations have no architecture', token);
    if (b.syscalls !== undefined) fail('-F arch must come before -S', token);
    const resolved = resolveArch(value, ctx.machine);
    if (!resolved.ok) fail(resolved.reason, token);
    b.arch = resolved.ok ? resolved.arch : undefined;
  }
  const parsed = parseNumericValue(known, value, ctx);
  if (!parsed.ok) fail(parsed.reason, token);
  b.fields.push({ kind: 'number', field: known as NumberFieldName, op, value: parsed.ok ? parsed.value : 0 });
  if (known === 'perm' || known === 'fstype') b.keyAllowed = true;
}

function addComparison(b: RuleBuilder, pair: string, fail: Fail, token: string): void {
  if (b.mode === undefined || b.list === undefined) fail('the list (-a, -A or -d) must come before -C', token);
  const ne = pair.indexOf('!=');
  const eq = pair.indexOf('=');
  const op: Operator = ne >= 0 ? '!=' : '=';
  const at = ne >= 0 ? ne : eq;
  if (at < 0) fail(`-C ${quote(pair)} needs = or !=`, token);
  const left = pair.slice(0, at);
  const right = pair.slice(at + op.length);
  if (left === '' || right === '') fail(`-C ${quote(pair)} needs a field on each side`, token);
  if (b.list !== 'exit') fail('-C can only be used on the exit list', token);
  const value = compareNumber(left, right);
  if (value === undefined) fail(`-C cannot compare ${left} with ${right}`, token);
  if (b.fields.length >= MAX_RULE_FIELDS) fail(`too many fields: a rule holds at most ${MAX_RULE_FIELDS}`, token);
  b.fields.push({ kind: 'compare', op, value: value as number });
}

/**
 * What the kernel takes for a path or dir field (kernel/audit_watch.c audit_to_watch(),
 * kernel/audit_tree.c audit_make_tree(): EINVAL otherwise): an absolute path, a file path without
 * a trailing slash, and one watched path per rule.
 */
function checkWatchedPath(b: RuleBuilder, field: 'path' | 'dir', value: string, fail: Fail, token: string): void {
  if (!value.startsWith('/')) fail(`the ${field} ${quote(value)} must start with /`, token);
  if (field === 'path' && value.length > 1 && value.endsWith('/')) fail(`the path ${quote(value)} must not end with / (a directory is dir=)`, token);
  if (b.fields.some((f) => f.kind === 'string' && (f.field === 'path' || f.field === 'dir'))) fail('a rule watches one path or dir: the kernel refuses a second', token);
}

function startWatch(b: RuleBuilder, path: string, mode: 'add' | 'delete', ctx: CompileContext, fail: Fail, token: string): void {
  if (path.length >= PATH_MAX) fail('the watched path is too long', token);
  if (!path.startsWith('/')) fail(`the watched path ${quote(path)} must start with /`, token);
  let trimmed = path;
  if (trimmed.length > 2) while (trimmed.length > 1 && trimmed.endsWith('/')) trimmed = trimmed.slice(0, -1);
  const base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  if (Buffer.byteLength(base) > NAME_MAX) fail('the last part of the watched path is too long', token);
  b.mode = mode;
  b.list = 'exit';
  b.action = 'always';
  b.watch = true;
  b.syscalls = 'all';
  b.keyAllowed = true;
  b.fields = [
    { kind: 'string', field: ctx.isDirectory(trimmed) ? 'dir' : 'path', op: '=', value: trimmed },
    // audit_add_watch_dir() starts every watch with all four permissions.
    { kind: 'number', field: 'perm', op: '=', value: 15 },
  ];
}

function setPerm(b: RuleBuilder, value: number): void {
  const at = b.fields.findIndex((f) => f.kind === 'number' && f.field === 'perm');
  if (at >= 0) b.fields[at] = { kind: 'number', field: 'perm', op: '=', value };
  else b.fields.push({ kind: 'number', field: 'perm', op: '=', value });
  b.keyAllowed = true;
}

function finishRule(b: RuleBuilder, fail: Fail): DistributiveOmit<Command, 'source'> {
  const fields = [...b.fields];
  if (b.keys.length > 0) {
    const at = fields.findIndex((f) => f.kind === 'string' && f.field === 'key');
    if (at >= 0) {
      const current = fields[at] as RuleField & { kind: 'string' };
      fields[at] = { ...current, value: [current.value, ...b.keys].join(AUDIT_KEY_SEPARATOR) };
    } else {
      fields.push({ kind: 'string', field: 'key', op: '=', value: b.keys.join(AUDIT_KEY_SEPARATOR) });
    }
    const key = fields.find((f) => f.kind === 'string' && f.field === 'key') as RuleField & { kind: 'string' };
    checkKeyLength(key.value, fail, `-k ${b.keys[b.keys.length - 1] as string}`);
  }
  if (fields.length > MAX_RULE_FIELDS) fail(`too many fields: a rule holds at most ${MAX_RULE_FIELDS}`);
  const stringBytes = fields.reduce((sum, f) => sum + (f.kind === 'string' ? Buffer.byteLength(f.value) : 0), 0);
  if (NLMSG_HDRLEN + RULE_DATA_HEADER_BYTES + stringBytes > MAX_AUDIT_MESSAGE_LENGTH) {
    fail(`rule is too big: its strings take ${stringBytes} bytes, the netlink request may hold ${MAX_AUDIT_MESSAGE_LENGTH - NLMSG_HDRLEN - RULE_DATA_HEADER_BYTES}`);
  }
  // handle_request(): a rule on any list but task without -S covers every syscall.
  const syscalls: Rule['syscalls'] =
    b.syscalls === 'all' || (b.syscalls === undefined && b.list !== 'task') ? 'all' : [...(b.syscalls ?? [])].sort((x, y) => x - y);
  const rule: Rule = { list: b.list as ListName, action: b.action as ActionName, prepend: b.prepend, syscalls, fields };
  return b.mode === 'delete' ? { kind: 'delete_rule', rule } : { kind: 'add_rule', rule };
}
