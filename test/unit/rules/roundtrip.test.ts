import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileRule, decodeRule, encodeRule, formatRule, parseRulesFile, type CompileOptions, type Rule } from '../../../src/rules/index.js';
import { arm64, x86 } from './context.js';

const corpus = readFileSync(new URL('./fixtures/corpus.rules', import.meta.url), 'utf8');
const network = readFileSync(new URL('../../../rules/network.rules', import.meta.url), 'utf8');

function rules(text: string, file: string, options: Required<CompileOptions>): Array<{ line: number; rule: Rule }> {
  const result = parseRulesFile(text, file, options);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.commands.flatMap((c) => (c.kind === 'add_rule' || c.kind === 'delete_rule' ? [{ line: c.source.line, rule: c.rule }] : []));
}

// text -> bytes -> Rule -> text -> bytes must give the same bytes, and the printed text
// must be a fixed point.
function roundTrip(rule: Rule, options: Required<CompileOptions>): void {
  const bytes = encodeRule(rule);
  const text = formatRule(decodeRule(bytes), options);
  const again = encodeRule(compileRule(text, options));
  expect(again.equals(bytes), text).toBe(true);
  expect(formatRule(decodeRule(again), options)).toBe(text);
}

describe('round trip', () => {
  const corpusRules = rules(corpus, 'corpus.rules', x86);

  it('covers a large corpus', () => {
    expect(corpusRules.length).toBeGreaterThan(80);
  });

  it.each(corpusRules.map(({ line, rule }) => [line, rule] as const))('corpus.rules line %i', (_line, rule) => {
    roundTrip(rule, x86);
  });

  it.each([
    ['x86_64', x86],
    ['aarch64', arm64],
  ] as const)('rules/network.rules on %s', (_machine, options) => {
    const compiled = rules(network, 'network.rules', options);
    expect(compiled).toHaveLength(30);
    for (const { rule } of compiled) roundTrip(rule, options);
  });

  it('prints rules the way auditctl -l does', () => {
    const print = (text: string): string => formatRule(compileRule(text, x86), x86);
    expect(print('-a exit,always -F arch=b64 -S sendto,connect -F saddr_fam=2 -k a -k b')).toBe(
      '-a always,exit -F arch=b64 -S connect,sendto -F saddr_fam=2 -F key=a -F key=b',
    );
    expect(print('-w /etc/sudoers.d/ -p wa -k scope')).toBe('-w /etc/sudoers.d -p wa -k scope');
    expect(print('-w /etc/passwd')).toBe('-w /etc/passwd -p rwxa');
    expect(print('-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k priv')).toBe(
      '-a always,exit -S all -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=-1 -F key=priv',
    );
    expect(print('-a always,exit -F arch=b32 -S clock_settime -F a0=0 -F exit=-EPERM -k t')).toBe(
      '-a always,exit -F arch=b32 -S clock_settime -F a0=0x0 -F exit=-EPERM -F key=t',
    );
    expect(print('-a always,exclude -F msgtype=1320')).toBe('-a always,exclude -F msgtype=EOE');
    expect(print('-a always,exit -S execve -C euid!=uid')).toBe('-a always,exit -S execve -C uid!=euid');
    expect(print('-a always,exit -F arch=b64 -S 400,connect')).toBe('-a always,exit -F arch=b64 -S connect,400');
    expect(print('-a always,exit -S open -F filetype=file -k f')).toBe('-a always,exit -S open -F filetype=32768 -F key=f');
    expect(print('-a always,exit -S open -F filetype=32768 -k f')).toBe('-a always,exit -S open -F filetype=32768 -F key=f');
    expect(print('-a always,exit -S execve -F exe!=/usr/bin/curl -k f')).toBe('-a always,exit -S execve -F exe!=/usr/bin/curl -F key=f');
  });

  it('prints another machine\'s arch by name so it reads back as the same rule', () => {
    const rule = compileRule('-a always,exit -F arch=aarch64 -S connect -k c', x86);
    expect(formatRule(rule, x86)).toBe('-a always,exit -F arch=aarch64 -S connect -F key=c');
    expect(formatRule(rule, arm64)).toBe('-a always,exit -F arch=b64 -S connect -F key=c');
  });
});
