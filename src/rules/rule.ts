// The typed middle of the compiler: a Rule is what one auditctl rule line means, in the
// kernel's terms (list, action, syscall mask, ordered fields with their u32 values), with
// names instead of magic numbers. Order of fields is kept because the kernel compares rules
// field by field (audit_compare_rule in kernel/auditfilter.c).
import type { SourcePosition } from './errors.js';
import type { ActionName, FieldName, ListName, Operator } from './kernel.js';

export type StringFieldName =
  | 'subj_user' | 'subj_role' | 'subj_type' | 'subj_sen' | 'subj_clr'
  | 'obj_user' | 'obj_role' | 'obj_type' | 'obj_lev_low' | 'obj_lev_high'
  | 'path' | 'dir' | 'key' | 'exe';

export type NumberFieldName = Exclude<FieldName, StringFieldName | 'field_compare'>;

export type RuleField =
  // value is the u32 the kernel stores: uids as numbers, exit=-EACCES as 0xfffffff3.
  | { readonly kind: 'number'; readonly field: NumberFieldName; readonly op: Operator; readonly value: number }
  // key holds every key of the rule joined with AUDIT_KEY_SEPARATOR.
  | { readonly kind: 'string'; readonly field: StringFieldName; readonly op: Operator; readonly value: string }
  // -C left op right; value is AUDIT_COMPARE_*.
  | { readonly kind: 'compare'; readonly op: Operator; readonly value: number }
  // A field number this compiler does not know (from a newer kernel's rule list).
  | { readonly kind: 'unknown'; readonly id: number; readonly op: Operator; readonly value: number };

export interface Rule {
  readonly list: ListName;
  readonly action: ActionName;
  // -A: the kernel puts the rule first; it forgets the flag once the rule is in its list.
  readonly prepend: boolean;
  // 'all' is every bit of the mask set, as auditctl sends for "-S all" and rules without -S.
  readonly syscalls: 'all' | readonly number[];
  readonly fields: readonly RuleField[];
}

export const STRING_FIELDS: ReadonlySet<string> = new Set<StringFieldName>([
  'subj_user', 'subj_role', 'subj_type', 'subj_sen', 'subj_clr',
  'obj_user', 'obj_role', 'obj_type', 'obj_lev_low', 'obj_lev_high',
  'path', 'dir', 'key', 'exe',
]);

// What one line of a rules file asks for, checked but not yet applied.
export type Command = (
  | { readonly kind: 'add_rule'; readonly rule: Rule }
  | { readonly kind: 'delete_rule'; readonly rule: Rule }
  | { readonly kind: 'delete_all'; readonly key?: string }
  | { readonly kind: 'set_backlog_limit'; readonly value: number }
  | { readonly kind: 'set_backlog_wait_time'; readonly value: number }
  | { readonly kind: 'set_rate_limit'; readonly value: number }
  | { readonly kind: 'set_failure'; readonly value: 0 | 1 | 2 }
  | { readonly kind: 'set_enabled'; readonly value: 0 | 1 }
  // -e 2 locks the configuration until reboot; kept apart so applying it needs an explicit choice.
  | { readonly kind: 'set_immutable' }
  | { readonly kind: 'reset_lost' }
  | { readonly kind: 'set_loginuid_immutable' }
  // -i: report kernel errors and go on; -c: the same, but the run still fails at the end.
  | { readonly kind: 'ignore_errors' }
  | { readonly kind: 'continue_on_error' }
) & { readonly source: SourcePosition };

export interface RuleWarning extends SourcePosition {
  readonly message: string;
}

export function ruleKeys(rule: Rule): string[] {
  const key = rule.fields.find((f) => f.kind === 'string' && f.field === 'key');
  return key && key.kind === 'string' ? key.value.split('\x01') : [];
}
