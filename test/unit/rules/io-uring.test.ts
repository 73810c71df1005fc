import { describe, expect, it } from 'vitest';
import { compileRule, decodeRule, encodeRule, formatRule, parseRulesFile } from '../../../src/rules/index.js';
import { RULE_DATA_LAYOUT } from '../../../src/rules/encode.js';
import { arm64, x86 } from './context.js';

// include/uapi/linux/io_uring.h enum io_uring_op: IORING_OP_SENDMSG 9, IORING_OP_ACCEPT 13,
// IORING_OP_CONNECT 16, IORING_OP_BIND 56; include/uapi/linux/audit.h AUDIT_FILTER_URING_EXIT 7.
const URING_LIST = 7;

function maskBits(bytes: Buffer): number[] {
  const bits: number[] = [];
  for (let word = 0; word < 64; word++) {
    const value = bytes.readUInt32LE(RULE_DATA_LAYOUT.mask + 4 * word);
    for (let bit = 0; bit < 32; bit++) if (value & (1 << bit)) bits.push(word * 32 + bit);
  }
  return bits;
}

describe('the io_uring filter list', () => {
  it('puts io_uring opcodes, not syscall numbers, in the mask of a rule on list 7', () => {
    const bytes = encodeRule(compileRule('-a always,io_uring -S connect,sendmsg,accept,bind -k uring', x86));
    expect(bytes.readUInt32LE(RULE_DATA_LAYOUT.flags)).toBe(URING_LIST);
    expect(maskBits(bytes)).toEqual([9, 13, 16, 56]);
  });

  it('gives the same bytes on every architecture (no arch field, no syscall table)', () => {
    const text = '-a always,io_uring -S connect,recvmsg -F uid=1000 -k uring';
    expect(encodeRule(compileRule(text, arm64)).equals(encodeRule(compileRule(text, x86)))).toBe(true);
  });

  it('lists a rule back the way it was written, operations by name', () => {
    const text = '-a always,io_uring -S sendmsg,accept,connect,sendmsg_zc -F auid>=1000 -F key=uring';
    const rule = decodeRule(encodeRule(compileRule(text, x86)));
    expect(formatRule(rule, x86)).toBe(text);
  });

  it('takes opcode numbers, and warns for one the kernel never audits (send is audit_skip)', () => {
    const result = parseRulesFile('-a always,io_uring -S 16,26 -k uring\n', 'uring.rules', x86);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map((w) => w.message)).toEqual(['io_uring operation 26 is never audited by the kernel (audit_skip in io_uring/opdef.c)']);
    const command = result.commands[0];
    expect(command?.kind === 'add_rule' && formatRule(command.rule, x86)).toBe('-a always,io_uring -S connect,26 -F key=uring');
  });

  it.each([
    ['-a always,io_uring -S send', /unknown io_uring operation "send"/],
    ['-a always,io_uring -S socket', /unknown io_uring operation "socket"/],
    ['-a always,io_uring -F arch=b64 -S connect', /-F arch cannot be used on the io_uring list/],
    ['-a always,io_uring -S connect -F perm=w', /field perm can only be used on the exit list/],
    ['-S connect -a always,io_uring', /give the io_uring list before -S/],
    ['-a always,io_uring -S 2048', /out of range/],
  ])('refuses %s', (text, reason) => {
    expect(() => compileRule(text, x86)).toThrow(reason);
  });

  it('keeps syscall names for the exit list: connect is 42 there, not opcode 16', () => {
    expect(maskBits(encodeRule(compileRule('-a always,exit -F arch=b64 -S connect', x86)))).toEqual([42]);
  });
});
