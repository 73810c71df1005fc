// Rule -> struct audit_rule_data bytes, the payload of AUDIT_ADD_RULE / AUDIT_DEL_RULE.
// Layout (include/uapi/linux/audit.h): u32 flags, action, field_count; u32 mask[64];
// u32 fields[64]; u32 values[64]; u32 fieldflags[64]; u32 buflen; char buf[buflen].
// Host byte order: written little-endian, the order of every machine auditflow has tables for.
import { RuleError } from './errors.js';
import {
  ACTION_NUMBERS,
  AUDIT_BITMASK_SIZE,
  AUDIT_MAX_FIELDS,
  FIELD,
  FILTER_PREPEND,
  LIST_NUMBERS,
  OPERATOR_FLAGS,
  RULE_DATA_HEADER_BYTES,
} from './kernel.js';
import type { Rule } from './rule.js';

const MASK_OFFSET = 12;
const FIELDS_OFFSET = MASK_OFFSET + 4 * AUDIT_BITMASK_SIZE;
const VALUES_OFFSET = FIELDS_OFFSET + 4 * AUDIT_MAX_FIELDS;
const FIELDFLAGS_OFFSET = VALUES_OFFSET + 4 * AUDIT_MAX_FIELDS;
const BUFLEN_OFFSET = FIELDFLAGS_OFFSET + 4 * AUDIT_MAX_FIELDS;

export const RULE_DATA_LAYOUT = {
  flags: 0,
  action: 4,
  fieldCount: 8,
  mask: MASK_OFFSET,
  fields: FIELDS_OFFSET,
  values: VALUES_OFFSET,
  fieldflags: FIELDFLAGS_OFFSET,
  buflen: BUFLEN_OFFSET,
  buf: RULE_DATA_HEADER_BYTES,
} as const;

export function encodeRule(rule: Rule): Buffer {
  if (rule.fields.length > AUDIT_MAX_FIELDS) throw new RuleError(`a rule holds at most ${AUDIT_MAX_FIELDS} fields, this one has ${rule.fields.length}`);
  const strings: Buffer[] = [];
  for (const field of rule.fields) if (field.kind === 'string') strings.push(Buffer.from(field.value, 'utf8'));
  const buflen = strings.reduce((sum, s) => sum + s.length, 0);
  const out = Buffer.alloc(RULE_DATA_HEADER_BYTES + buflen);

  out.writeUInt32LE(LIST_NUMBERS[rule.list] | (rule.prepend ? FILTER_PREPEND : 0), RULE_DATA_LAYOUT.flags);
  out.writeUInt32LE(ACTION_NUMBERS[rule.action], RULE_DATA_LAYOUT.action);
  out.writeUInt32LE(rule.fields.length, RULE_DATA_LAYOUT.fieldCount);

  if (rule.syscalls === 'all') {
    for (let word = 0; word < AUDIT_BITMASK_SIZE; word++) out.writeUInt32LE(0xffffffff, MASK_OFFSET + 4 * word);
  } else {
    for (const nr of rule.syscalls) {
      if (!Number.isInteger(nr) || nr < 0 || nr >= AUDIT_BITMASK_SIZE * 32) throw new RuleError(`syscall number ${nr} does not fit the rule's syscall mask`);
      // AUDIT_WORD(nr) = nr / 32, AUDIT_BIT(nr) = 1 << (nr % 32)
      const offset = MASK_OFFSET + 4 * Math.floor(nr / 32);
      out.writeUInt32LE((out.readUInt32LE(offset) | (1 << nr % 32)) >>> 0, offset);
    }
  }

  rule.fields.forEach((field, i) => {
    let id: number;
    let value: number;
    switch (field.kind) {
      case 'number':
        id = FIELD[field.field];
        value = field.value;
        break;
      case 'string':
        id = FIELD[field.field];
        value = Buffer.byteLength(field.value, 'utf8');
        break;
      case 'compare':
        id = FIELD.field_compare;
        value = field.value;
        break;
      case 'unknown':
        id = field.id;
        value = field.value;
        break;
    }
    out.writeUInt32LE(id, FIELDS_OFFSET + 4 * i);
    out.writeUInt32LE(value >>> 0, VALUES_OFFSET + 4 * i);
    out.writeUInt32LE(OPERATOR_FLAGS[field.op], FIELDFLAGS_OFFSET + 4 * i);
  });

  out.writeUInt32LE(buflen, BUFLEN_OFFSET);
  // String values follow each other in field order, without terminators; values[i] holds the length.
  let at = RULE_DATA_HEADER_BYTES;
  for (const s of strings) at += s.copy(out, at);
  return out;
}
