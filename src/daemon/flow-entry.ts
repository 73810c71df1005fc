// A flow as stream fields. Redis stream entries are flat string maps: numbers become decimal text,
// booleans `true`/`false`, lists (argv) JSON arrays, and a null field is left out (a consumer reads a
// missing field as null), which keeps entries small. docs/flows.md documents this mapping.
import type { Flow } from '../pipeline/flow.js';
import type { SinkEntry } from '../sink/index.js';

export function flowEntry(flow: Flow, host: string): SinkEntry {
  const fields: Record<string, string> = { host };
  // for...in, not Object.entries: this runs once per flow, and the pairs array was a third of its cost.
  for (const name in flow) {
    const value = flow[name as keyof Flow];
    if (name === 'kind' || value === null || value === undefined) continue;
    fields[name] = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return { kind: 'flow', fields };
}
