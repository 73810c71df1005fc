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
import { FLOW_SCHEMA_VERSION, type Flow } from '../schema/entries.js';

export { resultName, type Op } from './socket-calls.js';
export { DEFAULT_FAMILIES } from './socket-update.js';

export { FLOW_SCHEMA_VERSION, type Flow } from '../schema/entries.js';

// Protocols whose ports take part in the Community ID (the spec's port-based transports).
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132, 136]);

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

/** The process context's fields as a flow has them before the resolver (./process/) fills them. */
export function unresolvedContext(): Pick<Flow, 'cwd' | 'proc_start' | 'proc_gone' | 'parent_exe' | 'parent_comm' | 'parent_argv' | 'container_id' | 'container_runtime' | 'pod_uid' | 'unit' | 'labels'> {
  return { cwd: null, proc_start: null, proc_gone: null, parent_exe: null, parent_comm: null, parent_argv: null, container_id: null, container_runtime: null, pod_uid: null, unit: null, labels: [] };
}

/** The process context a flow carries (everything but the call and its ends): a close copies its opener's. */
export type ProcessFields = Pick<
  Flow,
  | 'pid'
  | 'ppid'
  | 'uid'
  | 'user'
  | 'euid'
  | 'euser'
  | 'gid'
  | 'group'
  | 'auid'
  | 'auser'
  | 'ses'
  | 'tty'
  | 'comm'
  | 'exe'
  | 'argv'
  | 'cwd'
  | 'proc_start'
  | 'proc_gone'
  | 'parent_exe'
  | 'parent_comm'
  | 'parent_argv'
  | 'container_id'
  | 'container_runtime'
  | 'pod_uid'
  | 'unit'
  | 'labels'
  | 'key'
  | 'fd'
>;

/** The process fields of an entry no process is known for (a packet's; a socket's with only its owner's uid). */
export function noProcess(uid: number | null): ProcessFields {
  return {
    pid: null,
    ppid: null,
    uid,
    user: null,
    euid: null,
    euser: null,
    gid: null,
    group: null,
    auid: null,
    auser: null,
    ses: null,
    tty: null,
    comm: null,
    exe: null,
    argv: [],
    ...unresolvedContext(),
    key: null,
    fd: null,
  };
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
      // A listener bound to one address names the local end exactly; a lookup may have met a later socket.
      local = known?.local !== undefined && !isUnspecified(known.local) ? known.local : (proc?.local ?? known?.local);
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
    remote_name: null,
    remote_cname: null,
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
    ...unresolvedContext(),
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
