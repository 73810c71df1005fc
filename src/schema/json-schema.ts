// The JSON Schema (draft 2020-12) of the typed entries, made from the field tables and committed as
// docs/flow.schema.json (`npm run schema` writes it; a test fails when the two differ). Also a
// validator for exactly the part of JSON Schema this file emits, so the tests can check every
// JSON line they see without a package: type, const, enum, properties, required,
// additionalProperties: false, items, oneOf and local $ref.
import { ENTRY_FIELDS, ENVELOPE_FIELDS, type EntryKind } from './entries.js';
import { isMarker, isOptional, type Field, type FieldTable } from './field.js';

export type JsonSchema = { [key: string]: unknown };

const JSON_TYPE: Record<Field['type'], string> = { integer: 'integer', string: 'string', boolean: 'boolean', strings: 'array' };

function fieldSchema(field: Field): JsonSchema {
  if (isMarker(field)) return { description: field.doc, const: true };
  const type = JSON_TYPE[field.type];
  const schema: JsonSchema = { description: field.doc, type: field.nullable ? [type, 'null'] : type };
  if (field.type === 'strings') schema.items = { type: 'string' };
  if (field.type === 'string' && field.values !== undefined) {
    const values: Array<string | null> = Object.keys(field.values);
    schema.enum = field.nullable ? [...values, null] : values;
  }
  return schema;
}

const KIND_DOC: Record<EntryKind, string> = {
  flow: 'A flow: one network syscall with both ends, the protocol and the process (docs/flows.md, "Fields").',
  loss: 'A loss report: events, records or entries auditflow could not deliver (docs/flows.md, "Loss").',
  lifecycle: 'The daemon started or stopped.',
  dns: 'A DNS answer the host received, with the process that asked when its query was seen (dns_entries, docs/dns.md).',
};

function kindSchema(kind: EntryKind, table: FieldTable): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, field] of Object.entries(ENVELOPE_FIELDS)) properties[name] = name === 'kind' ? { description: field.doc, const: kind } : fieldSchema(field);
  const required = ['kind'];
  for (const [name, field] of Object.entries(table)) {
    if (name === 'kind') continue;
    properties[name] = fieldSchema(field);
    if (!isOptional(field)) required.push(name);
  }
  return { type: 'object', description: KIND_DOC[kind], properties, required, additionalProperties: false };
}

/** The schema of a typed entry of any kind (auditflow's native format). */
export function entrySchema(): JsonSchema {
  const kinds = Object.keys(ENTRY_FIELDS) as EntryKind[];
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'auditflow entry (native format, schema version 1)',
    description:
      'One JSON object per line of `auditflow replay`, `auditflow run --stdout` and `auditflow tail --json`. Every field of its kind is present; a value that is not known is null; a marker field is present only when true, an optional field only on the entries it applies to. The envelope fields (id, boot_id, seq, host) are present where the entry passed through the daemon and the stream.',
    oneOf: kinds.map((kind) => ({ $ref: `#/$defs/${kind}` })),
    $defs: Object.fromEntries(kinds.map((kind) => [kind, kindSchema(kind, ENTRY_FIELDS[kind])])),
  };
}

/** The committed file's text. */
export const schemaText = (): string => `${JSON.stringify(entrySchema(), null, 2)}\n`;

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}

const KNOWN_KEYWORDS = new Set(['$schema', 'title', 'description', '$defs', '$ref', 'oneOf', 'type', 'const', 'enum', 'items', 'properties', 'required', 'additionalProperties']);

/** The ways `value` breaks `schema` (empty when it validates), each with its JSON path. */
export function validate(value: unknown, schema: JsonSchema, root: JsonSchema = schema, path = '$'): string[] {
  for (const keyword of Object.keys(schema)) if (!KNOWN_KEYWORDS.has(keyword)) throw new Error(`the validator does not know the keyword ${keyword}`);
  if (typeof schema.$ref === 'string') {
    const target = (root.$defs as Record<string, JsonSchema> | undefined)?.[schema.$ref.replace(/^#\/\$defs\//, '')];
    if (target === undefined) throw new Error(`unresolved $ref ${schema.$ref}`);
    return validate(value, target, root, path);
  }
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as JsonSchema[]).map((branch) => validate(value, branch, root, path));
    const passing = results.filter((errors) => errors.length === 0).length;
    if (passing === 1) return [];
    // None passed: the nearest branch's errors say what is wrong (a flow's, not a loss entry's).
    const nearest = passing === 0 ? results.reduce((best, errors) => (errors.length < best.length ? errors : best)) : [];
    return [`${path}: matches ${passing} of the oneOf branches, not exactly 1`, ...nearest];
  }
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((type) => typeMatches(type, value))) return [`${path}: ${JSON.stringify(value)} is not of type ${types.join(' or ')}`];
  }
  if ('const' in schema && value !== schema.const) errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => errors.push(...validate(item, schema.items as JsonSchema, root, `${path}[${i}]`)));
  if (typeMatches('object', value) && (schema.properties !== undefined || schema.required !== undefined)) {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in object)) errors.push(`${path}: lacks ${name}`);
    for (const [name, item] of Object.entries(object)) {
      const property = properties[name];
      if (property !== undefined) errors.push(...validate(item, property, root, `${path}.${name}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: has ${name}, which the schema does not know`);
    }
  }
  return errors;
}
