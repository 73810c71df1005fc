// The start's snapshot (flow_end): the TCP connections and listeners and the UDP sockets that exist
// when the daemon starts, from a sock_diag dump (native/sock_diag.cc sockDiagDump), each named by
// the process holding it: its inode looked up in /proc/<pid>/fd. They become `existing` entries,
// and the close entries of their sockets carry that process. Bounded in time: the dump and the
// /proc walk stop at their deadline, and what was not reached is published without a process.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { AuditBinding } from '../native/binding.js';
import { existingFlow } from '../pipeline/close-flow.js';
import { noProcess, type Flow, type ProcessFields } from '../pipeline/flow.js';
import { parseInetDiag, type InetDiagSocket } from '../linux/inet-diag.js';
import { AF_INET, AF_INET6 } from '../linux/socket.js';
import { readProcLink } from '../pipeline/process/proc-files.js';
import { readProcStat } from '../pipeline/process/proc-stat.js';

// include/net/tcp_states.h
const TCP_ESTABLISHED = 1;
const TCP_LISTEN = 10;
/** Connections still open for data (SYN_SENT, SYN_RECV are not yet, FIN_WAIT and later are closing; TIME_WAIT has no owner). */
const KEPT_TCP_STATES: ReadonlySet<number> = new Set([TCP_ESTABLISHED, TCP_LISTEN, 8 /* CLOSE_WAIT */]);
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

export interface ExistingSnapshot {
  flows: Flow[];
  /** Sockets listed, and of them found in some process's fd table. */
  sockets: number;
  owned: number;
  /** false when the dump or the /proc walk stopped at its deadline. */
  complete: boolean;
  ms: number;
}

/** The sockets of the four (family, protocol) dumps, TCP only in the kept states. */
function dumpSockets(binding: AuditBinding, deadline: number, now: () => number): { sockets: InetDiagSocket[]; complete: boolean } {
  const sockets: InetDiagSocket[] = [];
  let complete = true;
  for (const [family, protocol] of [
    [AF_INET, IPPROTO_TCP],
    [AF_INET6, IPPROTO_TCP],
    [AF_INET, IPPROTO_UDP],
    [AF_INET6, IPPROTO_UDP],
  ] as const) {
    const left = deadline - now();
    if (left <= 0) return { sockets, complete: false };
    const dump = binding.sockDiagDump(family, protocol, left);
    complete &&= dump.complete;
    for (let i = 0; i + 1 < dump.offsets.length; i += 2) {
      const at = dump.offsets[i] as number;
      const parsed = parseInetDiag(dump.data.subarray(at, at + (dump.offsets[i + 1] as number)));
      if (!parsed.ok || parsed.socket.inode === 0) continue;
      // A dump's reply names the protocol by the request; INET_DIAG_PROTOCOL is not always there.
      const socket = { ...parsed.socket, protocol: parsed.socket.protocol ?? protocol };
      if (protocol === IPPROTO_TCP && !KEPT_TCP_STATES.has(socket.state)) continue;
      sockets.push(socket);
    }
  }
  return { sockets, complete };
}

/** inode → pid for the inodes asked, walking /proc/<pid>/fd until all are found or the deadline. */
export function socketOwners(procRoot: string, inodes: ReadonlySet<number>, deadline: number, now: () => number): { owners: Map<number, number>; complete: boolean } {
  const owners = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return { owners, complete: false };
  }
  for (const pid of pids) {
    if (owners.size === inodes.size) break;
    if (now() > deadline) return { owners, complete: false };
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith('socket:[')) continue;
      const inode = Number(target.slice(8, -1));
      if (inodes.has(inode) && !owners.has(inode)) owners.set(inode, Number(pid));
    }
  }
  return { owners, complete: true };
}

/** uid, euid, gid of a process from /proc/<pid>/status (proc(5): "Uid: real effective saved fs"). */
function ids(procRoot: string, pid: number): { uid: number; euid: number; gid: number } | undefined {
  try {
    const status = readFileSync(`${procRoot}/${pid}/status`, 'latin1');
    const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    const gid = /^Gid:\s+(\d+)/m.exec(status);
    if (!uid || !gid) return undefined;
    return { uid: Number(uid[1]), euid: Number(uid[2]), gid: Number(gid[1]) };
  } catch {
    return undefined;
  }
}

/**
 * A TCP connection is `ingress` when its local end is one this host listens on (the listener's
 * port, on its address or the wildcard), else `egress`; listeners and unconnected UDP sockets `listen`.
 */
function directionOf(socket: InetDiagSocket, listening: ReadonlySet<string>): Flow['direction'] {
  if (socket.state === TCP_LISTEN || (socket.remotePort === 0 && socket.protocol === IPPROTO_UDP)) return 'listen';
  if (socket.protocol !== IPPROTO_TCP) return 'egress';
  const wildcard = socket.family === AF_INET ? '0.0.0.0' : '::';
  return listening.has(`${socket.localAddr}|${socket.localPort}`) || listening.has(`${wildcard}|${socket.localPort}`) ? 'ingress' : 'egress';
}

/** The snapshot: at most `timeoutMs` for the dump and the /proc walk together. */
export function existingSockets(binding: AuditBinding, options: { timeoutMs: number; procRoot?: string; now?: () => number; selfPid?: number }): ExistingSnapshot {
  const now = options.now ?? Date.now;
  const procRoot = options.procRoot ?? '/proc';
  const started = now();
  const deadline = started + options.timeoutMs;
  const dumped = dumpSockets(binding, deadline, now);
  const found = socketOwners(procRoot, new Set(dumped.sockets.map((socket) => socket.inode)), deadline, now);
  const listening = new Set(dumped.sockets.filter((socket) => socket.state === TCP_LISTEN).map((socket) => `${socket.localAddr}|${socket.localPort}`));
  const flows: Flow[] = [];
  for (const socket of dumped.sockets) {
    const pid = found.owners.get(socket.inode);
    if (pid !== undefined && pid === options.selfPid) continue;
    const owner = pid === undefined ? undefined : ownerOf(procRoot, pid, socket.uid);
    flows.push(existingFlow(socket, started, directionOf(socket, listening), owner));
  }
  return { flows, sockets: dumped.sockets.length, owned: found.owners.size, complete: dumped.complete && found.complete, ms: now() - started };
}

/** What /proc says of the process at once (stat, status, exe); the process stage adds the rest. */
function ownerOf(procRoot: string, pid: number, uid: number): ProcessFields {
  const owner = noProcess(uid);
  const stat = readProcStat(procRoot, pid);
  const known = ids(procRoot, pid);
  return {
    ...owner,
    pid,
    ppid: stat?.ppid ?? null,
    comm: stat?.comm ?? null,
    exe: readProcLink(procRoot, pid, 'exe'),
    ...(known === undefined ? {} : known),
  };
}
