// A ruleset on disk: one rules file, or a directory of *.rules files read in name order (as augenrules
// reads /etc/audit/rules.d), or the packaged rules/network.rules. Compiles them all before anything
// touches the kernel, so a bad line anywhere means nothing is applied.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuleError, type RuleSyntaxError } from './errors.js';
import { parseRulesFile } from './file.js';
import type { Command, RuleWarning } from './rule.js';

/** A rules file that did not compile, or a ruleset path that holds no rules. */
export class RulesFileError extends RuleError {
  override name = 'RulesFileError';
}

/** The packaged rules directory: rules/ beside the nearest package.json. */
function packagedRulesDirectory(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'rules');
  }
  throw new Error('cannot find the packaged rules/ directory');
}

/** The packaged default ruleset: rules/network.rules. */
export function packagedRulesFile(): string {
  return join(packagedRulesDirectory(), 'network.rules');
}

/** The packaged optional rulesets (rules/optional/<name>.rules), by name. */
export function optionalRulesets(): string[] {
  const directory = join(packagedRulesDirectory(), 'optional');
  return existsSync(directory) ? rulesDirectoryFiles(directory).map((file) => file.slice(directory.length + 1, -'.rules'.length)) : [];
}

/** The *.rules files of a directory, in name order. */
export function rulesDirectoryFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.rules'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(directory, name));
}

/**
 * The files of a ruleset: comma-separated items, each a rules file, a directory's *.rules files,
 * `default` (the packaged rules/network.rules) or `optional:<name>` (a packaged rules/optional/<name>.rules);
 * empty means `default`.
 */
export function rulesetFiles(path: string): string[] {
  if (path.trim() === '') return [packagedRulesFile()];
  return path
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .flatMap(itemFiles);
}

function itemFiles(item: string): string[] {
  if (item === 'default') return [packagedRulesFile()];
  if (item.startsWith('optional:')) {
    const name = item.slice('optional:'.length);
    const known = optionalRulesets();
    if (!known.includes(name)) throw new RulesFileError(`no packaged optional ruleset ${JSON.stringify(name)}: there are ${known.map((one) => `optional:${one}`).join(', ') || 'none'}`);
    return [join(packagedRulesDirectory(), 'optional', `${name}.rules`)];
  }
  let directory: boolean;
  try {
    directory = statSync(item).isDirectory();
  } catch (error) {
    throw new RulesFileError(`cannot read the ruleset ${item}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!directory) return [item];
  const files = rulesDirectoryFiles(item);
  if (files.length === 0) throw new RulesFileError(`${item} holds no *.rules file`);
  return files;
}

export interface CompiledFile {
  file: string;
  commands: Command[];
  errors: RuleSyntaxError[];
  warnings: RuleWarning[];
}

export function compileFiles(files: readonly string[]): CompiledFile[] {
  return files.map((file) => {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new RulesFileError(`cannot read the rules file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const result = parseRulesFile(content, file);
    return result.ok
      ? { file, commands: result.commands, errors: [], warnings: result.warnings }
      : { file, commands: [], errors: result.errors, warnings: result.warnings };
  });
}

export function errorSummary(compiled: readonly CompiledFile[]): string {
  const errors = compiled.flatMap((c) => c.errors);
  return `${errors.length} error(s) in ${compiled
    .filter((c) => c.errors.length > 0)
    .map((c) => c.file)
    .join(', ')}`;
}
