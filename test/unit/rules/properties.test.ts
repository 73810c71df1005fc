// Property tests of the rule compiler (fast-check; see test/helpers/property.ts): a rule built from
// the auditctl grammar compiles and survives text -> bytes -> Rule -> text -> bytes; any text, or any
// corpus line with a few characters changed, compiles or is refused with FILE:LINE, never with another
// exception; any bytes decode or are refused with RuleDecodeError.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRule, decodeRule, encodeRule, formatRule, parseRulesFile, RuleDecodeError, RULE_DATA_LAYOUT } from '../../../src/rules/index.js';
import { SYSCALLS_I386 } from '../../../src/linux/syscalls-i386.js';
import { SYSCALLS_X86_64 } from '../../../src/linux/syscalls-x86_64.js';
import { assertProperty, bytesCodec, propertyTimeout, savedCounterexamples, textCodec } from '../../helpers/property.js';
import { DIRECTORIES, x86 } from './context.js';

const corpusLines = readFileSync(new URL('./fixtures/corpus.rules', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('-'));

const b64 = [...SYSCALLS_X86_64.byName.keys()];
const b32 = [...SYSCALLS_I386.byName.keys()];
const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
const path = fc.array(word, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
const number = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constant(4294967295));
const op = fc.constantFrom('=', '!=', '<', '>', '<=', '>=');

/** One -F of the exit list, as auditctl takes it. */
const exitField = fc.oneof(
  fc.tuple(fc.constantFrom('pid', 'ppid', 'uid', 'euid', 'auid', 'gid', 'egid', 'success', 'devmajor', 'sessionid'), op, number).map(([f, o, v]) => `-F ${f}${o}${v}`),
  fc.tuple(fc.constantFrom('uid', 'auid', 'euid'), fc.constantFrom('=', '!='), fc.constantFrom('root', 'alice', 'unset', 'www-data')).map(([f, o, v]) => `-F ${f}${o}${v}`),
  fc.tuple(fc.constantFrom('a0', 'a1', 'a2', 'a3', 'pers', 'devminor'), fc.constantFrom('=', '!=', '<', '>=', '&', '&='), number).map(([f, o, v]) => `-F ${f}${o}0x${v.toString(16)}`),
  fc.tuple(fc.constantFrom('=', '!='), fc.constantFrom('-EPERM', '-ENOENT', '-EACCES', '0', '-1', 'EINTR')).map(([o, v]) => `-F exit${o}${v}`),
  fc.tuple(fc.constantFrom('=', '!=', '<', '>'), fc.constantFrom(1, 2, 10, 16, 44)).map(([o, v]) => `-F saddr_fam${o}${v}`),
  fc.tuple(fc.constantFrom('exe', 'path'), fc.constantFrom('=', '!='), path).map(([f, o, v]) => `-F ${f}${o}${v}`),
  // dir= names a directory: a watch of it lists as `-w DIR`, which reads back as dir= where DIR is one.
  fc.tuple(fc.constantFrom('=', '!='), fc.constantFrom(...DIRECTORIES)).map(([o, v]) => `-F dir${o}${v}`),
  fc.tuple(fc.constantFrom('=', '!='), fc.constantFrom('file', 'dir', 'socket', 'link')).map(([o, v]) => `-F filetype${o}${v}`),
  fc.constantFrom('-F perm=r', '-F perm=wa', '-F perm=rwxa'),
);

/** A syscall rule of the exit list: action, arch, syscalls, fields and keys in auditctl's order. */
const exitRule = fc
  .record({
    head: fc.constantFrom('-a always,exit', '-a exit,always', '-a never,exit', '-A always,exit', '-d always,exit'),
    arch: fc.constantFrom('b64', 'b32', undefined),
    syscalls: fc.oneof(fc.constant('all'), fc.uniqueArray(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 6 }).map((picks) => picks.join(','))),
    fields: fc.array(exitField, { maxLength: 5 }),
    keys: fc.array(word, { maxLength: 2 }),
  })
  .map(({ head, arch, syscalls, fields, keys }) => {
    const table = arch === 'b32' ? b32 : b64;
    const names = syscalls === 'all' ? 'all' : [...new Set(syscalls.split(',').map((pick) => table[Number(pick) % table.length] as string))].join(',');
    return [head, arch === undefined ? '' : `-F arch=${arch}`, `-S ${names}`, ...fields, ...keys.map((key) => `-k ${key}`)].filter(Boolean).join(' ');
  });

const watchRule = fc.tuple(fc.oneof(path, fc.constantFrom(...DIRECTORIES)), fc.constantFrom('', ' -p r', ' -p wa', ' -p rwxa'), fc.option(word)).map(([p, perm, key]) => `-w ${p}${perm}${key === null ? '' : ` -k ${key}`}`);

/** A corpus line with a few characters replaced, inserted or deleted, or cut short. */
const mutatedLine = fc
  .tuple(fc.constantFrom(...corpusLines), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 4, unit: 'binary' })), { minLength: 1, maxLength: 4 }))
  .map(([line, edits]) =>
    edits.reduce((text, [at, kind, chars]) => {
      const i = at % (text.length + 1);
      if (kind === 0) return text.slice(0, i) + chars + text.slice(i + 1);
      if (kind === 1) return text.slice(0, i) + chars + text.slice(i);
      if (kind === 2) return text.slice(0, i) + text.slice(i + 1 + chars.length);
      return text.slice(0, i);
    }, line),
  );

