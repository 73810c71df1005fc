// Writes man/auditflow.8 and completion/auditflow.bash from the command line's definitions
// (src/cli/manual.ts). Run after changing a command or an option: npx tsx scripts/generate-manual.ts
// test/unit/cli/manual.test.ts fails while the committed files differ from what this writes.
import { writeFileSync } from 'node:fs';
import { bashCompletion, manPage } from '../src/cli/manual.js';
import { packageVersion, program } from '../src/cli/main.js';

const root = new URL('../', import.meta.url);
const inputs = { program, version: packageVersion() };
writeFileSync(new URL('man/auditflow.8', root), manPage(inputs));
writeFileSync(new URL('completion/auditflow.bash', root), bashCompletion(inputs));
