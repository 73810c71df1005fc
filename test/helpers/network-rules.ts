// The default ruleset (rules/network.rules) narrowed to the test's own children: every rule
// gets `-F ppid=<this process>`, so the records the kernel sends are those of the workloads
// the test starts, not of whatever else runs on the machine.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeRule, parseRulesFile } from '../../src/rules/index.js';

export const NETWORK_RULES_FILE = fileURLToPath(new URL('../../rules/network.rules', import.meta.url));

/** The kernel bytes of each rule of rules/network.rules, with `-F ppid=<parent>` added. */
export function networkRulesForChildren(parent = process.pid): Buffer[] {
  const text = readFileSync(NETWORK_RULES_FILE, 'utf8')
    .split('\n')
    .map((line) => (line.startsWith('-a ') ? `${line} -F ppid=${parent}` : line))
    .join('\n');
  const compiled = parseRulesFile(text, NETWORK_RULES_FILE);
  if (!compiled.ok) throw new Error(compiled.errors.map((error) => error.message).join('\n'));
  return compiled.commands.flatMap((command) => (command.kind === 'add_rule' ? [encodeRule(command.rule)] : []));
}
