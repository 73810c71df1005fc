// Every JSON line a test reads from auditflow (replay, run --stdout, tail --json) is checked against
// the committed docs/flow.schema.json, the file consumers are given.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { validate, type JsonSchema } from '../../src/schema/json-schema.js';

export const ENTRY_SCHEMA = JSON.parse(readFileSync(new URL('../../docs/flow.schema.json', import.meta.url), 'utf8')) as JsonSchema;

/** Fails with the first entry that breaks the schema and how. */
export function expectValidEntries(entries: readonly unknown[]): void {
  for (const entry of entries) expect(validate(entry, ENTRY_SCHEMA), JSON.stringify(entry)).toEqual([]);
}
