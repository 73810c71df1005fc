import { describe, expect, it } from 'vitest';
import { compileRule, mapUserDatabase, type RuleField } from '../../../src/rules/index.js';
import { x86 } from './context.js';

function fields(text: string): readonly RuleField[] {
  return compileRule(text, x86).fields;
}
function only(text: string): RuleField {
  return fields(text)[0] as RuleField;
}

describe('-F operators', () => {
  it.each([
    ['=', 'a0=5'],
    ['!=', 'a0!=5'],
    ['<', 'a0<5'],
    ['>', 'a0>5'],
    ['<=', 'a0<=5'],
    ['>=', 'a0>=5'],
    ['&', 'a0&5'],
    ['&=', 'a0&=5'],
  ])('reads %s', (op, pair) => {
    expect(only(`-a always,exit -S open -F ${pair}`)).toEqual({ kind: 'number', field: 'a0', op, value: 5 });
  });

  it('refuses bit operators on uid fields, as the kernel does', () => {
    expect(() => compileRule('-a always,exit -S open -F uid&1', x86)).toThrow('operator & is not valid for field uid');
  });

  it('allows only = and != on arch, exe, inode and string fields', () => {
    for (const pair of ['arch<b64', 'exe>/bin/sh', 'inode>=5', 'key<x', 'path>/etc']) {
      expect(() => compileRule(`-a always,exit -F ${pair}`, x86)).toThrow(/operator .* is not valid/);
    }
    expect(only('-a always,exit -F exe!=/bin/sh')).toMatchObject({ field: 'exe', op: '!=' });
  });

  it('allows only = on perm', () => {
    expect(() => compileRule('-a always,exit -S open -F perm!=r', x86)).toThrow('operator != is not valid for field perm');
  });
});

