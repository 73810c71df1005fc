// Rule -> one line of text, the way auditctl -l prints it (print_rule in audit-userspace
// src/auditctl-listing.c): "-a action,list", then the arch, then the syscalls, then the other
// fields in rule order; a rule that only watches a path is printed as "-w path -p perms -k key".
import { archByValue, archInfo, type Machine } from '../linux/arch.js';
import { AUDIT_KEY_SEPARATOR } from './kernel.js';
import { formatNumericValue, formatPerm } from './fields.js';
import type { Command, Rule, RuleField } from './rule.js';
import { comparePair } from './compare-pairs.js';
import { uringOpName } from '../linux/io-uring.js';

export interface FormatOptions {
  // The machine whose conventions "b64"/"b32" and rules without an arch refer to.
  readonly machine: Machine;
}

// auditctl's is_watch(): syscalls all, on a syscall list, and only path/dir, perm and key fields;
// and, unlike auditctl, exactly the rule `-w PATH -p PERMS -k KEY` compiles to: always, appended,
// those fields in that order.
// auditctl also prints `-a always,exit -S all -F perm=r` as "-p r" and `... -F perm=r -F path=/a`
// as "-p r -w /a", which no rules file can say (found by test/unit/rules/properties.test.ts).
export function isWatch(rule: Rule): boolean {
  const [target, perm, ...keys] = rule.fields;
  const isTarget = target?.kind === 'string' && (target.field === 'path' || target.field === 'dir') && target.op === '=';
  const isPerm = perm?.kind === 'number' && perm.field === 'perm' && perm.op === '=';
  const onlyKeys = keys.every((f) => f.kind === 'string' && f.field === 'key' && f.op === '=');
  return isTarget && isPerm && onlyKeys && rule.action === 'always' && !rule.prepend && rule.syscalls === 'all' && rule.list === 'exit';
}

// user, task and exclude rules never show -S (the mask auditctl sends for them is meaningless);
// auditflow also hides it on the filesystem list, whose rules carry no syscalls. io_uring rules show
// their operations.
function takesSyscalls(rule: Rule): boolean {
  return rule.list === 'exit' || rule.list === 'io_uring';
}

export function formatRule(rule: Rule, options: FormatOptions): string {
  const watch = isWatch(rule);
  const parts: string[] = [];
  let tableArch = archInfo(options.machine);
  if (!watch) {
    parts.push(`${rule.prepend ? '-A' : '-a'} ${rule.action},${rule.list}`);
    const arch = rule.fields.find((f) => f.kind === 'number' && f.field === 'arch');
    if (arch && arch.kind === 'number') {
      parts.push(`-F arch${arch.op}${formatNumericValue('arch', arch.value, options.machine)}`);
      tableArch = archByValue(arch.value) ?? tableArch;
    }
    const names = rule.list === 'io_uring' ? { get: uringOpName } : tableArch.table.byNumber;
    if (takesSyscalls(rule) && rule.syscalls.length !== 0) parts.push(formatSyscalls(rule.syscalls, names));
  }
  for (const field of rule.fields) {
    if (field.kind === 'number' && field.field === 'arch') continue;
    parts.push(...formatField(field, watch, options.machine));
  }
  return parts.join(' ');
}

function formatSyscalls(syscalls: Rule['syscalls'], names: Pick<ReadonlyMap<number, string>, 'get'>): string {
  if (syscalls === 'all') return '-S all';
  return `-S ${syscalls.map((nr) => names.get(nr) ?? String(nr)).join(',')}`;
}

function formatField(field: RuleField, watch: boolean, machine: Machine): string[] {
  switch (field.kind) {
    case 'unknown':
      return [`-F f${field.id}${field.op}${field.value | 0}`];
    case 'compare': {
      const pair = comparePair(field.value);
      return [pair ? `-C ${pair[0]}${field.op}${pair[1]}` : `-C ${field.value}`];
    }
    case 'string':
      if (field.field === 'key') return field.value.split(AUDIT_KEY_SEPARATOR).map((key) => (watch ? `-k ${key}` : `-F key=${key}`));
      // A directory watch prints without a trailing slash, as auditctl 3.0.9 prints it
      // (measured against Debian's auditctl -l, test/kernel/rules-oracle.test.ts); it
      // reads back as dir= because the path is a directory.
      if (watch && (field.field === 'path' || field.field === 'dir')) return [`-w ${field.value}`];
      return [`-F ${field.field}${field.op}${field.value}`];
    case 'number':
      if (watch && field.field === 'perm') return [`-p ${formatPerm(field.value)}`];
      return [`-F ${field.field}${field.op}${formatNumericValue(field.field, field.value, machine)}`];
  }
}

// One command the way a rules file would say it: the canonical form `rules check` prints.
export function formatCommand(command: Command, options: FormatOptions): string {
  switch (command.kind) {
    case 'add_rule':
      return formatRule(command.rule, options);
    case 'delete_rule': {
      const text = formatRule(command.rule, options);
      return text.startsWith('-w ') ? `-W ${text.slice(3)}` : `-d ${text.slice(3)}`;
    }
    case 'delete_all':
      return command.key === undefined ? '-D' : `-D -k ${command.key}`;
    case 'set_backlog_limit':
      return `-b ${command.value}`;
    case 'set_backlog_wait_time':
      return `--backlog_wait_time ${command.value}`;
    case 'set_rate_limit':
      return `-r ${command.value}`;
    case 'set_failure':
      return `-f ${command.value}`;
    case 'set_enabled':
      return `-e ${command.value}`;
    case 'set_immutable':
      return '-e 2';
    case 'reset_lost':
      return '--reset-lost';
    case 'set_loginuid_immutable':
      return '--loginuid-immutable';
    case 'ignore_errors':
      return '-i';
    case 'continue_on_error':
      return '-c';
  }
}
