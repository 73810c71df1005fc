// struct audit_rule_data bytes (an AUDIT_LIST_RULES reply, or encodeRule's output) -> Rule.
import { RuleDecodeError } from './errors.js';
import { fieldById, isStringField } from './fields.js';
import {
  ACTION_NUMBERS,
  AUDIT_BITMASK_SIZE,
  AUDIT_MAX_FIELDS,
  FILTER_PREPEND,
  LIST_NUMBERS,
  OPERATOR_FLAGS,
  RULE_DATA_HEADER_BYTES,
  type ActionName,
  type ListName,
  type Operator,
} from './kernel.js';
import { RULE_DATA_LAYOUT as L } from './encode.js';
import type { NumberFieldName, Rule, RuleField, StringFieldName } from './rule.js';

function keyOf<K extends string>(table: Readonly<Record<K, number>>, value: number): K | undefined {
  return (Object.keys(table) as K[]).find((key) => table[key] === value);
}

export function decodeRule(data: Uint8Array): Rule {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < RULE_DATA_HEADER_BYTES) throw new RuleDecodeError(`audit_rule_data needs ${RULE_DATA_HEADER_BYTES} bytes, got ${buf.length}`);

  const flags = buf.readUInt32LE(L.flags);
  const list = keyOf<ListName>(LIST_NUMBERS, flags & ~FILTER_PREPEND);
  if (list === undefined) throw new RuleDecodeError(`unknown filter list ${flags & ~FILTER_PREPEND}`);
  const action = keyOf<ActionName>(ACTION_NUMBERS, buf.readUInt32LE(L.action));
  if (action === undefined) throw new RuleDecodeError(`unknown rule action ${buf.readUInt32LE(L.action)}`);
  const fieldCount = buf.readUInt32LE(L.fieldCount);
  if (fieldCount > AUDIT_MAX_FIELDS) throw new RuleDecodeError(`field_count ${fieldCount} exceeds ${AUDIT_MAX_FIELDS}`);
  const buflen = buf.readUInt32LE(L.buflen);
  // Kernel replies may be padded to the netlink alignment, so the buffer may be longer.
  if (RULE_DATA_HEADER_BYTES + buflen > buf.length) throw new RuleDecodeError(`buflen ${buflen} runs past the end of the rule`);

  const fields: RuleField[] = [];
  let at = RULE_DATA_HEADER_BYTES;
  for (let i = 0; i < fieldCount; i++) {
    const id = buf.readUInt32LE(L.fields + 4 * i);
    const value = buf.readUInt32LE(L.values + 4 * i);
    const op = keyOf<Operator>(OPERATOR_FLAGS, buf.readUInt32LE(L.fieldflags + 4 * i));
    if (op === undefined) throw new RuleDecodeError(`field ${i} has unknown operator flags 0x${buf.readUInt32LE(L.fieldflags + 4 * i).toString(16)}`);
    const name = fieldById(id);
    if (name === undefined) {
      fields.push({ kind: 'unknown', id, op, value });
    } else if (name === 'field_compare') {
      fields.push({ kind: 'compare', op, value });
    } else if (isStringField(name)) {
      if (at + value > RULE_DATA_HEADER_BYTES + buflen) throw new RuleDecodeError(`string of field ${name} runs past buflen`);
      fields.push({ kind: 'string', field: name as StringFieldName, op, value: buf.toString('utf8', at, at + value) });
      at += value;
    } else {
      fields.push({ kind: 'number', field: name as NumberFieldName, op, value });
    }
  }

  return { list, action, prepend: (flags & FILTER_PREPEND) !== 0, syscalls: decodeMask(buf), fields };
}

// auditctl -l shows "-S all" when the first 63 words are all set: the kernel turns the
// top 16 bits of the last word into syscall classes (audit_to_entry_common), so that word
// comes back changed.
function decodeMask(buf: Buffer): 'all' | number[] {
  let all = true;
  for (let word = 0; word < AUDIT_BITMASK_SIZE - 1; word++) {
    if (buf.readUInt32LE(L.mask + 4 * word) !== 0xffffffff) all = false;
  }
  if (all) return 'all';
  const syscalls: number[] = [];
  for (let word = 0; word < AUDIT_BITMASK_SIZE; word++) {
    const bits = buf.readUInt32LE(L.mask + 4 * word);
    for (let bit = 0; bit < 32; bit++) if (bits & (1 << bit)) syscalls.push(word * 32 + bit);
  }
  return syscalls;
}
