// Close and existing entries: a socket as sock_diag reports it (src/linux/inet-diag.ts) → a flow.
// Pure: the join (./flow-ends.ts) has found the flow that opened the socket, if any; a close takes
// that flow's process context, direction and Community ID, and adds what only the socket's end
// knows: how long it lived and, for TCP, what it moved (struct tcp_info, include/uapi/linux/tcp.h).
import { communityId } from './community-id.js';
import { PORT_PROTOCOLS, noProcess, type ProcessFields } from './flow.js';
import type { Endpoint } from './socket-kinds.js';
import { FLOW_SCHEMA_VERSION, type Flow } from '../schema/entries.js';
import type { InetDiagSocket } from '../linux/inet-diag.js';
import { ipTextBytes, ipv4Text, isIpv4Mapped } from '../linux/ip-text.js';
import { AF_INET, protocolName } from '../linux/socket.js';

/**
 * Addresses as flows write them, by sock_diag's text: a host's sockets use few addresses, and every
 * destroy is read for its ends several times (join, close entry). The bytes are shared (never written).
 */
const diagAddresses = new Map<string, { addr: string; bytes: Buffer }>();
const DIAG_ADDRESSES_MAX = 4096;

/** An end as flows write it: an IPv4-mapped IPv6 address as IPv4 (its `ipv4_mapped` says so). */
export function diagEnd(addr: string, port: number): Endpoint {
  let known = diagAddresses.get(addr);
  if (known === undefined) {
    const bytes = ipTextBytes(addr) ?? Buffer.alloc(4);
    const v4 = isIpv4Mapped(bytes) ? Buffer.from(bytes.subarray(12, 16)) : undefined;
    known = v4 === undefined ? { addr, bytes } : { addr: ipv4Text(v4), bytes: v4 };
    if (diagAddresses.size >= DIAG_ADDRESSES_MAX) diagAddresses.clear();
    diagAddresses.set(addr, known);
  }
  return { addr: known.addr, port, bytes: known.bytes };
}

/** Both ends of the socket, unspecified ones (an unconnected UDP socket's remote) as undefined. */
export function diagEnds(socket: InetDiagSocket): { local: Endpoint; remote: Endpoint | undefined } {
  const local = diagEnd(socket.localAddr, socket.localPort);
  const remote = diagEnd(socket.remoteAddr, socket.remotePort);
  return { local, remote: socket.remotePort === 0 && remote.bytes.every((b) => b === 0) ? undefined : remote };
}

function processOf(flow: Flow): ProcessFields {
  const { pid, ppid, uid, user, euid, euser, gid, group, auid, auser, ses, tty, comm, exe, argv, cwd, proc_start, proc_gone, parent_exe, parent_comm, parent_argv, container_id, container_runtime, pod_uid, unit, labels, key, fd } = flow;
  return { pid, ppid, uid, user, euid, euser, gid, group, auid, auser, ses, tty, comm, exe, argv, cwd, proc_start, proc_gone, parent_exe, parent_comm, parent_argv, container_id, container_runtime, pod_uid, unit, labels, key, fd };
}

/** The Community ID of the socket's ends (symmetric: which end opened does not matter). */
function endsCommunityId(protocol: number | null, local: Endpoint, remote: Endpoint | undefined): string | null {
  if (protocol === null || !PORT_PROTOCOLS.has(protocol) || remote === undefined) return null;
  return communityId(protocol, local, remote) ?? null;
}

/** The flow a sock_diag socket stands for, before its op's own fields. */
function socketFlow(socket: InetDiagSocket, op: 'close' | 'existing', ts: number, direction: Flow['direction'], owner: ProcessFields): Flow {
  const { local, remote } = diagEnds(socket);
  const protocol = socket.protocol;
  return {
    v: FLOW_SCHEMA_VERSION,
    kind: 'flow',
    node: null,
    ts,
    serial: 0,
    op,
    syscall: null,
    source: 'sock_diag',
    via: null,
    uring_op: null,
    direction,
    result: null,
    family: socket.family === AF_INET ? 'inet' : 'inet6',
    proto: protocol === null ? null : protocolName(protocol),
    proto_num: protocol,
    local_addr: local.addr,
    local_port: local.port,
    remote_addr: remote?.addr ?? null,
    remote_port: remote?.port ?? null,
    remote_name: null,
    remote_cname: null,
    ipv4_mapped: socket.family !== AF_INET && local.bytes.length === 4,
    scope_id: null,
    community_id: endsCommunityId(protocol, local, remote),
    mark: null,
    in_if: null,
    out_if: null,
    ...owner,
    socket_cookie: socket.cookie,
    count: 1,
    first_ts: ts,
    last_ts: ts,
  };
}

/**
 * The close entry of a destroyed socket, at `now` (ms), with the flow that opened it when the join
 * found one (its process, direction, Community ID, serial; `started` its time, or the daemon's start
 * for an `existing` opener). TCP adds tcp_info's counters: bytes_out is tcpi_bytes_sent (payload,
 * exact: measured equal to what the program wrote), bytes_in tcpi_bytes_received (payload, plus one
 * when the peer's FIN arrived while this socket was still open: docs/flows.md, "Close entries").
 */
export function closeFlow(socket: InetDiagSocket, now: number, opener: Flow | undefined): Flow {
  const flow = socketFlow(socket, 'close', now, opener?.direction ?? 'unknown', opener ? processOf(opener) : noProcess(socket.uid));
  if (opener !== undefined) {
    if (opener.community_id !== null && flow.remote_addr !== null) flow.community_id = opener.community_id;
    if (opener.op !== 'existing') flow.open_serial = opener.serial;
    flow.remote_name = opener.remote_name;
    flow.remote_cname = opener.remote_cname;
    flow.first_ts = opener.ts;
    flow.duration_ms = Math.max(0, now - opener.ts);
  }
  const tcp = socket.tcp;
  if (tcp !== null) {
    // tcpi_bytes_sent came with Linux 5.5; before it, no exact count of what was sent.
    if (tcp.bytesSent !== null) flow.bytes_out = tcp.bytesSent;
    flow.bytes_in = tcp.bytesReceived;
    flow.packets_out = tcp.segsOut;
    flow.packets_in = tcp.segsIn;
    flow.retransmits = tcp.totalRetrans;
    flow.rtt_us = tcp.rttUs;
  }
  return flow;
}

/** An `existing` entry: a socket the start's dump found, with its owner when /proc named one. */
export function existingFlow(socket: InetDiagSocket, now: number, direction: Flow['direction'], owner: ProcessFields | undefined): Flow {
  return socketFlow(socket, 'existing', now, direction, owner ?? noProcess(socket.uid));
}
