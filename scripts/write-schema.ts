// npm run schema: writes docs/flow.schema.json and the generated tables of docs/flows.md and
// docs/formats.md from src/schema/. Review the diff like code.
import { readFileSync, writeFileSync } from 'node:fs';
import { generatedBlocks, withBlock } from '../src/schema/docs.js';
import { schemaText } from '../src/schema/json-schema.js';

const root = new URL('../', import.meta.url);
writeFileSync(new URL('docs/flow.schema.json', root), schemaText());
const documents = new Map<string, string>();
for (const block of generatedBlocks()) documents.set(block.file, withBlock(documents.get(block.file) ?? readFileSync(new URL(block.file, root), 'utf8'), block));
for (const [file, text] of documents) writeFileSync(new URL(file, root), text);
process.stdout.write(`wrote docs/flow.schema.json, ${[...documents.keys()].join(', ')}\n`);
