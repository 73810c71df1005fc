// An entry in its typed form, the one `replay`, `run --stdout` and `tail --json` print: numbers as
// numbers, lists as arrays, every field of its kind present with `null` for a value that is not known
// (a marker only when it is there). The Redis stream holds the same entry as flat strings with the
// nulls left out (src/daemon/flow-entry.ts); `typedEntry` reads it back, for tail and any consumer.
import { ENTRY_FIELDS, ENVELOPE_FIELDS, FLOW_FIELDS, isEntryKind, type Flow } from './entries.js';
import { isOptional, typedValue, type FieldTable } from './field.js';

/** A typed entry: the envelope fields it came with, then its kind's fields in schema order. */
export type TypedEntry = Record<string, unknown>;

/**
 * A stream entry's flat fields (as XREAD gives them, or a `run --stdout` line of an older version) in
 * the typed form. `id` is the stream entry ID, when there is one. An entry of a kind this version does
 * not know, and a field it does not know (written by a newer daemon), are kept as their strings.
 */
export function typedEntry(flat: Readonly<Record<string, string>>, id?: string): TypedEntry {
  const out: TypedEntry = {};
  if (id !== undefined) out.id = id;
  for (const name in ENVELOPE_FIELDS) {
    const value = flat[name];
    if (name !== 'id' && value !== undefined) out[name] = typedValue(ENVELOPE_FIELDS[name as keyof typeof ENVELOPE_FIELDS], value);
  }
  const kind = flat.kind;
  const table: FieldTable = isEntryKind(kind) ? ENTRY_FIELDS[kind] : {};
  for (const name in table) {
    if (name === 'kind') continue;
    const field = table[name];
    const value = flat[name];
    if (field === undefined) continue;
    if (value !== undefined) out[name] = typedValue(field, value);
    else if (!isOptional(field)) out[name] = null;
  }
  for (const name in flat) if (!(name in out) && !(name in table)) out[name] = flat[name];
  return out;
}

/** A flow from the pipeline in the typed form, as `replay` prints it: the same object `typedEntry` gives for its stream entry, less the envelope. */
export function typedFlow(flow: Flow): TypedEntry {
  const out: TypedEntry = { kind: 'flow' };
  for (const name in FLOW_FIELDS) {
    if (name === 'kind') continue;
    const value = flow[name as keyof Flow];
    if (value !== undefined) out[name] = value;
    else if (!isOptional(FLOW_FIELDS[name as keyof typeof FLOW_FIELDS])) out[name] = null;
  }
  return out;
}
