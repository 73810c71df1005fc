// The rule compiler: auditctl rule syntax <-> Rule <-> struct audit_rule_data bytes.
export { archByValue, archInfo, formatArch, machineFromNodeArch, resolveArch, type ArchInfo, type Machine } from '../linux/arch.js';
export { compileContext, compileRule, parseRulesFile, type CompileOptions, type RulesFileResult } from './file.js';
export { applyCommands, clearRules, ruleIdentity, RulesApplyError, RulesImmutableError, URING_SKIPPED, type ApplyOptions, type ApplyResult } from './apply.js';
export { decodeRule } from './decode.js';
export { encodeRule, RULE_DATA_LAYOUT } from './encode.js';
export { RuleDecodeError, RuleError, RuleSyntaxError, type SourcePosition } from './errors.js';
export { formatCommand, formatRule, isWatch, type FormatOptions } from './format.js';
export type { ActionName, FieldName, ListName, Operator } from './kernel.js';
export { ruleKeys, type Command, type Rule, type RuleField, type RuleWarning } from './rule.js';
export { fileUserDatabase, mapUserDatabase, type UserDatabase } from './userdb.js';
export { DEFAULT_STATE_DIR, readAppliedState, RulesStateError, stateDirectory, statePath, writeAppliedState, type AppliedRule, type AppliedState } from './state.js';
