// Flow: one event → one flow tuple, or nothing. Knows which syscalls are network operations
// on each architecture, reads the process from the SYSCALL record, the address from the
// SOCKADDR record, and the protocol and local side from the socket table (or /proc).
import { archInfo, type Machine } from '../linux/arch.js';
import { errnoName } from '../linux/errno.js';
import { communityId } from './community-id.js';
import { ID_UNSET } from './process/user-names.js';
import { numberField, proctitleArgv, stringField, type AuditRecord } from './record.js';
import type { AuditEvent } from './reassembler.js';
import { decodeSockaddrHex, sockaddrFamily, type Sockaddr, type SockaddrError } from './sockaddr.js';
import { type Endpoint, type SocketInfo, type SocketTable } from './sockets.js';
import { AUDIT_PROCTITLE, AUDIT_SOCKADDR, AUDIT_SOCKETCALL, AUDIT_SYSCALL } from '../linux/record-types.js';
import { AF_INET, AF_INET6, familyName, protocolName } from '../linux/socket.js';

export const FLOW_SCHEMA_VERSION = 1;

export type Op = 'connect' | 'accept' | 'bind' | 'sendto' | 'sendmsg';
type SocketSyscall = Op | 'socket';

/** The schema of docs/flows.md. Absent values are null, so every flow has every field. */
export interface Flow {
  v: number;
  kind: 'flow';
  node: string | null;
  ts: number;
  serial: number;
  op: Op;
  syscall: string;
  direction: 'egress' | 'ingress' | 'listen';
  result: string;
  family: string;
  proto: string | null;
  proto_num: number | null;
  local_addr: string | null;
  local_port: number | null;
  remote_addr: string | null;
  remote_port: number | null;
  ipv4_mapped: boolean;
  scope_id: number | null;
  community_id: string | null;
  pid: number | null;
  ppid: number | null;
  uid: number | null;
  user: string | null;
  euid: number | null;
  euser: string | null;
  gid: number | null;
  group: string | null;
  auid: number | null;
  auser: string | null;
  ses: number | null;
  tty: string | null;
  comm: string | null;
  exe: string | null;
  argv: string[];
  /** The process context from /proc (./process/): null without a resolver (replay). */
  cwd: string | null;
  proc_start: number | null;
  /** true: the process had exited (or its pid was reused) before /proc could be read; false: it was read; null: not looked up. */
  proc_gone: boolean | null;
  parent_exe: string | null;
  parent_comm: string | null;
  parent_argv: string[] | null;
  /** Present (true) only when argv / parent_argv is cut at argv_max_bytes; see process/resolver.ts. */
  argv_truncated?: true;
  parent_argv_truncated?: true;
  container_id: string | null;
  container_runtime: string | null;
  pod_uid: string | null;
  unit: string | null;
  labels: string[];
  key: string | null;
  fd: number | null;
  count: number;
  first_ts: number;
  last_ts: number;
}

export type FlowOutcome =
  | { kind: 'flow'; flow: Flow }
  /** A network syscall of a family the filter does not keep. */
  | { kind: 'dropped'; family: string }
  /** The SOCKADDR record could not be decoded. */
  | { kind: 'bad-sockaddr'; error: SockaddrError }
  /** Not a flow: another syscall, a socket(), or no SYSCALL record. */
  | { kind: 'none' };

export interface FlowOptions {
  /** Families kept (default inet and inet6); 'all' keeps every family. */
  families?: ReadonlySet<string> | 'all';
}

export const DEFAULT_FAMILIES: ReadonlySet<string> = new Set(['inet', 'inet6']);

// The socket calls a flow can come from, by their names in the syscall tables of
// src/rules (the same tables the rules are compiled with); accept4 is an accept.
const SOCKET_OPS: ReadonlyMap<string, SocketSyscall> = new Map([
  ['socket', 'socket'],
  ['connect', 'connect'],
  ['accept', 'accept'],
  ['accept4', 'accept'],
  ['sendto', 'sendto'],
  ['sendmsg', 'sendmsg'],
  ['bind', 'bind'],
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
  [16, ['sendmsg', 'sendmsg']],
  [18, ['accept', 'accept4']],
]);

// include/uapi/asm-generic/errno.h: a non-blocking connect that has started, not failed.
const EALREADY = 114;
const EINPROGRESS = 115;
// Protocols whose ports take part in the Community ID (the spec's port-based transports).
const PORT_PROTOCOLS = new Set([6, 17, 132, 136]);

const DIRECTION: Record<Op, Flow['direction']> = { connect: 'egress', sendto: 'egress', sendmsg: 'egress', accept: 'ingress', bind: 'listen' };

interface Call {
  op: SocketSyscall;
  name: string;
  args: number[];
}

