// Which socket call a SYSCALL record is, on each architecture a flow can come from, with its
// arguments; and the result name of its exit value.
import { LookupKind } from '../native/socket-lookups.js';
import { archInfo, type Machine } from '../linux/arch.js';
import { errnoName } from '../linux/errno.js';
import type { RecordFields } from './event-records.js';

export type Op = 'connect' | 'accept' | 'bind' | 'sendto' | 'sendmsg' | 'recvfrom' | 'recvmsg';
export type SocketSyscall = Op | 'socket';

export interface Call {
  op: SocketSyscall;
  name: string;
  args: [number, number, number, number];
}

// The socket calls a flow can come from, by their names in the syscall tables of
// src/linux (the same tables the rules are compiled with); accept4 is an accept.
const SOCKET_OPS: ReadonlyMap<string, SocketSyscall> = new Map([
  ['socket', 'socket'],
  ['connect', 'connect'],
  ['accept', 'accept'],
  ['accept4', 'accept'],
  ['sendto', 'sendto'],
  ['sendmsg', 'sendmsg'],
  ['bind', 'bind'],
  // Receives: audited only with the optional rules (rules/optional/udp-ingress.rules); their
  // SOCKADDR is the sender's address the kernel copied out (net/socket.c move_addr_to_user).
  ['recvfrom', 'recvfrom'],
  ['recvmsg', 'recvmsg'],
]);
// x86_64 and aarch64 hosts, and the 32-bit processes they run (i386, 32-bit ARM EABI); a
// 32-bit ARM host's records name the same 'arm' convention.
const FLOW_MACHINES: readonly Machine[] = ['x86_64', 'i386', 'aarch64', 'arm'];
interface ArchCalls {
  /** Syscall number → the call. */
  calls: ReadonlyMap<number, { op: SocketSyscall; name: string }>;
  /** socketcall(2)'s number, where the architecture has it (i386 and arm: 102). */
  socketcall: number | undefined;
}
// AUDIT_ARCH_* value → the architecture's socket calls.
const SOCKET_SYSCALLS: ReadonlyMap<number, ArchCalls> = new Map(
  FLOW_MACHINES.map((machine) => {
    const { value, table } = archInfo(machine);
    const calls = new Map<number, { op: SocketSyscall; name: string }>();
    for (const [name, op] of SOCKET_OPS) {
      const number = table.byName.get(name);
      if (number !== undefined) calls.set(number, { op, name });
    }
    return [value, { calls, socketcall: table.byName.get('socketcall') }];
  }),
);
// socketcall(2): include/uapi/linux/net.h SYS_SOCKET ... SYS_ACCEPT4; its arguments are in
// the SOCKETCALL record (kernel/auditsc.c __audit_socketcall, called by net/socket.c
// sys_socketcall on every architecture that has it).
const SOCKETCALLS: ReadonlyMap<number, [SocketSyscall, string]> = new Map([
  [1, ['socket', 'socket']],
  [2, ['bind', 'bind']],
  [3, ['connect', 'connect']],
  [5, ['accept', 'accept']],
  [11, ['sendto', 'sendto']],
  [12, ['recvfrom', 'recvfrom']],
  [16, ['sendmsg', 'sendmsg']],
  [17, ['recvmsg', 'recvmsg']],
  [18, ['accept', 'accept4']],
]);

// include/uapi/asm-generic/errno.h: a non-blocking connect that has started, not failed.
const EALREADY = 114;
const EINPROGRESS = 115;

const args = (fields: RecordFields | undefined): Call['args'] => [
  fields?.number('a0', 16) ?? 0,
  fields?.number('a1', 16) ?? 0,
  fields?.number('a2', 16) ?? 0,
  fields?.number('a3', 16) ?? 0,
];

// What the addon does on reading a SYSCALL record of each call (src/native/socket-lookups.ts).
const LOOKUP_KIND: Record<SocketSyscall, number> = {
  socket: LookupKind.socket,
  connect: LookupKind.fdInA0,
  bind: LookupKind.fdInA0,
  sendto: LookupKind.fdInA0,
  sendmsg: LookupKind.fdInA0,
  recvfrom: LookupKind.fdInA0,
  recvmsg: LookupKind.fdInA0,
  accept: LookupKind.fdInExit,
};

/**
 * The (AUDIT_ARCH_*, syscall number, kind) triples the addon makes early socket lookups for: every
 * socket call above but socketcall(2)'s, whose arguments are in a record of their own.
 */
export function lookupCalls(): Uint32Array {
  const triples: number[] = [];
  for (const [arch, { calls }] of SOCKET_SYSCALLS) for (const [number, call] of calls) triples.push(arch, number, LOOKUP_KIND[call.op]);
  return Uint32Array.from(triples);
}

/** Which socket call a SYSCALL record is, with its arguments; undefined for other syscalls. */
export function socketCall(syscall: RecordFields, socketcall: RecordFields | undefined): Call | undefined {
  const archValue = syscall.number('arch', 16);
  const number = syscall.number('syscall');
  if (archValue === undefined || number === undefined) return undefined;
  const arch = SOCKET_SYSCALLS.get(archValue);
  if (arch === undefined) return undefined;
  if (number === arch.socketcall) {
    const entry = SOCKETCALLS.get(syscall.number('a0', 16) ?? 0);
    if (!entry) return undefined;
    return { op: entry[0], name: entry[1], args: args(socketcall) };
  }
  const call = arch.calls.get(number);
  if (call === undefined) return undefined;
  return { op: call.op, name: call.name, args: args(syscall) };
}

export function resultName(success: boolean, exit: number | undefined): string {
  if (success) return 'ok';
  if (exit === -EINPROGRESS || exit === -EALREADY) return 'inprogress';
  if (exit === undefined || exit >= 0) return 'failed';
  return errnoName(-exit) ?? `errno_${-exit}`;
}
