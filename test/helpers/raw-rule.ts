// A hand-built struct audit_rule_data (include/uapi/linux/audit.h) for the foundation
// tests, so they do not depend on the rule compiler they are the ground for.
const AUDIT_FILTER_EXIT = 0x04;
const AUDIT_ALWAYS = 2;
const AUDIT_ARCH = 11;
const AUDIT_PPID = 18;
const AUDIT_FILTERKEY = 210;
const AUDIT_EQUAL = 0x40000000;
const AUDIT_MAX_FIELDS = 64;
const AUDIT_BITMASK_SIZE = 64;
// include/uapi/linux/audit.h AUDIT_ARCH_*; the syscall numbers from the kernel's
// arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
const NATIVE: Record<string, { arch: number; connect: number }> = {
  x64: { arch: 0xc000003e, connect: 42 },
  arm64: { arch: 0xc00000b7, connect: 203 },
};

export function nativeConnectSyscall(): number {
  return native().connect;
}

function native(): { arch: number; connect: number } {
  const entry = NATIVE[process.arch];
  if (!entry) throw new Error(`no syscall table here for ${process.arch}`);
  return entry;
}

/** -a always,exit -F arch=<native> -S connect -F ppid=<ppid> -k <key> */
export function connectRuleForChildrenOf(ppid: number, key: string): Buffer {
  const fields: Array<[number, number]> = [
    [AUDIT_ARCH, native().arch],
    [AUDIT_PPID, ppid],
  ];
  const keyBytes = Buffer.from(key);
  const header = 3 * 4 + (AUDIT_BITMASK_SIZE + 3 * AUDIT_MAX_FIELDS) * 4 + 4;
  const rule = Buffer.alloc(header + keyBytes.length);
  rule.writeUInt32LE(AUDIT_FILTER_EXIT, 0);
  rule.writeUInt32LE(AUDIT_ALWAYS, 4);
  rule.writeUInt32LE(fields.length + 1, 8);
  const connect = native().connect;
  const maskOffset = 12 + Math.floor(connect / 32) * 4;
  rule.writeUInt32LE((1 << connect % 32) >>> 0, maskOffset);
  const fieldsOffset = 12 + AUDIT_BITMASK_SIZE * 4;
  const valuesOffset = fieldsOffset + AUDIT_MAX_FIELDS * 4;
  const flagsOffset = valuesOffset + AUDIT_MAX_FIELDS * 4;
  [...fields, [AUDIT_FILTERKEY, keyBytes.length] as [number, number]].forEach(([field, value], i) => {
    rule.writeUInt32LE(field, fieldsOffset + i * 4);
    rule.writeUInt32LE(value >>> 0, valuesOffset + i * 4);
    rule.writeUInt32LE(AUDIT_EQUAL, flagsOffset + i * 4);
  });
  rule.writeUInt32LE(keyBytes.length, flagsOffset + AUDIT_MAX_FIELDS * 4);
  keyBytes.copy(rule, header);
  return rule;
}
