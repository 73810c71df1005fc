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

// Glob tokens: a literal character, `?`, `*` (within a segment), `**` (across segments).
const ANY_IN_SEGMENT = -1;
const ANY = -2;
const ONE = -3;
const STAR = 0x2a;
const QUESTION = 0x3f;
const SLASH = 0x2f;

/**
 * A glob as above, matched in linear time: the pattern's positions are simulated as a set
 * (a Thompson NFA, no backtracking), so a path costs at most (path length + 1) × (tokens + 1)
 * steps whatever the pattern. The RegExp this replaced backtracked: three `**` then `/x` against a
 * 4 KB path took 2.7 s in V8's engine.
 */
export class ExeGlob {
  /** Char codes for literals, or ANY_IN_SEGMENT, ANY, ONE. */
  private readonly tokens: Int32Array;
  private readonly current: Uint8Array;
  private readonly next: Uint8Array;
  /** Steps taken by test() since construction (one per live position per character): the bound above, observable. */
  steps = 0;

  constructor(pattern: string) {
    const tokens: number[] = [];
    for (let i = 0; i < pattern.length; i++) {
      const code = pattern.charCodeAt(i);
      if (code === STAR && pattern.charCodeAt(i + 1) === STAR) {
        tokens.push(ANY);
        i++;
      } else if (code === STAR) tokens.push(ANY_IN_SEGMENT);
      else if (code === QUESTION) tokens.push(ONE);
      else tokens.push(code);
    }
    this.tokens = Int32Array.from(tokens);
    this.current = new Uint8Array(tokens.length + 1);
    this.next = new Uint8Array(tokens.length + 1);
  }

  test(text: string): boolean {
    const tokens = this.tokens;
    const end = tokens.length;
    let current = this.current;
    let next = this.next;
    current.fill(0);
    current[0] = 1;
    this.close(current);
    for (let at = 0; at < text.length; at++) {
      const code = text.charCodeAt(at);
      next.fill(0);
      let live = false;
      for (let i = 0; i < end; i++) {
        if (current[i] === 0) continue;
        this.steps++;
        const token = tokens[i] as number;
        if (token === ANY || (token === ANY_IN_SEGMENT && code !== SLASH)) next[i] = 1;
        else if ((token === ONE && code !== SLASH) || token === code) next[i + 1] = 1;
        else continue;
        live = true;
      }
      if (!live) return false;
      this.close(next);
      [current, next] = [next, current];
    }
    return current[end] === 1;
  }

  /** A star may match nothing: the position after it is live wherever the star's is. */
  private close(states: Uint8Array): void {
    for (let i = 0; i < this.tokens.length; i++) {
      const token = this.tokens[i] as number;
      if (states[i] === 1 && (token === ANY || token === ANY_IN_SEGMENT)) states[i + 1] = 1;
    }
  }
}

export function exeGlob(pattern: string): ExeGlob {
  return new ExeGlob(pattern);
}

// forExe's answers, per exe path: a host runs a few hundred distinct executables, and each flow asks.
const EXE_CACHE_SIZE = 4096;

// The keys of the default ruleset's io_uring rules (rules/network.rules): a process that set up a ring,
// or made a network operation through one, is labelled `uring` (and its children after it), since
// some io_uring operations (send, recv, socket) are never audited (io_uring/opdef.c audit_skip).
export const BUILT_IN_LABELS: readonly LabelRule[] = [
  { key: 'auditflow-uring-setup', label: 'uring' },
  { key: 'auditflow-uring', label: 'uring' },
];

const NONE: readonly string[] = Object.freeze([]);

export class LabelRules {
  private readonly byKey = new Map<string, string[]>();
  private readonly byExe: Array<{ pattern: ExeGlob; label: string }> = [];
  private readonly exeLabels = new Map<string, string[]>();
  private readonly keyLabels = new Map<string, string[]>();

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

  /** Labels of a flow's key: the rule keys joined with `,` (see toFlow). Answers are kept per key; do not change them. */
  forKey(key: string | null): readonly string[] {
    if (key === null || this.byKey.size === 0) return NONE;
    const known = this.keyLabels.get(key);
    if (known) return known;
    const labels = key.split(',').flatMap((one) => this.byKey.get(one) ?? []);
    // Keys come from the kernel's records: a hostile rule set could make many; the cache stays bounded.
    if (this.keyLabels.size >= EXE_CACHE_SIZE) this.keyLabels.clear();
    this.keyLabels.set(key, labels);
    return labels;
  }

  /** Labels of an executable path. Answers are kept per path; do not change them. */
  forExe(exe: string | null): readonly string[] {
    if (exe === null || this.byExe.length === 0) return NONE;
    const known = this.exeLabels.get(exe);
    if (known) return known;
    const labels = this.byExe.filter((rule) => rule.pattern.test(exe)).map((rule) => rule.label);
    if (this.exeLabels.size >= EXE_CACHE_SIZE) this.exeLabels.clear();
    this.exeLabels.set(exe, labels);
    return labels;
  }
}
