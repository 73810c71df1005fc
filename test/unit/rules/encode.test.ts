import { describe, expect, it } from 'vitest';
import { compileRule, decodeRule, encodeRule, RuleDecodeError, RULE_DATA_LAYOUT as L } from '../../../src/rules/index.js';
import { x86 } from './context.js';

// struct audit_rule_data, include/uapi/linux/audit.h: u32 flags, action, field_count,
// mask[64], fields[64], values[64], fieldflags[64], buflen; char buf[].
const u32 = (buf: Buffer, offset: number): number => buf.readUInt32LE(offset);
const word = (buf: Buffer, base: number, i: number): number => u32(buf, base + 4 * i);

describe('audit_rule_data layout', () => {
  it('puts the header arrays where the struct has them', () => {
    expect(L).toEqual({ flags: 0, action: 4, fieldCount: 8, mask: 12, fields: 268, values: 524, fieldflags: 780, buflen: 1036, buf: 1040 });
  });

  it('encodes a syscall rule with arch, a0 and a key field by field', () => {
    const buf = encodeRule(compileRule('-a always,exit -F arch=b64 -S connect -F a0=3 -k net', x86));
    expect(buf.length).toBe(1040 + 3);
    expect(u32(buf, L.flags)).toBe(0x04); // AUDIT_FILTER_EXIT
    expect(u32(buf, L.action)).toBe(2); // AUDIT_ALWAYS
    expect(u32(buf, L.fieldCount)).toBe(3);
    // connect is 42 on x86_64: AUDIT_WORD(42) = 1, AUDIT_BIT(42) = 1 << 10
    expect(Array.from({ length: 64 }, (_, i) => word(buf, L.mask, i))).toEqual(Array.from({ length: 64 }, (_, i) => (i === 1 ? 1 << 10 : 0)));
    expect([0, 1, 2].map((i) => word(buf, L.fields, i))).toEqual([11, 200, 210]); // AUDIT_ARCH, AUDIT_ARG0, AUDIT_FILTERKEY
    expect([0, 1, 2].map((i) => word(buf, L.values, i))).toEqual([0xc000003e, 3, 3]); // AUDIT_ARCH_X86_64, 3, strlen("net")
    expect([0, 1, 2].map((i) => word(buf, L.fieldflags, i))).toEqual([0x40000000, 0x40000000, 0x40000000]); // AUDIT_EQUAL
    expect(word(buf, L.fields, 3)).toBe(0);
    expect(u32(buf, L.buflen)).toBe(3);
    expect(buf.subarray(L.buf).toString()).toBe('net');
  });

  it('encodes a watch as auditctl does: all syscalls, path, perm, key', () => {
    const buf = encodeRule(compileRule('-w /etc/shadow -p wa -k identity', x86));
    expect(Array.from({ length: 64 }, (_, i) => word(buf, L.mask, i)).every((w) => w === 0xffffffff)).toBe(true);
    expect([0, 1, 2].map((i) => word(buf, L.fields, i))).toEqual([105, 106, 210]); // AUDIT_WATCH, AUDIT_PERM, AUDIT_FILTERKEY
    expect([0, 1, 2].map((i) => word(buf, L.values, i))).toEqual([11, 2 | 8, 8]); // strlen, AUDIT_PERM_WRITE|AUDIT_PERM_ATTR, strlen
    expect(u32(buf, L.buflen)).toBe(19);
    expect(buf.subarray(L.buf).toString()).toBe('/etc/shadowidentity');
  });

  it('encodes every operator with its AUDIT_* flag', () => {
    const ops: Array<[string, number]> = [
      ['=', 0x40000000], ['!=', 0x30000000], ['<', 0x10000000], ['>', 0x20000000],
      ['<=', 0x50000000], ['>=', 0x60000000], ['&', 0x08000000], ['&=', 0x48000000],
    ];
    const buf = encodeRule(compileRule(`-a always,exit -S open ${ops.map(([op]) => `-F a1${op}1`).join(' ')}`, x86));
    expect(ops.map((_, i) => word(buf, L.fieldflags, i))).toEqual(ops.map(([, flag]) => flag));
  });

  it('encodes -A with AUDIT_FILTER_PREPEND and exclude, user, task, filesystem lists', () => {
    const flags = (text: string): number => u32(encodeRule(compileRule(text, x86)), L.flags);
    expect(flags('-A always,exit -S open')).toBe(0x14);
    expect(flags('-a never,user -F uid=0')).toBe(0x00);
    expect(flags('-a never,task -F uid=0')).toBe(0x01);
    expect(flags('-a always,exclude -F msgtype=EOE')).toBe(0x05);
    expect(flags('-a never,filesystem -F fstype=tracefs')).toBe(0x06);
    expect(u32(encodeRule(compileRule('-a never,task', x86)), L.action)).toBe(0);
  });

  it('stores negative values and exit errnos as two\'s complement u32', () => {
    const buf = encodeRule(compileRule('-a always,exit -S open -F exit=-EACCES -F auid!=unset', x86));
    expect([word(buf, L.values, 0), word(buf, L.values, 1)]).toEqual([0xfffffff3, 0xffffffff]);
  });

  it('stores a -C comparison as AUDIT_FIELD_COMPARE with the AUDIT_COMPARE_* value', () => {
    const buf = encodeRule(compileRule('-a always,exit -S execve -C uid!=euid', x86));
    expect([word(buf, L.fields, 0), word(buf, L.values, 0), word(buf, L.fieldflags, 0)]).toEqual([111, 11, 0x30000000]);
  });
});

describe('decodeRule', () => {
  it('reads back what encodeRule wrote', () => {
    const rule = compileRule('-a always,exit -F arch=b32 -S socketcall -F a0!=6 -F saddr_fam=10 -F exe=/usr/bin/x -k a -k b', x86);
    expect(decodeRule(encodeRule(rule))).toEqual(rule);
  });

  it('accepts the netlink padding after buf and treats 63 full mask words as all', () => {
    const buf = Buffer.concat([encodeRule(compileRule('-w /etc/passwd -k k', x86)), Buffer.alloc(3)]);
    buf.writeUInt32LE(0x0000ffff, L.mask + 4 * 63); // the kernel turns the class bits of word 63 into syscalls
    expect(decodeRule(buf)).toMatchObject({ syscalls: 'all', fields: [{ value: '/etc/passwd' }, { value: 15 }, { value: 'k' }] });
  });

  it('keeps fields it does not know', () => {
    const buf = encodeRule(compileRule('-a always,exit -S open -F uid=0', x86));
    buf.writeUInt32LE(24, L.fields); // AUDIT_LOGINUID_SET
    expect(decodeRule(buf).fields[0]).toEqual({ kind: 'unknown', id: 24, op: '=', value: 0 });
  });

  it('refuses truncated or inconsistent bytes', () => {
    const buf = encodeRule(compileRule('-a always,exit -S open -k key', x86));
    expect(() => decodeRule(buf.subarray(0, 100))).toThrow(RuleDecodeError);
    expect(() => decodeRule(buf.subarray(0, buf.length - 1))).toThrow('buflen 3 runs past the end of the rule');
    const badOp = Buffer.from(buf);
    badOp.writeUInt32LE(0x1, L.fieldflags);
    expect(() => decodeRule(badOp)).toThrow('unknown operator flags 0x1');
    const badList = Buffer.from(buf);
    badList.writeUInt32LE(9, L.flags);
    expect(() => decodeRule(badList)).toThrow('unknown filter list 9');
  });
});
