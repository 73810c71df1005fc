// The default ruleset (rules/network.rules) narrowed to what a test starts: every rule gets one
// more field (`-F ppid=<this process>`, `-F uid=65534`), so the records the kernel sends are
// those of the test's workloads, not of whatever else runs on the machine.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeRule, parseRulesFile } from '../../src/rules/index.js';

export const NETWORK_RULES_FILE = fileURLToPath(new URL('../../rules/network.rules', import.meta.url));

/** The kernel bytes of each rule of rules/network.rules, with `field` (e.g. `-F uid=65534`) added. */
export function networkRulesWhere(field: string): Buffer[] {
  const text = readFileSync(NETWORK_RULES_FILE, 'utf8')
    .split('\n')
    .map((line) => (line.startsWith('-a ') ? `${line} ${field}` : line))
    .join('\n');
  const compiled = parseRulesFile(text, NETWORK_RULES_FILE);
  if (!compiled.ok) throw new Error(compiled.errors.map((error) => error.message).join('\n'));
  return compiled.commands.flatMap((command) => (command.kind === 'add_rule' ? [encodeRule(command.rule)] : []));
}

/** The default ruleset narrowed to the children of `parent`. */
export function networkRulesForChildren(parent = process.pid): Buffer[] {
  return networkRulesWhere(`-F ppid=${parent}`);
}