describe('-F values', () => {
  it('reads numbers in decimal, hex and octal, negative ones as the kernel u32', () => {
    expect(fields('-a always,exit -S open -F a0=10 -F a1=0x10 -F a2=010 -F a3=-1').map((f) => (f.kind === 'number' ? f.value : 0))).toEqual([
      10, 16, 8, 0xffffffff,
    ]);
  });

  it('resolves user and group names through the given database', () => {
    expect(fields('-a always,exit -S open -F uid=alice -F euid=root -F gid=wheel -F egid=www-data -F obj_uid=alice -F obj_gid=wheel')).toEqual([
      { kind: 'number', field: 'uid', op: '=', value: 1000 },
      { kind: 'number', field: 'euid', op: '=', value: 0 },
      { kind: 'number', field: 'gid', op: '=', value: 10 },
      { kind: 'number', field: 'egid', op: '=', value: 33 },
      { kind: 'number', field: 'obj_uid', op: '=', value: 1000 },
      { kind: 'number', field: 'obj_gid', op: '=', value: 10 },
    ]);
  });

  it('uses a user database passed in, not /etc/passwd', () => {
    const users = mapUserDatabase({ svc: 4242 }, {});
    expect(compileRule('-a always,exit -S open -F auid=svc', { ...x86, users }).fields[0]).toMatchObject({ value: 4242 });
    expect(() => compileRule('-a always,exit -S open -F auid=alice', { ...x86, users })).toThrow('unknown user "alice"');
  });

  it('reads auid=unset and loginuid as auid', () => {
    expect(only('-a always,exit -S open -F loginuid!=unset')).toEqual({ kind: 'number', field: 'auid', op: '!=', value: 0xffffffff });
  });

  it('reads errno names for exit, negative and positive', () => {
    expect(fields('-a always,exit -S open -F exit=-EACCES -F exit!=EPERM -F exit=-13')).toEqual([
      { kind: 'number', field: 'exit', op: '=', value: -13 >>> 0 },
      { kind: 'number', field: 'exit', op: '!=', value: 1 },
      { kind: 'number', field: 'exit', op: '=', value: -13 >>> 0 },
    ]);
  });

  it('reads arch names: b64, b32, machine names and numbers', () => {
    const arch = (text: string, machine = x86.machine): number =>
      (compileRule(`-a always,exit -F arch=${text}`, { ...x86, machine }).fields[0] as RuleField & { kind: 'number' }).value;
    expect(arch('b64')).toBe(0xc000003e);
    expect(arch('b32')).toBe(0x40000003);
    expect(arch('x86_64')).toBe(0xc000003e);
    expect(arch('i686')).toBe(0x40000003);
    expect(arch('0xc000003e')).toBe(0xc000003e);
    expect(arch('b64', 'aarch64')).toBe(0xc00000b7);
    expect(arch('b32', 'aarch64')).toBe(0x40000028);
    expect(arch('armv7l')).toBe(0x40000028);
    expect(() => arch('b64', 'i386')).toThrow('arch b64 is not supported by a i386 machine');
    expect(() => arch('sparc')).toThrow('unknown arch "sparc"');
  });

  it('reads message type names on exclude and user lists only', () => {
    expect(only('-a always,exclude -F msgtype=PROCTITLE')).toMatchObject({ field: 'msgtype', value: 1327 });
    expect(only('-a never,user -F msgtype=USER_LOGIN')).toMatchObject({ value: 1112 });
    expect(() => compileRule('-a always,exit -F msgtype=CWD', x86)).toThrow('field msgtype can only be used on the exclude or user list');
  });

  it('reads perm letters in any order and case', () => {
    expect(only('-a always,exit -F perm=AxWr')).toMatchObject({ field: 'perm', value: 15 });
    expect(() => compileRule('-a always,exit -F perm=rq', x86)).toThrow('may only contain r, w, x and a');
  });

  it('reads file types and file system types by name', () => {
    expect(only('-a always,exit -F filetype=dir')).toMatchObject({ value: 0o040000 });
    expect(only('-a never,filesystem -F fstype=debugfs')).toMatchObject({ value: 0x64626720 });
  });

  it('checks saddr_fam against AF_MAX', () => {
    expect(only('-a always,exit -S connect -F saddr_fam=10')).toMatchObject({ field: 'saddr_fam', value: 10 });
    expect(() => compileRule('-a always,exit -S connect -F saddr_fam=46', x86)).toThrow('not an address family');
  });

  it('keeps string fields as text', () => {
    expect(fields('-a always,exit -S open -F dir=/etc -F exe=/usr/bin/ssh -F subj_type=sshd_t -F obj_lev_high=s0')).toEqual([
      { kind: 'string', field: 'dir', op: '=', value: '/etc' },
      { kind: 'string', field: 'exe', op: '=', value: '/usr/bin/ssh' },
      { kind: 'string', field: 'subj_type', op: '=', value: 'sshd_t' },
      { kind: 'string', field: 'obj_lev_high', op: '=', value: 's0' },
    ]);
    expect(fields('-a always,exit -S open -F path=/etc/passwd')).toEqual([{ kind: 'string', field: 'path', op: '=', value: '/etc/passwd' }]);
  });

  it('refuses the path and dir fields the kernel refuses (audit_to_watch, audit_make_tree)', () => {
    expect(() => compileRule('-a always,exit -S open -F path!=/etc/passwd', x86)).toThrow('operator != is not valid for field path');
    expect(() => compileRule('-a always,exit -S open -F dir!=/etc', x86)).toThrow('operator != is not valid for field dir');
    expect(() => compileRule('-a always,exit -S open -F path=etc/passwd', x86)).toThrow('the path "etc/passwd" must start with /');
    expect(() => compileRule('-a always,exit -S open -F dir=etc', x86)).toThrow('the dir "etc" must start with /');
    expect(() => compileRule('-a always,exit -S open -F path=/etc/', x86)).toThrow('must not end with /');
    expect(() => compileRule('-a always,exit -S open -F dir=/etc -F path=/etc/passwd', x86)).toThrow('a rule watches one path or dir');
    expect(() => compileRule('-w /etc/passwd -F path=/etc/shadow', x86)).toThrow('a rule watches one path or dir');
    expect(fields('-a always,exit -S open -F dir=/etc/')).toEqual([{ kind: 'string', field: 'dir', op: '=', value: '/etc/' }]);
  });

  it('reads every field kind of audit.h', () => {
    const names = [
      'pid=1', 'uid=0', 'euid=0', 'suid=0', 'fsuid=0', 'gid=0', 'egid=0', 'sgid=0', 'fsgid=0', 'auid=0', 'pers=0',
      'subj_user=u', 'subj_role=r', 'subj_type=t', 'subj_sen=s0', 'subj_clr=s0', 'ppid=1', 'obj_user=u', 'obj_role=r',
      'obj_type=t', 'obj_lev_low=s0', 'obj_lev_high=s0', 'sessionid=1', 'devmajor=8', 'devminor=1', 'inode=2',
      'exit=0', 'success=1', 'path=/p', 'perm=r', 'filetype=file', 'obj_uid=0', 'obj_gid=0', 'exe=/e',
      'saddr_fam=2', 'a0=0', 'a1=0', 'a2=0', 'a3=0', 'key=k',
    ];
    const rule = compileRule(`-a always,exit -F arch=b64 -S all ${names.map((n) => `-F ${n}`).join(' ')}`, x86);
    expect(rule.fields).toHaveLength(names.length + 1);
    // A rule watches one path: dir= goes in a rule of its own.
    expect(only('-a always,exit -S all -F dir=/d')).toMatchObject({ field: 'dir', value: '/d' });
  });
});

describe('-C field comparisons', () => {
  it('maps both orders of a pair to the same AUDIT_COMPARE value', () => {
    expect(only('-a always,exit -S execve -C uid!=euid')).toEqual({ kind: 'compare', op: '!=', value: 11 });
    expect(only('-a always,exit -S execve -C euid!=uid')).toEqual({ kind: 'compare', op: '!=', value: 11 });
    expect(only('-a always,exit -S all -C auid=obj_uid')).toEqual({ kind: 'compare', op: '=', value: 5 });
  });

  it('refuses pairs the kernel cannot compare and lists other than exit', () => {
    expect(() => compileRule('-a always,exit -S all -C uid=gid', x86)).toThrow('-C cannot compare uid with gid');
    expect(() => compileRule('-a never,task -C uid=euid', x86)).toThrow('-C can only be used on the exit list');
  });
});

describe('keys', () => {
  it('joins several keys with the kernel separator \\x01', () => {
    expect(fields('-a always,exit -S open -k one -k two').at(-1)).toEqual({ kind: 'string', field: 'key', op: '=', value: 'one\x01two' });
    expect(fields('-a always,exit -S open -F key=one -F uid=0 -F key=two').map((f) => (f.kind === 'string' ? f.value : f.kind))).toEqual([
      'one\x01two',
      'number',
    ]);
  });

  it('allows 256 bytes of keys and not one more', () => {
    const key = 'k'.repeat(127);
    expect(() => compileRule(`-a always,exit -S open -k ${key} -k ${key}x`, x86)).not.toThrow();
    expect(() => compileRule(`-a always,exit -S open -k ${key} -k ${key}xy`, x86)).toThrow('key is longer than 256 bytes');
  });
});
