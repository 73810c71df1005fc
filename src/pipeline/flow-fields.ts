// A flow as the flat string fields of one stream entry (Redis XADD field/value pairs): the
// sink only carries strings. Numbers in decimal, booleans as `true`/`false`, lists (argv,
// parent_argv, labels) as JSON arrays so arguments with spaces, quotes or commas survive,
// and a null value leaves its field out: a consumer reads an absent field as unknown.
import type { Flow } from './flow.js';

export function flowFields(flow: Flow): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(flow) as Array<[string, unknown]>) {
    if (value === null || value === undefined) continue;
    fields[name] = Array.isArray(value) ? JSON.stringify(value) : String(value);
  }
  return fields;
}
