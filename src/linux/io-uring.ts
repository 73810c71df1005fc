// io_uring operations as the audit rules name them. A rule on the io_uring filter list
// (AUDIT_FILTER_URING_EXIT) uses the syscall mask for io_uring opcodes (enum io_uring_op,
// include/uapi/linux/io_uring.h; kernel/auditfilter.c, kernel/auditsc.c audit_filter_uring()),
// whatever the architecture.
//
// Only the operations without `.audit_skip` in the kernel's io_uring/opdef.c are ever audited;
// these are their numbers, under the names audit-userspace 3.1+ gives them (its lib/uringop_table.h).
// The others (send, recv, send_zc, socket, read, write, ...) never make a record, whatever the rules.
const AUDITED_OPS = `
9 sendmsg 10 recvmsg 13 accept 16 connect 17 fallocate 18 openat 19 close 28 openat2 34 shutdown
35 renameat 36 unlinkat 37 mkdirat 38 symlinkat 39 linkat 40 msg_ring 41 fsetxattr 42 setxattr
43 fgetxattr 44 getxattr 46 uring_cmd 48 sendmsg_zc 50 waitid 51 futex_wait 52 futex_wake
53 futex_waitv 54 fixed_fd_install 55 ftruncate 56 bind 57 listen
`;

const BY_NUMBER: ReadonlyMap<number, string> = new Map(
  AUDITED_OPS.trim()
    .split(/\s+/)
    .flatMap((word, i, words) => (i % 2 === 0 ? [[Number(word), words[i + 1] as string] as const] : [])),
);
const BY_NAME: ReadonlyMap<string, number> = new Map([...BY_NUMBER].map(([number, name]) => [name, number]));

/** `connect` → 16; undefined for a name the kernel never audits (or does not have). */
export function uringOpNumber(name: string): number | undefined {
  return BY_NAME.get(name);
}

/** 16 → `connect`; undefined for an opcode the kernel never audits. */
export function uringOpName(op: number): string | undefined {
  return BY_NUMBER.get(op);
}
