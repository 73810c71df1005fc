// Flow: one network call → one flow tuple. Pure: the socket step (./socket-update.ts) has already
// updated the socket table and found the call, its address and its socket; this only builds the
// flow from those facts and the SYSCALL and PROCTITLE records (process, ids, argv).
import { communityId } from './community-id.js';
import { stringValue, type EventRecords, type RecordFields } from './event-records.js';
import { ID_UNSET } from './process/user-names.js';
import { resultName, type Op } from './socket-calls.js';
import type { Endpoint, SocketInfo } from './socket-kinds.js';
import { AF_INET, AF_INET6, protocolName } from '../linux/socket.js';
import { isUnspecified, type SocketFacts } from './socket-update.js';

export { resultName, type Op } from './socket-calls.js';
export { DEFAULT_FAMILIES } from './socket-update.js';

export const FLOW_SCHEMA_VERSION = 1;

/** The schema of docs/flows.md. Absent values are null, so every flow has every field. */
export interface Flow {
  v: number;
  kind: 'flow';
  node: string | null;
  ts: number;
  serial: number;
  op: Op | 'packet';
  /** The syscall's name; for io_uring the submitting syscall's (io_uring_enter) or `io_uring` without one; null for a packet. */
  syscall: string | null;
  /** process: a process's call (audit rules on the exit or io_uring list); netfilter: a packet a netfilter rule logged (./packet-flow.ts). */
  source: 'process' | 'netfilter';
  /** How the process made the call: a syscall or an io_uring operation (./uring-ops.ts); null for a packet. */
  via: 'syscall' | 'io_uring' | null;
  /** The io_uring operation's name (linux/io-uring.ts), when via is io_uring. */
  uring_op: string | null;
  /** forward: a packet routed through this host (netfilter only). */
  direction: 'egress' | 'ingress' | 'listen' | 'forward';
  /** ok, inprogress, an errno name, or unknown (an io_uring operation whose record does not carry its outcome); for a packet the netfilter action when the kernel gives one, else null. */
  result: string | null;
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
  /** A packet's skb mark (netfilter). */
  mark: number | null;
  /** A packet's interfaces, where the kernel names them (kernels before 4.12). */
  in_if: string | null;
  out_if: string | null;
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

// Protocols whose ports take part in the Community ID (the spec's port-based transports).
const PORT_PROTOCOLS = new Set([6, 17, 132, 136]);

const DIRECTION: Record<Op, Flow['direction']> = { connect: 'egress', sendto: 'egress', sendmsg: 'egress', accept: 'ingress', recvfrom: 'ingress', recvmsg: 'ingress', bind: 'listen' };

/** The process of a syscall event, for events that are not flows (socket(), ...). */
export function syscallProcess(event: EventRecords): { pid: number; exe: string | null; key: string | null } | undefined {
  const syscall = event.syscall;
  const pid = syscall?.number('pid');
  if (!syscall || pid === undefined) return undefined;
  return { pid, exe: stringValue(syscall, 'exe') ?? null, key: keyOf(syscall) };
}

// kernel/auditfilter.c: several keys on one rule are joined with AUDIT_KEY_SEPARATOR (0x01).
function keyOf(syscall: RecordFields): string | null {
  const raw = stringValue(syscall, 'key');
  return raw === undefined ? null : raw.split('\x01').join(',');
}

/** The flow of a network call the socket step let through. Changes nothing. */
export function toFlow(event: EventRecords, facts: SocketFacts): Flow {
  const syscall = event.syscall as RecordFields;
  const { op, address, addressEnd, known, proc, success, exit, pid, acceptedFd } = facts;
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

  return {
    v: FLOW_SCHEMA_VERSION,
    kind: 'flow',
    node: event.node === '' ? null : event.node,
    ts: event.time,
    serial: event.serial,
    op,
    syscall: facts.call.name,
    source: 'process',
    via: 'syscall',
    uring_op: null,
    direction: DIRECTION[op],
    result: resultName(success, exit),
    family: facts.family,
    proto: protocol === undefined ? null : protocolName(protocol),
    proto_num: protocol ?? null,
    local_addr: local?.addr ?? null,
    local_port: local?.port ?? null,
    remote_addr: remote?.addr ?? (address?.family === 'unix' ? address.path : null),
    remote_port: remote?.port ?? null,
    ipv4_mapped: address?.family === 'inet6' ? address.ipv4Mapped : false,
    scope_id: address?.family === 'inet6' && address.scopeId ? address.scopeId : null,
    community_id: community,
    mark: null,
    in_if: null,
    out_if: null,
    pid: pid ?? null,
    ppid: syscall.number('ppid') ?? null,
    uid: syscall.number('uid') ?? null,
    user: recordName(syscall, 'uid'),
    euid: syscall.number('euid') ?? null,
    euser: recordName(syscall, 'euid'),
    gid: syscall.number('gid') ?? null,
    group: recordName(syscall, 'gid'),
    auid: syscall.number('auid') ?? null,
    auser: recordName(syscall, 'auid'),
    ses: syscall.number('ses') ?? null,
    tty: stringValue(syscall, 'tty') ?? null,
    comm: stringValue(syscall, 'comm') ?? null,
    exe: stringValue(syscall, 'exe') ?? null,
    argv: event.argv(),
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
    fd: op === 'accept' ? (acceptedFd ?? null) : facts.fd,
    count: 1,
    first_ts: event.time,
    last_ts: event.time,
  };
}

// auditd's ENRICHED log format names the ids after 0x1D (UID="root" AUID="unset"), resolved on
// the host and at the time it logged them: the only names a log from elsewhere can have.
const ENRICHED_NAMES: Record<'uid' | 'euid' | 'gid' | 'auid', string> = { uid: 'UID', euid: 'EUID', gid: 'GID', auid: 'AUID' };

/** The name of an id from the record alone: auditd's enriched name, or `unset` for (unsigned)-1. */
function recordName(syscall: RecordFields, field: 'uid' | 'euid' | 'gid' | 'auid'): string | null {
  const enriched = syscall.enriched(ENRICHED_NAMES[field]);
  if (enriched !== undefined && enriched !== '') return enriched;
  return syscall.number(field) === ID_UNSET ? 'unset' : null;
}
