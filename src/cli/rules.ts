// auditflow rules check|apply|list|clear: auditctl-syntax rules files, loaded without auditctl.
import { AuditControl } from '../audit/control.js';
import {
  applyCommands,
  clearRules,
  decodeRule,
  formatCommand,
  formatRule,
  machineFromNodeArch,
  readAppliedState,
  ruleKeys,
  stateDirectory,
  URING_SKIPPED,
  writeAppliedState,
  type Command,
} from '../rules/index.js';
import { compileFiles, errorSummary, packagedRulesFile, rulesDirectoryFiles, rulesetFiles, RulesFileError, type CompiledFile } from '../rules/ruleset.js';
import { listedSelfRules } from '../rules/self-rule.js';

/**
 * Files given (or `default`, `optional:<name>`, directories: as the daemon's `rules` setting reads
 * them), else the configured rules directory (--rules-dir, AUDITFLOW_RULES_DIR), else the packaged ruleset.
 */
export function rulesFiles(files: readonly string[], rulesDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (files.length > 0) return files.flatMap((file) => rulesetFiles(file));
  const directory = rulesDir ?? env.AUDITFLOW_RULES_DIR;
  if (directory === undefined) return [packagedRulesFile()];
  const found = rulesDirectoryFiles(directory);
  if (found.length === 0) throw new RulesFileError(`${directory} holds no *.rules file`);
  return found;
}

function writeWarnings(compiled: readonly CompiledFile[]): void {
  for (const warning of compiled.flatMap((c) => c.warnings)) process.stderr.write(`${warning.file}:${warning.line}: warning: ${warning.message}\n`);
}

/** Every file's commands, or every bad line on stderr and a RulesFileError. */
function compileOrThrow(files: readonly string[]): Command[] {
  const compiled = compileFiles(files);
  writeWarnings(compiled);
  const errors = compiled.flatMap((c) => c.errors);
  for (const error of errors) process.stderr.write(`${error.message}\n`);
  if (errors.length > 0) throw new RulesFileError(`${errorSummary(compiled)}; nothing was applied`);
  return compiled.flatMap((c) => c.commands);
}

export async function checkCommand(files: string[], options: { json?: boolean }): Promise<void> {
  const machine = machineFromNodeArch();
  const compiled = compileFiles(files.flatMap((file) => rulesetFiles(file)));
  const errors = compiled.flatMap((c) => c.errors);
  if (options.json) {
    const report = compiled.map((c) => ({
      file: c.file,
      ok: c.errors.length === 0,
      commands: c.commands.map((command) => ({ line: command.source.line, kind: command.kind, text: formatCommand(command, { machine }) })),
      errors: c.errors.map((e) => ({ line: e.line, token: e.token ?? null, message: e.reason })),
      warnings: c.warnings.map((w) => ({ line: w.line, message: w.message })),
    }));
    process.stdout.write(JSON.stringify({ ok: errors.length === 0, files: report }) + '\n');
  } else {
    writeWarnings(compiled);
    for (const error of errors) process.stderr.write(`${error.message}\n`);
    if (errors.length === 0) {
      for (const command of compiled.flatMap((c) => c.commands)) process.stdout.write(`${formatCommand(command, { machine })}\n`);
    }
  }
  if (errors.length > 0) throw new RulesFileError(errorSummary(compiled));
}

export interface ApplyCommandOptions {
  allowImmutable?: boolean;
  stateDir?: string;
  rulesDir?: string;
}

export async function applyCommand(files: string[], options: ApplyCommandOptions): Promise<void> {
  const commands = compileOrThrow(rulesFiles(files, options.rulesDir));
  const directory = stateDirectory(options.stateDir);
  const control = AuditControl.open();
  try {
    const result = await applyCommands(control, commands, {
      machine: machineFromNodeArch(),
      allowImmutable: options.allowImmutable ?? false,
      state: readAppliedState(directory),
      saveState: (state) => writeAppliedState(directory, state),
    });
    for (const error of result.errors) process.stderr.write(`${error.message}\n`);
    if (result.skippedUring.length > 0) process.stderr.write(`warning: ${URING_SKIPPED} (${result.skippedUring.join(', ')})\n`);
    process.stdout.write(
      `added ${result.added}, already loaded ${result.alreadyLoaded}, removed ${result.removedStale} stale, ` +
        `deleted ${result.deleted}, settings ${result.settings}\n`,
    );
    if (result.failed) throw new RulesFileError(`the kernel refused ${result.errors.length} command(s); -c applied the rest`);
  } finally {
    await control.close();
  }
}

export async function listCommand(options: { json?: boolean }): Promise<void> {
  const machine = machineFromNodeArch();
  const control = AuditControl.open();
  try {
    const rules = (await control.listRules()).map((bytes) => decodeRule(bytes));
    if (options.json) {
      const listed = rules.map((rule) => ({ text: formatRule(rule, { machine }), list: rule.list, action: rule.action, keys: ruleKeys(rule) }));
      process.stdout.write(JSON.stringify(listed) + '\n');
    } else {
      // auditctl -l says "No rules" for an empty list (audit_print_reply, src/auditctl-listing.c).
      process.stdout.write(rules.length === 0 ? 'No rules\n' : rules.map((rule) => formatRule(rule, { machine }) + '\n').join(''));
    }
  } finally {
    await control.close();
  }
}

/**
 * The self-exclusion rules (key auditflow-self, one per daemon, naming its pid) of daemons that are
 * no longer the kernel's audit daemon: one killed before it could delete its own leaves it, and it
 * would exclude whatever process gets that pid next. The running daemon's stays.
 */
async function deleteStaleSelfRules(control: AuditControl): Promise<number> {
  const daemonPid = (await control.status()).pid;
  let deleted = 0;
  for (const { bytes, pid } of await listedSelfRules(control)) {
    if (daemonPid !== 0 && pid === daemonPid) continue;
    await control.deleteRule(bytes);
    deleted += 1;
  }
  return deleted;
}

export async function clearCommand(options: { all?: boolean; stateDir?: string }): Promise<void> {
  const directory = stateDirectory(options.stateDir);
  const control = AuditControl.open();
  try {
    const deleted = await clearRules(control, {
      all: options.all ?? false,
      state: readAppliedState(directory),
      saveState: (state) => writeAppliedState(directory, state),
    });
    const stale = options.all ? 0 : await deleteStaleSelfRules(control);
    process.stdout.write(`deleted ${deleted + stale} rule(s)\n`);
  } finally {
    await control.close();
  }
}
