// Whole rules files: every line is checked before anything is applied, so a file with one
// bad line yields all its errors and no commands (auditctl -R would have applied the lines
// before the bad one).
import { statSync } from 'node:fs';
import { machineFromNodeArch, type Machine } from '../linux/arch.js';
import { compileLine, type CompileContext } from './compile.js';
import { RuleSyntaxError } from './errors.js';
import type { Command, Rule, RuleWarning } from './rule.js';
import { fileUserDatabase, type UserDatabase } from './userdb.js';

export interface CompileOptions {
  // Default: the machine Node runs on (process.arch).
  readonly machine?: Machine;
  // Default: /etc/passwd and /etc/group.
  readonly users?: UserDatabase;
  // Default: stat(2) of the path.
  readonly isDirectory?: (path: string) => boolean;
}

export type RulesFileResult =
  | { readonly ok: true; readonly commands: Command[]; readonly warnings: RuleWarning[] }
  | { readonly ok: false; readonly errors: RuleSyntaxError[]; readonly warnings: RuleWarning[] };

export function compileContext(options: CompileOptions = {}): CompileContext {
  return {
    machine: options.machine ?? machineFromNodeArch(),
    users: options.users ?? fileUserDatabase(),
    isDirectory: options.isDirectory ?? statIsDirectory,
  };
}

function statIsDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function parseRulesFile(text: string, filename: string, options: CompileOptions = {}): RulesFileResult {
  const ctx = compileContext(options);
  const commands: Command[] = [];
  const warnings: RuleWarning[] = [];
  const errors: RuleSyntaxError[] = [];
  text.split('\n').forEach((line, index) => {
    try {
      const result = compileLine(line, { file: filename, line: index + 1 }, ctx);
      if (result) {
        commands.push(...result.commands);
        warnings.push(...result.warnings);
      }
    } catch (error) {
      if (!(error instanceof RuleSyntaxError)) throw error;
      errors.push(error);
    }
  });
  return errors.length > 0 ? { ok: false, errors, warnings } : { ok: true, commands, warnings };
}

// One rule in auditctl syntax (-a/-A/-d/-w/-W ...) -> Rule. Throws RuleSyntaxError.
export function compileRule(text: string, options: CompileOptions = {}): Rule {
  const position = { file: '<rule>', line: 1 };
  const result = compileLine(text, position, compileContext(options));
  const command = result?.commands[0];
  if (result?.commands.length !== 1 || (command?.kind !== 'add_rule' && command?.kind !== 'delete_rule')) {
    throw new RuleSyntaxError('expected exactly one rule (-a, -A, -d, -w or -W)', position, text);
  }
  return command.rule;
}