/** Compiles or is refused with FILE:LINE; what compiles survives the round trip exactly. */
function compilesOrNamesTheLine(text: string): void {
  const result = parseRulesFile(text, 'fuzz.rules', x86);
  if (!result.ok) {
    for (const error of result.errors) expect(error.message).toMatch(/^fuzz\.rules:\d+: \S/);
    return;
  }
  for (const command of result.commands) {
    if (command.kind !== 'add_rule' && command.kind !== 'delete_rule') continue;
    const bytes = encodeRule(command.rule);
    const printed = formatRule(decodeRule(bytes), x86);
    const again = encodeRule(compileRule(printed, x86));
    expect(Buffer.from(again).equals(Buffer.from(bytes)), `${text}\n  printed as ${printed}`).toBe(true);
    expect(formatRule(decodeRule(again), x86)).toBe(printed);
  }
}

/** Decodes or refuses with RuleDecodeError; what decodes encodes back to a rule that decodes the same. */
function decodesOrRefuses(bytes: Uint8Array): void {
  let rule;
  try {
    rule = decodeRule(bytes);
  } catch (error) {
    if (error instanceof RuleDecodeError) return;
    throw error;
  }
  expect(decodeRule(encodeRule(rule))).toEqual(rule);
}

/** Real kernel bytes of a generated rule, with a few bytes flipped, or cut, or with junk after. */
const ruleBytes = fc
  .tuple(exitRule, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.constantFrom('flip', 'cut', 'grow'), fc.nat())
  .map(([text, flips, how, n]) => {
    let bytes: Buffer;
    try {
      bytes = Buffer.from(encodeRule(compileRule(text, x86)));
    } catch {
      bytes = Buffer.alloc(RULE_DATA_LAYOUT.buflen + 4);
    }
    for (const [at, value] of flips) bytes[at % bytes.length] = value;
    if (how === 'cut') return bytes.subarray(0, n % (bytes.length + 1));
    if (how === 'grow') return Buffer.concat([bytes, Buffer.alloc(n % 64, 0xab)]);
    return bytes;
  });

/** A file with a bad line loads nothing, and its errors name exactly the bad lines. */
function refusesExactlyTheBadLines(text: string): void {
  const result = parseRulesFile(text, 'fuzz.rules', x86);
  const bad = text.split('\n').flatMap((line, i) => (parseRulesFile(line, 'fuzz.rules', x86).ok ? [] : [i + 1]));
  if (bad.length === 0) {
    expect(result.ok).toBe(true);
    return;
  }
  expect(result.ok).toBe(false);
  if (!result.ok) expect([...new Set(result.errors.map((e) => e.line))]).toEqual(bad);
}

describe('rule compiler properties (fast-check)', () => {
  it('a rule built from the auditctl grammar compiles or is refused naming its line; compiled, it round-trips', () => {
    let compiled = 0;
    assertProperty('rules-grammar', fc.oneof(exitRule, watchRule), textCodec, (text) => {
      compilesOrNamesTheLine(text);
      if (parseRulesFile(text, 'fuzz.rules', x86).ok) compiled++;
    }, 400);
    // Most generated rules are valid: the round trip is really exercised.
    expect(compiled).toBeGreaterThan(200);
  }, propertyTimeout);

  it('any text, or a corpus line with a few characters changed, compiles or is refused naming its line', () => {
    assertProperty('rules-text', fc.oneof(mutatedLine, fc.string({ maxLength: 200, unit: 'binary' })), textCodec, compilesOrNamesTheLine, 600);
  }, propertyTimeout);

  it('a whole file of generated and mutated lines loads nothing when any line is bad, and names every bad line', () => {
    const file = fc.array(fc.oneof(exitRule, mutatedLine), { minLength: 1, maxLength: 12 }).map((lines) => lines.join('\n'));
    assertProperty('rules-file', file, textCodec, refusesExactlyTheBadLines, 200);
  }, propertyTimeout);

  it('any bytes decode to a rule that encodes back the same, or are refused with RuleDecodeError', () => {
    assertProperty('rules-bytes', fc.oneof(ruleBytes, fc.uint8Array({ maxLength: 1200 })), bytesCodec, decodesOrRefuses, 600);
  }, propertyTimeout);

  it('keeps every saved counterexample fixed (test/fixtures/fuzz/rules-*)', () => {
    for (const name of ['rules-grammar', 'rules-text']) {
      for (const [file, text] of savedCounterexamples(name, textCodec)) expect(() => compilesOrNamesTheLine(text), `${name}/${file}`).not.toThrow();
    }
    for (const [file, text] of savedCounterexamples('rules-file', textCodec)) expect(() => refusesExactlyTheBadLines(text), `rules-file/${file}`).not.toThrow();
    for (const [file, bytes] of savedCounterexamples('rules-bytes', bytesCodec)) expect(() => decodesOrRefuses(bytes), `rules-bytes/${file}`).not.toThrow();
  }, propertyTimeout);
});