/** Which socket call a SYSCALL record is, with its arguments; undefined for other syscalls. */
function socketCall(syscall: AuditRecord, records: AuditRecord[]): Call | undefined {
  const archValue = numberField(syscall, 'arch', 16);
  const number = numberField(syscall, 'syscall');
  if (archValue === undefined || number === undefined) return undefined;
  const args = [0, 1, 2, 3].map((i) => numberField(syscall, `a${i}`, 16) ?? 0);
  const arch = SOCKET_SYSCALLS.get(archValue);
  if (arch === undefined) return undefined;
  if (number === arch.socketcall) {
    const entry = SOCKETCALLS.get(args[0] ?? 0);
    const record = records.find((r) => r.type === AUDIT_SOCKETCALL);
    if (!entry) return undefined;
    const inner = [0, 1, 2, 3].map((i) => (record ? (numberField(record, `a${i}`, 16) ?? 0) : 0));
    return { op: entry[0], name: entry[1], args: inner };
  }
  const call = arch.calls.get(number);
  if (call === undefined) return undefined;
  return { ...call, args };
}

/** The process of a syscall event, for events that are not flows (socket(), ...). */
export function syscallProcess(event: AuditEvent): { pid: number; exe: string | null; key: string | null } | undefined {
  const syscall = event.records.find((record) => record.type === AUDIT_SYSCALL);
  const pid = syscall ? numberField(syscall, 'pid') : undefined;
  if (!syscall || pid === undefined) return undefined;
  return { pid, exe: stringField(syscall, 'exe') ?? null, key: keyOf(syscall) };
}

// kernel/auditfilter.c: several keys on one rule are joined with AUDIT_KEY_SEPARATOR (0x01).
function keyOf(syscall: AuditRecord): string | null {
  const raw = stringField(syscall, 'key');
  return raw === undefined ? null : raw.split('\x01').join(',');
}

export function resultName(success: boolean, exit: number | undefined): string {
  if (success) return 'ok';
  if (exit === -EINPROGRESS || exit === -EALREADY) return 'inprogress';
  if (exit === undefined || exit >= 0) return 'failed';
  return errnoName(-exit) ?? `errno_${-exit}`;
}

/** Event → flow. Updates the socket table from socket(), bind() and accept() events. */
export function toFlow(event: AuditEvent, sockets: SocketTable, options: FlowOptions = {}): FlowOutcome {
  const syscall = event.records.find((record) => record.type === AUDIT_SYSCALL);
  if (!syscall) return { kind: 'none' };
  const call = socketCall(syscall, event.records);
  if (!call) return { kind: 'none' };

  const pid = numberField(syscall, 'pid');
  const exit = numberField(syscall, 'exit');
  const success = syscall.fields.get('success') === 'yes';
  if (pid !== undefined) sockets.observeProcess(pid, stringField(syscall, 'exe'));
  const fd = call.args[0] ?? 0;

  if (call.op === 'socket') {
    if (success && pid !== undefined && exit !== undefined && exit >= 0) sockets.addSocket(pid, exit, call.args[0] ?? 0, call.args[1] ?? 0, call.args[2] ?? 0);
    return { kind: 'none' };
  }
  const op: Op = call.op;
  const acceptedFd = op === 'accept' && success && exit !== undefined && exit >= 0 ? exit : undefined;

  const saddrRecord = event.records.find((record) => record.type === AUDIT_SOCKADDR);
  let address: Sockaddr | undefined;
  if (saddrRecord) {
    const decoded = decodeSockaddrHex(saddrRecord.fields.get('saddr') ?? '');
    if (!decoded.ok) return { kind: 'bad-sockaddr', error: decoded.error };
    address = decoded.value;
  }

  const known = pid === undefined ? undefined : sockets.get(pid, fd);
  const started = success || resultName(success, exit) === 'inprogress';
  // The resolver (/proc, or the socket itself) is asked only for what the events did not say: a
  // connected socket's local side, an accepted socket's local side unless its listener is bound to
  // one address (a wildcard listener's connections each have their own), a sending socket's local
  // side until it is known, or a socket whose socket() was not seen. A connect that failed has no
  // local side to ask for (a refused TCP socket is unhashed at once).
  const needsProc =
    pid !== undefined &&
    (op === 'connect'
      ? started
      : op === 'accept'
        ? known?.local === undefined || isUnspecified(known.local)
        : known === undefined || known.local === undefined || (address === undefined && op !== 'bind'));
  const proc = needsProc && pid !== undefined ? sockets.resolve(pid, acceptedFd ?? fd, known) : undefined;
  if (pid !== undefined && proc !== undefined && op !== 'accept') rememberResolved(sockets, pid, fd, known, proc, op);

  const familyNumber = address ? undefined : (known?.family ?? proc?.family);
  const family = address ? sockaddrFamily(address) : familyNumber !== undefined ? familyName(familyNumber) : 'unknown';
  const addressEnd = endpointOf(address);
  if (pid !== undefined && started) {
    if (op === 'bind' && addressEnd) sockets.setLocal(pid, fd, addressEnd);
    // A connect with AF_UNSPEC dissolves a datagram socket's association (man 2 connect).
    if (op === 'connect') sockets.setRemote(pid, fd, addressEnd);
    if (acceptedFd !== undefined) sockets.addAccepted(pid, fd, acceptedFd);
  }
  const keep = options.families ?? DEFAULT_FAMILIES;
  if (keep !== 'all' && !keep.has(family)) return { kind: 'dropped', family };

  const info: SocketInfo | undefined = known ?? proc;
  const protocol = info && (info.family === AF_INET || info.family === AF_INET6) ? info.protocol : undefined;
  let local: Endpoint | undefined;
  let remote: Endpoint | undefined;
  switch (op) {
    case 'bind':
      local = addressEnd && addressEnd.port === 0 && proc?.local ? { ...addressEnd, port: proc.local.port } : addressEnd;
      break;
    case 'accept':
      remote = addressEnd ?? proc?.remote;
      local = proc?.local ?? known?.local;
      break;
    default:
      remote = addressEnd ?? known?.remote ?? proc?.remote;
      local = proc?.local ?? known?.local;
  }

  const [initiator, responder] = op === 'accept' ? [remote, local] : [local, remote];
  const community =
    protocol !== undefined && PORT_PROTOCOLS.has(protocol) && initiator && responder && !isUnspecified(initiator) && !isUnspecified(responder)
      ? (communityId(protocol, initiator, responder) ?? null)
      : null;
  const proctitle = event.records.find((record) => record.type === AUDIT_PROCTITLE);

  const flow: Flow = {
    v: FLOW_SCHEMA_VERSION,
    kind: 'flow',
    node: event.node === '' ? null : event.node,
    ts: event.time,
    serial: event.serial,
    op,
    syscall: call.name,
    direction: DIRECTION[op],
    result: resultName(success, exit),
    family,
    proto: protocol === undefined ? null : protocolName(protocol),
    proto_num: protocol ?? null,
    local_addr: local?.addr ?? null,
    local_port: local?.port ?? null,
    remote_addr: remote?.addr ?? (address?.family === 'unix' ? address.path : null),
    remote_port: remote?.port ?? null,
    ipv4_mapped: address?.family === 'inet6' ? address.ipv4Mapped : false,
    scope_id: address?.family === 'inet6' && address.scopeId ? address.scopeId : null,
    community_id: community,
    pid: pid ?? null,
    ppid: numberField(syscall, 'ppid') ?? null,
    uid: numberField(syscall, 'uid') ?? null,
    user: recordName(syscall, 'uid'),
    euid: numberField(syscall, 'euid') ?? null,
    euser: recordName(syscall, 'euid'),
    gid: numberField(syscall, 'gid') ?? null,
    group: recordName(syscall, 'gid'),
    auid: numberField(syscall, 'auid') ?? null,
    auser: recordName(syscall, 'auid'),
    ses: numberField(syscall, 'ses') ?? null,
    tty: stringField(syscall, 'tty') ?? null,
    comm: stringField(syscall, 'comm') ?? null,
    exe: stringField(syscall, 'exe') ?? null,
    argv: proctitle ? proctitleArgv(proctitle) : [],
    cwd: null,
    proc_start: null,
    proc_gone: null,
    parent_exe: null,
    parent_comm: null,
    parent_argv: null,
    container_id: null,
    container_runtime: null,
    pod_uid: null,
    unit: null,
    labels: [],
    key: keyOf(syscall),
    fd: op === 'accept' ? (acceptedFd ?? null) : fd,
    count: 1,
    first_ts: event.time,
    last_ts: event.time,
  };
  return { kind: 'flow', flow };
}

