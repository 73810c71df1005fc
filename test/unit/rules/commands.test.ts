import { describe, expect, it } from 'vitest';
import { parseRulesFile, type Command } from '../../../src/rules/index.js';
import { x86 } from './context.js';

function commands(text: string): Command[] {
  const result = parseRulesFile(text, 'test.rules', x86);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.commands;
}

function kinds(text: string): unknown[] {
  return commands(text).map(({ source: _source, ...rest }) => ('rule' in rest ? { kind: rest.kind } : rest));
}

describe('rules file commands', () => {
  it('parses every control command kind', () => {
    expect(
      kinds(['-D', '-D -k auditflow', '-b 8192', '-f 2', '-r 100', '--backlog_wait_time 60000', '--backlog_wait_time=0', '--reset-lost', '--loginuid-immutable', '-e 0', '-e 1', '-i', '-c'].join('\n')),
    ).toEqual([
      { kind: 'delete_all' },
      { kind: 'delete_all', key: 'auditflow' },
      { kind: 'set_backlog_limit', value: 8192 },
      { kind: 'set_failure', value: 2 },
      { kind: 'set_rate_limit', value: 100 },
      { kind: 'set_backlog_wait_time', value: 60000 },
      { kind: 'set_backlog_wait_time', value: 0 },
      { kind: 'reset_lost' },
      { kind: 'set_loginuid_immutable' },
      { kind: 'set_enabled', value: 0 },
      { kind: 'set_enabled', value: 1 },
      { kind: 'ignore_errors' },
      { kind: 'continue_on_error' },
    ]);
  });

  it('reports -e 2 as its own command so that applying it needs an explicit choice', () => {
    expect(kinds('-e 2')).toEqual([{ kind: 'set_immutable' }]);
  });

  it('parses add, prepend, delete and watch commands', () => {
    const [add, prepend, del, watch, unwatch] = commands(
      ['-a always,exit -S open', '-A exit,never -S open', '-d always,exit -S open', '-w /etc/passwd', '-W /etc/passwd'].join('\n'),
    );
    expect(add).toMatchObject({ kind: 'add_rule', rule: { list: 'exit', action: 'always', prepend: false } });
    expect(prepend).toMatchObject({ kind: 'add_rule', rule: { list: 'exit', action: 'never', prepend: true } });
    expect(del).toMatchObject({ kind: 'delete_rule', rule: { list: 'exit', action: 'always' } });
    expect(watch).toMatchObject({ kind: 'add_rule', rule: { syscalls: 'all' } });
    expect(unwatch).toMatchObject({ kind: 'delete_rule', rule: { syscalls: 'all' } });
  });

  it('accepts list and action in either order', () => {
    const [a, b] = commands('-a exit,always -S open\n-a always,exit -S open');
    expect(a).toEqual({ ...b, source: a?.source });
  });

  it('knows the exit, task, user, exclude and filesystem lists', () => {
    const lists = commands(
      ['-a always,exit -S open', '-a never,task', '-a always,user -F uid=0', '-a always,exclude -F msgtype=CWD', '-a never,filesystem -F fstype=tracefs'].join('\n'),
    ).map((c) => (c.kind === 'add_rule' ? c.rule.list : undefined));
    expect(lists).toEqual(['exit', 'task', 'user', 'exclude', 'filesystem']);
  });

  it('skips comments and blank lines and keeps line numbers', () => {
    const result = commands('# comment\n\n   \n\t# indented comment\n-b 320\n');
    expect(result).toEqual([{ kind: 'set_backlog_limit', value: 320, source: { file: 'test.rules', line: 5 } }]);
  });

  it('reads option values attached to the flag and escaped spaces', () => {
    const [rule] = commands('-aalways,exit -Sopen -Fpath=/tmp/with\\ space -kkey');
    expect(rule).toMatchObject({ rule: { fields: [{ field: 'path', value: '/tmp/with space' }, { field: 'key', value: 'key' }] } });
  });

  it('gives every -S rule without a list an all-syscall mask only on non-task lists', () => {
    const [exit, user, task] = commands('-a always,exit -F uid=0\n-a always,user -F uid=0\n-a never,task -F uid=0');
    expect(exit).toMatchObject({ rule: { syscalls: 'all' } });
    expect(user).toMatchObject({ rule: { syscalls: 'all' } });
    expect(task).toMatchObject({ rule: { syscalls: [] } });
  });
});
