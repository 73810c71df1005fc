// Process labels (LAUREL's idea, kept simple): the config maps an audit rule key or an
// executable path pattern to a label. A process gets the labels of its own exe and of the
// keys of its events; a process seen afterwards inherits the labels of its parent (by ppid),
// so every flow of `apt-get` and of the programs it starts carries `software_mgmt`.
import { ProcessConfigError } from './errors.js';

export interface LabelRule {
  /** An audit rule key (`-k`): a process with an event of this key gets the label. */
  key?: string;
  /**
   * An executable path pattern: `*` any characters except `/`, `**` any characters, `?` one
   * character except `/`; everything else is literal: `/usr/bin/apt*`, `/usr/lib/apt/methods/*`, `/opt/**`.
   */
  exe?: string;
  label: string;
}

const LABEL = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A glob as above → an anchored RegExp. */
export function exeGlob(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

export class LabelRules {
  private readonly byKey = new Map<string, string[]>();
  private readonly byExe: Array<{ pattern: RegExp; label: string }> = [];

  /** Checks every rule; a bad one throws a ProcessConfigError naming it (`labels[2]: ...`). */
  constructor(rules: readonly LabelRule[] = []) {
    rules.forEach((rule, index) => {
      const where = `labels[${index}]`;
      if (typeof rule.label !== 'string' || !LABEL.test(rule.label)) throw new ProcessConfigError(`${where}: label must be 1 to 64 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(rule.label)}`);
      if (rule.key === undefined && rule.exe === undefined) throw new ProcessConfigError(`${where}: needs a key or an exe pattern`);
      if (rule.key !== undefined) {
        if (typeof rule.key !== 'string' || rule.key === '') throw new ProcessConfigError(`${where}: key must be a non-empty string`);
        this.byKey.set(rule.key, [...(this.byKey.get(rule.key) ?? []), rule.label]);
      }
      if (rule.exe !== undefined) {
        if (typeof rule.exe !== 'string' || !rule.exe.startsWith('/')) throw new ProcessConfigError(`${where}: exe must be an absolute path pattern, got ${JSON.stringify(rule.exe)}`);
        this.byExe.push({ pattern: exeGlob(rule.exe), label: rule.label });
      }
    });
  }

  get empty(): boolean {
    return this.byKey.size === 0 && this.byExe.length === 0;
  }

  /** Labels of a flow's key: the rule keys joined with `,` (see toFlow). */
  forKey(key: string | null): string[] {
    if (key === null || this.byKey.size === 0) return [];
    return key.split(',').flatMap((one) => this.byKey.get(one) ?? []);
  }

  forExe(exe: string | null): string[] {
    if (exe === null) return [];
    return this.byExe.filter((rule) => rule.pattern.test(exe)).map((rule) => rule.label);
  }
}
