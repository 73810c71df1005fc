import { describe, expect, it } from 'vitest';
import { archInfo, compileRule, parseRulesFile } from '../../../src/rules/index.js';
import { arm64, x86 } from './context.js';

const syscalls = (text: string, options = x86) => compileRule(text, options).syscalls;

describe('syscall tables', () => {
  it('numbers the network syscalls as the kernel headers do', () => {
    const nr = (machine: 'x86_64' | 'i386' | 'aarch64' | 'arm', name: string) => archInfo(machine).table.byName.get(name);
    expect(['socket', 'connect', 'accept', 'sendto', 'sendmsg', 'bind', 'accept4'].map((n) => nr('x86_64', n))).toEqual([41, 42, 43, 44, 46, 49, 288]);
    expect(['socketcall', 'socket', 'bind', 'connect', 'accept4', 'sendto', 'sendmsg'].map((n) => nr('i386', n))).toEqual([102, 359, 361, 362, 364, 369, 370]);
    expect(['socket', 'bind', 'connect', 'accept', 'sendto', 'sendmsg', 'accept4'].map((n) => nr('aarch64', n))).toEqual([198, 200, 203, 202, 206, 211, 242]);
    expect(['socket', 'bind', 'connect', 'accept', 'sendto', 'sendmsg', 'accept4'].map((n) => nr('arm', n))).toEqual([281, 282, 283, 285, 290, 296, 366]);
    expect(nr('i386', 'accept')).toBeUndefined();
    expect(nr('aarch64', 'open')).toBeUndefined();
  });
});

describe('-S', () => {
  it('reads names, numbers, comma lists and repeated -S into one sorted mask', () => {
    expect(syscalls('-a always,exit -F arch=b64 -S sendto,connect -S 41 -S bind')).toEqual([41, 42, 44, 49]);
  });

  it('reads all', () => {
    expect(syscalls('-a always,exit -S all')).toBe('all');
    expect(syscalls('-a always,exit -S open,all')).toBe('all');
  });

  it('looks names up in the table of the rule arch', () => {
    expect(syscalls('-a always,exit -F arch=b32 -S socketcall,connect')).toEqual([102, 362]);
    expect(syscalls('-a always,exit -F arch=b64 -S connect', arm64)).toEqual([203]);
    expect(syscalls('-a always,exit -F arch=b32 -S connect', arm64)).toEqual([283]);
  });

  it('uses the machine table when the rule has no arch, as auditctl does', () => {
    expect(syscalls('-a always,exit -S connect')).toEqual([42]);
    expect(syscalls('-a always,exit -S connect', arm64)).toEqual([203]);
    expect(compileRule('-a always,exit -S connect', x86).fields).toEqual([]);
  });

  it('refuses a syscall that does not exist on the rule arch', () => {
    expect(() => compileRule('-a always,exit -F arch=b64 -S socketcall', x86)).toThrow('unknown syscall "socketcall" for arch b64');
    expect(() => compileRule('-a always,exit -F arch=b32 -S accept', x86)).toThrow('unknown syscall "accept" for arch b32');
    expect(() => compileRule('-a always,exit -S open', arm64)).toThrow('unknown syscall "open" for arch b64');
  });

  it('accepts numbers that are not in the table but fit the mask', () => {
    expect(syscalls('-a always,exit -F arch=b64 -S 2047')).toEqual([2047]);
    expect(() => compileRule('-a always,exit -S 2048', x86)).toThrow('syscall number "2048" is out of range');
  });

  it('refuses -F arch after -S', () => {
    expect(() => compileRule('-a always,exit -S open -F arch=b64', x86)).toThrow('-F arch must come before -S');
  });

  it('refuses syscalls on lists that take none', () => {
    for (const list of ['task', 'user', 'exclude', 'filesystem']) {
      expect(() => compileRule(`-a always,${list} -S open`, x86)).toThrow(`syscalls cannot be audited on the ${list} list`);
    }
    expect(() => compileRule('-S open -a always,task', x86)).toThrow('syscalls cannot be audited on the task list');
  });

  it('warns, as auditctl does, when a rule without arch means different syscalls for b32', () => {
    const result = parseRulesFile('-a always,exit -S open\n-a always,exit -S chmod -F arch=b64\n-a always,exit -F arch=b64 -S open', 'w.rules', x86);
    expect(result.warnings).toEqual([{ file: 'w.rules', line: 1, message: '32/64 bit syscall mismatch for "open": give -F arch=b64 or -F arch=b32' }]);
  });
});

describe('watches', () => {
  it('turns -w into an exit rule on every syscall with path, perm and key', () => {
    expect(compileRule('-w /etc/passwd -p wa -k identity', x86)).toEqual({
      list: 'exit',
      action: 'always',
      prepend: false,
      syscalls: 'all',
      fields: [
        { kind: 'string', field: 'path', op: '=', value: '/etc/passwd' },
        { kind: 'number', field: 'perm', op: '=', value: 10 },
        { kind: 'string', field: 'key', op: '=', value: 'identity' },
      ],
    });
  });

  it('watches a directory with dir= and trims its trailing slashes', () => {
    expect(compileRule('-w /etc/sudoers.d//', x86).fields[0]).toEqual({ kind: 'string', field: 'dir', op: '=', value: '/etc/sudoers.d' });
  });

  it('defaults to all permissions', () => {
    expect(compileRule('-w /etc/shadow', x86).fields[1]).toEqual({ kind: 'number', field: 'perm', op: '=', value: 15 });
  });

  it('refuses relative paths and mixing -w with -a', () => {
    expect(() => compileRule('-w etc/passwd', x86)).toThrow('must start with /');
    expect(() => compileRule('-a always,exit -w /etc/passwd', x86)).toThrow('-w cannot be combined with -a, -A or -d');
    expect(() => compileRule('-a always,exit -S open -p r', x86)).toThrow('-p needs a watch (-w) given before it');
  });
});
