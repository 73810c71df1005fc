// The daemon's self-exclusion rule: `-A exit,never -S all -F pid=<daemon> -k auditflow-self`, prepended
// so the daemon's own traffic (Redis) never feeds the stream it publishes. A daemon killed before it
// could delete its rule leaves it behind, excluding whatever process gets that pid next: the daemon's
// start and `auditflow rules clear` find such rules here.
import type { AuditControl } from '../audit/control.js';
import { decodeRule } from './decode.js';
import { RuleError } from './errors.js';
import { parseRulesFile } from './file.js';
import { encodeRule } from './encode.js';
import { ruleKeys, type Rule } from './rule.js';

export const SELF_RULE_KEY = 'auditflow-self';

export function selfRuleBytes(pid: number): Buffer {
  const result = parseRulesFile(`-A exit,never -S all -F pid=${pid} -k ${SELF_RULE_KEY}`, 'self-exclusion');
  const command = result.ok ? result.commands[0] : undefined;
  if (command?.kind !== 'add_rule') throw new Error('the self-exclusion rule did not compile');
  return encodeRule(command.rule);
}

/** The self-exclusion rules the kernel holds, with the pid each names. */
export async function listedSelfRules(control: AuditControl): Promise<Array<{ bytes: Buffer; rule: Rule; pid: number | undefined }>> {
  const found: Array<{ bytes: Buffer; rule: Rule; pid: number | undefined }> = [];
  for (const bytes of await control.listRules()) {
    let rule: Rule;
    try {
      rule = decodeRule(bytes);
    } catch (error) {
      if (error instanceof RuleError) continue;
      throw error;
    }
    if (!ruleKeys(rule).includes(SELF_RULE_KEY)) continue;
    const pid = rule.fields.find((field) => field.kind === 'number' && field.field === 'pid')?.value;
    found.push({ bytes, rule, pid: typeof pid === 'number' ? pid : undefined });
  }
  return found;
}
