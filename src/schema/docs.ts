// The parts of docs/flows.md and docs/formats.md that are made from the schema and the mappings:
// each sits between `<!-- generated: NAME -->` and `<!-- end: NAME -->`. `npm run schema` rewrites
// them (and docs/flow.schema.json); test/unit/schema/docs.test.ts fails when a committed one differs.
import { DNS_FIELDS, ENVELOPE_FIELDS, FLOW_FIELDS, LIFECYCLE_FIELDS, LOSS_FIELDS } from './entries.js';
import { typeText, type FieldTable } from './field.js';
import { ECS_FLOW_ROWS, ECS_LIFECYCLE_ROWS, ECS_LOSS_ROWS } from './formats/ecs.js';
import { rowsTable } from './formats/mapping.js';
import { OCSF_FLOW_ROWS, OCSF_LIFECYCLE_ROWS, OCSF_LOSS_ROWS } from './formats/ocsf.js';

/** A field table as Markdown: name, type, meaning. */
export function fieldsTable(table: FieldTable): string {
  const lines = ['| field | type | meaning |', '|---|---|---|'];
  for (const [name, field] of Object.entries(table)) lines.push(`| \`${name}\` | ${typeText(field)} | ${field.doc.replaceAll('|', '\\|')} |`);
  return lines.join('\n');
}

export interface GeneratedBlock {
  /** Relative to the repository. */
  file: string;
  name: string;
  text: string;
}

export function generatedBlocks(): GeneratedBlock[] {
  return [
    { file: 'docs/flows.md', name: 'flow-fields', text: fieldsTable(FLOW_FIELDS) },
    { file: 'docs/flows.md', name: 'envelope-fields', text: fieldsTable(ENVELOPE_FIELDS) },
    { file: 'docs/flows.md', name: 'loss-fields', text: fieldsTable(LOSS_FIELDS) },
    { file: 'docs/flows.md', name: 'lifecycle-fields', text: fieldsTable(LIFECYCLE_FIELDS) },
    { file: 'docs/dns.md', name: 'dns-fields', text: fieldsTable(DNS_FIELDS) },
    { file: 'docs/formats.md', name: 'ecs-flow', text: rowsTable(ECS_FLOW_ROWS, 'ECS field') },
    { file: 'docs/formats.md', name: 'ecs-loss', text: rowsTable(ECS_LOSS_ROWS, 'ECS field') },
    { file: 'docs/formats.md', name: 'ecs-lifecycle', text: rowsTable(ECS_LIFECYCLE_ROWS, 'ECS field') },
    { file: 'docs/formats.md', name: 'ocsf-flow', text: rowsTable(OCSF_FLOW_ROWS, 'OCSF attribute') },
    { file: 'docs/formats.md', name: 'ocsf-loss', text: rowsTable(OCSF_LOSS_ROWS, 'OCSF attribute') },
    { file: 'docs/formats.md', name: 'ocsf-lifecycle', text: rowsTable(OCSF_LIFECYCLE_ROWS, 'OCSF attribute') },
  ];
}

/** `document` with the block's text put between its markers; throws when the markers are missing. */
export function withBlock(document: string, block: GeneratedBlock): string {
  const start = `<!-- generated: ${block.name} (npm run schema) -->\n`;
  const end = `<!-- end: ${block.name} -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to < from) throw new Error(`${block.file} has no markers for ${block.name}`);
  return `${document.slice(0, from + start.length)}${block.text}\n${document.slice(to)}`;
}
