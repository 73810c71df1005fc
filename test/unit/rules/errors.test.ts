import { describe, expect, it } from 'vitest';
import { compileRule, parseRulesFile, RuleSyntaxError } from '../../../src/rules/index.js';
import { x86 } from './context.js';

function errorOf(line: string): RuleSyntaxError {
  const result = parseRulesFile(`# header\n${line}\n`, 'network.rules', x86);
  if (result.ok) throw new Error(`expected ${line} to fail`);
  expect(result.errors).toHaveLength(1);
  return result.errors[0] as RuleSyntaxError;
}

describe('rule errors', () => {
  it('name the file, the line and the token', () => {
    const error = errorOf('-a always,exit -F arch=b64 -S conect -k auditflow');
    expect(error.message).toBe('network.rules:2: unknown syscall "conect" for arch b64');
    expect(error).toMatchObject({ file: 'network.rules', line: 2, token: 'conect', reason: 'unknown syscall "conect" for arch b64' });
  });

  it('load nothing from a bad file and report every bad line', () => {
    const result = parseRulesFile('-b 320\n-a always,exit -S bogus\n-w /etc/passwd\n-a always,exit -F colour=red\n', 'x.rules', x86);
    expect(result.ok).toBe(false);
    expect('commands' in result).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      'x.rules:2: unknown syscall "bogus" for arch b64',
      'x.rules:4: unknown field "colour"',
    ]);
  });

  it.each([
    ['-a always,exit -F arch=b32 -S socket,bogus', 'unknown syscall "bogus" for arch b32', 'bogus'],
    ['-a always,exit -F arch=b64 -S socketcall', 'unknown syscall "socketcall" for arch b64', 'socketcall'],
    ['-a always,exit -S open -F colour=red', 'unknown field "colour"', '-F colour=red'],
    ['-a always,exit -S open -F uid&=1', 'operator &= is not valid for field uid', '-F uid&=1'],
    ['-a always,exit -S open -F a0=4294967296', 'value "4294967296" is out of range for field a0', '-F a0=4294967296'],
    ['-a always,exit -S open -F pid=abc', 'field pid needs a number, not "abc"', '-F pid=abc'],
    ['-a always,exit -S open -F uid=nobody-here', 'unknown user "nobody-here"', '-F uid=nobody-here'],
    ['-a always,exit -S open -F gid=nogroup', 'unknown group "nogroup"', '-F gid=nogroup'],
    ['-a always,exit -S open -F exit=-ENOPE', 'unknown errno "-ENOPE"', '-F exit=-ENOPE'],
    ['-a always,exclude -F msgtype=NOPE', 'unknown message type "NOPE"', '-F msgtype=NOPE'],
    ['-a always,exit -F filetype=pipe', 'unknown file type "pipe"', '-F filetype=pipe'],
    ['-a always,exit -S open -F uid', '-F "uid" has no operator', '-F uid'],
    ['-a always,exit -S open -F uid=', '-F "uid=" has no value', '-F uid='],
    ['-a always,exit -S open -F =0', '-F "=0" has no field name', '-F =0'],
    ['-F uid=0 -a always,exit', 'the list (-a, -A or -d) must come before -F', '-F uid=0'],
    ['-a always,exit -S open -F arch=b64', '-F arch must come before -S', '-F arch=b64'],
    ['-a always,task -F exit=0', 'field exit can only be used on the exit or io_uring list', '-F exit=0'],
    ['-a always,exclude -F ppid=1', 'field ppid cannot be used on the exclude list', '-F ppid=1'],
    ['-a never,filesystem -F uid=0', 'field uid cannot be used on the filesystem list', '-F uid=0'],
    ['-a always,exit -k lonely', '-k needs a watch or a syscall given before it', '-k lonely'],
    ['-a always,exit -F key=lonely', 'a key needs a watch, syscall, exe or fstype given before it', '-F key=lonely'],
    ['-a always,exit -S open -k ids-bad', 'ids key "ids-bad" must look like ids-<type>-<severity>', '-k ids-bad'],
    ['-a always,exit -S open -a always,exit', 'only one -a, -A or -d per rule', '-a always,exit'],
    ['-a always,possible -S open', 'the action "possible" is deprecated and refused by the kernel', '-a always,possible'],
    ['-a always,entry -S open', 'the entry list is deprecated: use exit', '-a always,entry'],
    ['-a exit -S open', '"exit" must be list,action (for example always,exit)', '-a exit'],
    ['-a exit,exit -S open', '"exit,exit" names two lists', '-a exit,exit'],
    ['-S open', 'no list given: use -a, -A, -d or -w', undefined],
    ['-e 3', 'enabled must be 0, 1 or 2, not "3"', '-e 3'],
    ['-f panic', 'failure mode must be 0, 1 or 2, not "panic"', '-f panic'],
    ['-b lots', 'backlog limit must be a number, not "lots"', '-b lots'],
    ['-r 99999999999', 'rate limit "99999999999" is not a 32-bit unsigned number', '-r 99999999999'],
    ['-D -b 1', '-D takes no other option than -k key', '-D'],
    ['-l', 'option -l is not allowed in a rules file', '-l'],
    ['-R other.rules', 'option -R is not allowed in a rules file', '-R other.rules'],
    ['-x', 'unknown option "-x"', '-x'],
    ['--nope', 'unknown option "--nope"', '--nope'],
    ['-a always,exit -S open trailing', 'unexpected "trailing": every word must belong to an option', 'trailing'],
    ['-k', 'option -k needs a value', '-k'],
  ])('%s -> %s', (line, reason, token) => {
    const error = errorOf(line);
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(`network.rules:2: ${reason}`);
    expect(error.token).toBe(token);
  });

  it('refuses keys longer than AUDIT_MAX_KEY_LEN', () => {
    expect(errorOf(`-a always,exit -S open -k ${'k'.repeat(257)}`).reason).toBe('key is longer than 256 bytes (AUDIT_MAX_KEY_LEN)');
  });

  it('refuses a rule with more fields than auditctl sends', () => {
    const many = Array.from({ length: 64 }, (_, i) => `-F a0!=${i}`).join(' ');
    expect(errorOf(`-a always,exit -S open ${many}`).reason).toBe('too many fields: a rule holds at most 63');
  });

  it('refuses a rule too big for one netlink request', () => {
    const path = `/${'p'.repeat(4000)}`;
    expect(errorOf(`-a always,exit -S open -F path=${path} -F exe=${path}`).reason).toMatch(/^rule is too big/);
  });

  it('refuses a string value longer than PATH_MAX', () => {
    expect(errorOf(`-a always,exit -S open -F exe=/${'e'.repeat(4096)}`).reason).toBe('value of exe is longer than 4096 bytes');
  });

  it('compileRule throws the same errors with <rule> as the file', () => {
    expect(() => compileRule('-a always,exit -S conect', x86)).toThrow('<rule>:1: unknown syscall "conect" for arch b64');
    expect(() => compileRule('-b 320', x86)).toThrow('<rule>:1: expected exactly one rule (-a, -A, -d, -w or -W)');
  });
});
