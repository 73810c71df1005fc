// Which loaded rules auditflow added: a small JSON file, so that a later apply can remove the
// rules its files no longer contain and `rules clear` removes only auditflow's, while rules
// loaded by other tools stay. Rules are named by their identity (ruleIdentity), never by text.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_STATE_DIR = '/var/lib/auditflow';
const STATE_FILE = 'applied-rules.json';
const STATE_VERSION = 1;

export interface AppliedRule {
  // ruleIdentity() of the rule, hex.
  readonly identity: string;
  // Where it came from ("network.rules:12") and how it reads, for people reading the file.
  readonly source: string;
  readonly text: string;
}

export interface AppliedState {
  readonly rules: readonly AppliedRule[];
}

export class RulesStateError extends Error {
  override name = 'RulesStateError';
}

/** The option wins, then AUDITFLOW_STATE_DIR, then /var/lib/auditflow. */
export function stateDirectory(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? env.AUDITFLOW_STATE_DIR ?? DEFAULT_STATE_DIR;
}

export function statePath(directory: string): string {
  return join(directory, STATE_FILE);
}

export function readAppliedState(directory: string): AppliedState {
  const path = statePath(directory);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { rules: [] };
    throw error;
  }
  const parsed = JSON.parse(text) as { version?: unknown; rules?: unknown };
  if (parsed.version !== STATE_VERSION || !Array.isArray(parsed.rules)) {
    throw new RulesStateError(`${path} is not an auditflow rules state file (version ${STATE_VERSION}); move it away to start afresh`);
  }
  const rules = parsed.rules.filter(
    (rule): rule is AppliedRule =>
      typeof rule === 'object' && rule !== null && typeof (rule as AppliedRule).identity === 'string' && /^[0-9a-f]+$/.test((rule as AppliedRule).identity),
  );
  return { rules };
}

/** Writes a temporary file beside the state and renames it over, so a crash leaves the old or the new file whole. */
export function writeAppliedState(directory: string, state: AppliedState): void {
  mkdirSync(directory, { recursive: true, mode: 0o750 });
  const path = statePath(directory);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ version: STATE_VERSION, rules: state.rules }, null, 2) + '\n', { mode: 0o640 });
  renameSync(temporary, path);
}
