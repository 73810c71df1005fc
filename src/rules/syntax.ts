// One line of an auditctl rules file -> its options, as auditctl's getopt sees them.
// auditctl splits a line on spaces; "\ " is a space inside a word and "\\" a backslash
// (preprocess/postprocess in src/auditctl.c). A line whose first word starts with # is a comment.
import { RuleSyntaxError, quote, type SourcePosition } from './errors.js';

export interface Option {
  readonly flag: string; // "-a", "-F", "--backlog_wait_time"
  readonly value: string | undefined;
}

// Short options and whether they take a value: auditctl's "hicslDvtC:e:f:r:b:a:A:d:S:F:m:R:w:W:k:p:q:".
const SHORT: Readonly<Record<string, boolean>> = {
  h: false, i: false, c: false, s: false, l: false, D: false, v: false, t: false,
  C: true, e: true, f: true, r: true, b: true, a: true, A: true, d: true, S: true,
  F: true, m: true, R: true, w: true, W: true, k: true, p: true, q: true,
};
const LONG: Readonly<Record<string, boolean>> = {
  'loginuid-immutable': false,
  backlog_wait_time: true,
  'reset-lost': false,
};

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    const next = line[i + 1];
    if (ch === '\\' && (next === ' ' || next === '\\')) {
      current += next;
      inWord = true;
      i++;
    } else if (ch === ' ' || ch === '\t' || ch === '\r') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

export function parseOptions(words: readonly string[], position: SourcePosition): Option[] {
  const options: Option[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word.startsWith('--') && word.length > 2) {
      const [name, inline] = splitLong(word.slice(2));
      const takesValue = LONG[name];
      if (takesValue === undefined) throw new RuleSyntaxError(`unknown option ${quote(word)}`, position, word);
      let value = inline;
      if (takesValue && value === undefined) value = words[++i];
      if (takesValue && value === undefined) throw new RuleSyntaxError(`option --${name} needs a value`, position, word);
      if (!takesValue && value !== undefined) throw new RuleSyntaxError(`option --${name} takes no value`, position, word);
      options.push({ flag: `--${name}`, value });
      continue;
    }
    if (!word.startsWith('-') || word.length < 2) {
      throw new RuleSyntaxError(`unexpected ${quote(word)}: every word must belong to an option`, position, word);
    }
    // Clustered flags (-Dk key is not auditctl's habit, but -ic is legal getopt).
    for (let j = 1; j < word.length; j++) {
      const letter = word[j] as string;
      const takesValue = SHORT[letter];
      if (takesValue === undefined) throw new RuleSyntaxError(`unknown option ${quote(`-${letter}`)}`, position, word);
      if (!takesValue) {
        options.push({ flag: `-${letter}`, value: undefined });
        continue;
      }
      const rest = word.slice(j + 1);
      const value = rest !== '' ? rest : words[++i];
      if (value === undefined) throw new RuleSyntaxError(`option -${letter} needs a value`, position, word);
      options.push({ flag: `-${letter}`, value });
      break;
    }
  }
  return options;
}

function splitLong(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
}

// Split "field<op>value" the way libaudit does: two-character operators first, then =, >, <, &.
export function splitFieldPair(pair: string): { field: string; op: string; value: string } | undefined {
  for (const op of ['!=', '>=', '<=', '&=', '=', '>', '<', '&']) {
    const at = pair.indexOf(op);
    if (at >= 0) return { field: pair.slice(0, at), op, value: pair.slice(at + op.length) };
  }
  return undefined;
}
