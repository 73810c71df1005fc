// Reads the daemon's configuration: defaults, then the config file, then AUDITFLOW_* variables, then
// the command line, each overriding the one before. The file is `key = value` lines with `#` comments;
// the keys are those of settings.ts. Anything wrong is a ConfigError that names the key and where it
// was set, so a person can fix it without reading code.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { envName, SETTINGS, SettingValueError, settingSpec, type SettingKey, type Settings } from './settings.js';

export const DEFAULT_CONFIG_FILE = '/etc/auditflow/auditflow.conf';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** One value from the command line: `--redis URL` is { key: 'redis_url', text: URL, source: '--redis' }. */
export interface Override {
  key: SettingKey;
  text: string;
  source: string;
}

export interface ConfigInput {
  /** --config; without it $AUDITFLOW_CONFIG, then DEFAULT_CONFIG_FILE if it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: readonly Override[];
}

export interface LoadedConfig {
  settings: Settings;
  /** The config file read, if any. */
  file: string | undefined;
  /** Where each setting that is not a default came from: `FILE:LINE`, `AUDITFLOW_X` or `--flag`. */
  sources: Partial<Record<SettingKey, string>>;
  /** AUDITFLOW_* variables that name no setting (other tools use the prefix too, so they only warn). */
  unknownEnv: string[];
}

/** AUDITFLOW_* variables that are not settings but are read by other parts of auditflow. */
// AUDITFLOW_REDIS_PASSWORD is no setting (a setting can be given on the command line, where every
// local user reads it): redis-password.ts reads it.
const OTHER_ENV = new Set(['AUDITFLOW_CONFIG', 'AUDITFLOW_KERNEL_LOCK', 'AUDITFLOW_RULES_DIR', 'AUDITFLOW_REDIS_PASSWORD']);

interface Assignment {
  key: string;
  text: string;
  source: string;
}

/** `key = value` lines; a value may be double-quoted to keep `#` or edge spaces. */
export function parseConfigFile(content: string, file: string): Assignment[] {
  const assignments: Assignment[] = [];
  content.split('\n').forEach((raw, index) => {
    const source = `${file}:${index + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new ConfigError(`${source}: expected "key = value", found "${line.slice(0, 80)}"`);
    const key = match[1] ?? '';
    let value = (match[2] ?? '').trim();
    if (value.startsWith('"')) {
      const end = value.indexOf('"', 1);
      if (end === -1) throw new ConfigError(`${source}: ${key}: the value's closing quote is missing`);
      const rest = value.slice(end + 1).trim();
      if (rest !== '' && !rest.startsWith('#')) throw new ConfigError(`${source}: ${key}: unexpected text after the quoted value`);
      value = value.slice(1, end);
    } else {
      const comment = value.search(/\s#/);
      if (comment !== -1) value = value.slice(0, comment).trim();
    }
    assignments.push({ key, text: value, source });
  });
  return assignments;
}

function closest(key: string): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0] ?? 0;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j] ?? 0;
        row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length] ?? 0;
  };
  let best: { key: string; d: number } | undefined;
  for (const s of SETTINGS) {
    const d = distance(key, s.key);
    if (d <= 3 && (best === undefined || d < best.d)) best = { key: s.key, d };
  }
  return best?.key;
}

function configFile(input: ConfigInput, env: NodeJS.ProcessEnv): { path: string; required: boolean } | undefined {
  if (input.file !== undefined) return { path: input.file, required: true };
  if (env.AUDITFLOW_CONFIG !== undefined && env.AUDITFLOW_CONFIG !== '') return { path: env.AUDITFLOW_CONFIG, required: true };
  return existsSync(DEFAULT_CONFIG_FILE) ? { path: DEFAULT_CONFIG_FILE, required: false } : undefined;
}

export function loadConfig(input: ConfigInput = {}): LoadedConfig {
  const env = input.env ?? process.env;
  const values: Record<string, unknown> = {};
  for (const s of SETTINGS) values[s.key] = s.parse(s.defaultText);
  const sources: Partial<Record<SettingKey, string>> = {};

  const assign = (assignment: Assignment): void => {
    const spec = settingSpec(assignment.key);
    if (spec === undefined) {
      const guess = closest(assignment.key);
      throw new ConfigError(`${assignment.source}: unknown setting "${assignment.key}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
    }
    try {
      values[spec.key] = spec.parse(assignment.text);
    } catch (error) {
      if (error instanceof SettingValueError) throw new ConfigError(`${assignment.source}: ${spec.key}: ${error.message}`);
      throw error;
    }
    sources[spec.key] = assignment.source;
  };

  const file = configFile(input, env);
  let fileRead: string | undefined;
  if (file !== undefined) {
    let content: string;
    try {
      content = readFileSync(file.path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read the config file ${file.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    for (const assignment of parseConfigFile(content, file.path)) assign(assignment);
    fileRead = file.path;
  }

  const unknownEnv: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('AUDITFLOW_') || value === undefined || OTHER_ENV.has(name)) continue;
    const key = name.slice('AUDITFLOW_'.length).toLowerCase();
    if (settingSpec(key) === undefined || envName(key) !== name) {
      unknownEnv.push(name);
      continue;
    }
    assign({ key, text: value, source: name });
  }

  for (const override of input.overrides ?? []) assign(override);

  const settings = values as unknown as Settings;
  if (settings.host === '') settings.host = hostname();
  if (settings.stream_maxlen > 0 && settings.stream_max_age_s > 0) {
    const where = [sources.stream_maxlen ?? 'the default', sources.stream_max_age_s].join(' and ');
    throw new ConfigError(`stream_maxlen and stream_max_age_s are both set (${where}): the stream is trimmed by one of them; set the other to 0`);
  }
  return { settings, file: fileRead, sources, unknownEnv };
}

/** Settings whose values differ between two loads and that SIGHUP cannot apply. */
export function restartOnlyChanges(before: Settings, after: Settings): SettingKey[] {
  return SETTINGS.filter((s) => !s.reloadable && JSON.stringify(before[s.key]) !== JSON.stringify(after[s.key])).map((s) => s.key);
}