// auditd's ENRICHED log format names the ids after 0x1D (UID="root" AUID="unset"), resolved on
// the host and at the time it logged them: the only names a log from elsewhere can have.
const ENRICHED_NAMES: Record<'uid' | 'euid' | 'gid' | 'auid', string> = { uid: 'UID', euid: 'EUID', gid: 'GID', auid: 'AUID' };

/** The name of an id from the record alone: auditd's enriched name, or `unset` for (unsigned)-1. */
function recordName(syscall: AuditRecord, field: 'uid' | 'euid' | 'gid' | 'auid'): string | null {
  const enriched = syscall.enriched.get(ENRICHED_NAMES[field]);
  if (enriched !== undefined && enriched !== '') return enriched;
  return numberField(syscall, field) === ID_UNSET ? 'unset' : null;
}

/**
 * Keeps what a lookup learned, so the next event of the same socket needs none: a socket whose
 * socket() was not seen joins the table; a known socket keeps its local side once it has one (a
 * connect or the first send binds it, and it stays until the fd is closed, which the next
 * socket() or accept() on that fd replaces). A lookup that found another kind of socket (the fd
 * was closed and reused meanwhile) teaches nothing.
 */
function rememberResolved(sockets: SocketTable, pid: number, fd: number, known: SocketInfo | undefined, proc: SocketInfo, op: Op): void {
  if (known === undefined) {
    sockets.learn(pid, fd, proc);
    return;
  }
  if (proc.local === undefined || proc.family !== known.family || proc.type !== known.type) return;
  if (op === 'connect' || known.local === undefined) sockets.setLocal(pid, fd, proc.local);
}

function endpointOf(address: Sockaddr | undefined): Endpoint | undefined {
  if (address?.family === 'inet' || address?.family === 'inet6') return { addr: address.addr, port: address.port, bytes: address.bytes };
  return undefined;
}

const isUnspecified = (end: Endpoint): boolean => end.bytes.every((byte) => byte === 0);
