// Sockets: what kind of socket a (pid, fd) is. Built from the socket() events the rules
// audit (a0 domain, a1 type, a2 protocol, exit = fd); where it has no entry (the socket was
// made before auditflow started, or its socket() was not audited) a resolver reads /proc:
// /proc/<pid>/fd/<fd> → socket:[inode] → the row with that inode in /proc/<pid>/net/*,
// which also gives the socket's local (and connected peer's) address and port.
import { readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { AF_INET, AF_INET6, ipv4Text, ipv6Text, isIpv4Mapped } from './sockaddr.js';

// include/linux/net.h enum sock_type, and SOCK_TYPE_MASK (the flags SOCK_NONBLOCK = 0x800
// and SOCK_CLOEXEC = 0x80000 of include/linux/net.h sit above it).
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
const SOCK_TYPE_MASK = 0xf;

// IANA protocol numbers (include/uapi/linux/in.h IPPROTO_*); MPTCP's 262 is Linux's own.
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'icmp'],
  [2, 'igmp'],
  [6, 'tcp'],
  [17, 'udp'],
  [33, 'dccp'],
  [47, 'gre'],
  [58, 'ipv6-icmp'],
  [132, 'sctp'],
  [136, 'udplite'],
  [255, 'raw'],
  [262, 'mptcp'],
]);

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES.get(protocol) ?? `proto_${protocol}`;
}

export interface Endpoint {
  addr: string;
  port: number;
  /** Raw address bytes (4 or 16), for the Community ID. */
  bytes: Buffer;
}

export interface SocketInfo {
  family: number;
  /** SOCK_STREAM, SOCK_DGRAM, ... with the flag bits removed. */
  type: number;
  /** The IP protocol in effect: socket()'s protocol, or the one its type selects when 0. */
  protocol: number;
  local: Endpoint | undefined;
  /** The connected peer: from the socket's connect, or from /proc. */
  remote: Endpoint | undefined;
  source: 'socket' | 'proc';
}

/** What socket() with protocol 0 selects for an inet socket (net/ipv4/af_inet.c inetsw_array). */
export function effectiveProtocol(family: number, type: number, protocol: number): number {
  if (protocol !== 0 || (family !== AF_INET && family !== AF_INET6)) return protocol;
  if (type === SOCK_STREAM) return 6;
  if (type === SOCK_DGRAM) return 17;
  if (type === SOCK_SEQPACKET) return 132;
  return protocol;
}

export const socketType = (rawType: number): number => rawType & SOCK_TYPE_MASK;

/** Finds a socket through /proc; the live daemon passes procSocketResolver, replay nothing. */
export type SocketResolver = (pid: number, fd: number) => SocketInfo | undefined;

export interface SocketTableOptions {
  /** Entries kept at most; the least recently used goes first (default 65536). */
  maxEntries?: number;
  resolver?: SocketResolver;
}

export class SocketTable {
  private readonly entries = new Map<string, SocketInfo>();
  private readonly byPid = new Map<number, Set<number>>();
  private readonly exeByPid = new Map<number, string>();
  private readonly maxEntries: number;
  private readonly resolver: SocketResolver | undefined;

  constructor(options: SocketTableOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 65536);
    this.resolver = options.resolver;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A successful socket(domain, type, protocol) = fd. */
  addSocket(pid: number, fd: number, domain: number, rawType: number, protocol: number): void {
    const type = socketType(rawType);
    this.set(pid, fd, { family: domain, type, protocol: effectiveProtocol(domain, type, protocol), local: undefined, remote: undefined, source: 'socket' });
  }

  /**
   * A successful bind: the socket's local address is now known. A bind to port 0 lets the
   * kernel choose, and the record does not say what it chose: that port stays unknown.
   */
  setLocal(pid: number, fd: number, local: Endpoint): void {
    const entry = this.entries.get(key(pid, fd));
    if (entry && local.port !== 0) entry.local = local;
  }

  /** A connect (also one in progress): later sends without an address go to this peer. */
  setRemote(pid: number, fd: number, remote: Endpoint | undefined): void {
    const entry = this.entries.get(key(pid, fd));
    if (entry) entry.remote = remote;
  }

  /** A socket the resolver found (its socket() was not seen): later events need no lookup. */
  learn(pid: number, fd: number, info: SocketInfo): void {
    this.set(pid, fd, { ...info });
  }

  /** A successful accept: the new fd is a socket like the listening one, on its local address. */
  addAccepted(pid: number, listenFd: number, fd: number): void {
    const listener = this.entries.get(key(pid, listenFd));
    if (listener) this.set(pid, fd, { ...listener, remote: undefined, source: 'socket' });
  }

  /** The table's entry, without going to /proc. */
  get(pid: number, fd: number): SocketInfo | undefined {
    const id = key(pid, fd);
    const entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
    }
    return entry;
  }

  /** /proc's view of the socket, when a resolver was given and the process still has it. */
  resolve(pid: number, fd: number): SocketInfo | undefined {
    return this.resolver?.(pid, fd);
  }

  /**
   * Called with each syscall event's process. A pid whose exe changed has exec'd or was
   * reused by a new process: its sockets (close-on-exec, or another process's) are forgotten.
   */
  observeProcess(pid: number, exe: string | undefined): void {
    if (exe === undefined) return;
    const before = this.exeByPid.get(pid);
    if (before !== undefined && before !== exe) this.forgetProcess(pid);
    this.exeByPid.delete(pid);
    this.exeByPid.set(pid, exe);
    if (this.exeByPid.size > this.maxEntries) {
      const oldest = this.exeByPid.keys().next();
      if (!oldest.done) this.exeByPid.delete(oldest.value);
    }
  }

  /** The process exited (or its pid was reused): drop its sockets. */
  forgetProcess(pid: number): void {
    for (const fd of this.byPid.get(pid) ?? []) this.entries.delete(key(pid, fd));
    this.byPid.delete(pid);
    this.exeByPid.delete(pid);
  }

  private set(pid: number, fd: number, info: SocketInfo): void {
    const id = key(pid, fd);
    this.entries.delete(id);
    this.entries.set(id, info);
    let fds = this.byPid.get(pid);
    if (!fds) {
      fds = new Set();
      this.byPid.set(pid, fds);
    }
    fds.add(fd);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
      const [oldPid, oldFd] = oldest.value.split(':').map(Number) as [number, number];
      const set = this.byPid.get(oldPid);
      set?.delete(oldFd);
      if (set?.size === 0) this.byPid.delete(oldPid);
    }
  }
}

const key = (pid: number, fd: number): string => `${pid}:${fd}`;

// The /proc/net tables that name an inet socket's protocol, and the socket type each implies.
const PROC_NET_TABLES: ReadonlyArray<{ file: string; family: number; type: number; protocol: number | 'port' }> = [
  { file: 'tcp', family: AF_INET, type: SOCK_STREAM, protocol: 6 },
  { file: 'tcp6', family: AF_INET6, type: SOCK_STREAM, protocol: 6 },
  { file: 'udp', family: AF_INET, type: SOCK_DGRAM, protocol: 17 },
  { file: 'udp6', family: AF_INET6, type: SOCK_DGRAM, protocol: 17 },
  { file: 'udplite', family: AF_INET, type: SOCK_DGRAM, protocol: 136 },
  { file: 'udplite6', family: AF_INET6, type: SOCK_DGRAM, protocol: 136 },
  // net/ipv4/raw.c raw_sock_seq_show: a raw socket's "local port" column is its protocol.
  { file: 'raw', family: AF_INET, type: SOCK_RAW, protocol: 'port' },
  { file: 'raw6', family: AF_INET6, type: SOCK_RAW, protocol: 'port' },
];

/** Reads /proc; root (or CAP_SYS_PTRACE) is needed for other users' processes. */
export function procSocketResolver(procRoot = '/proc'): SocketResolver {
  return (pid, fd) => {
    let link: string;
    try {
      link = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
    } catch {
      return undefined;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode === undefined) return undefined;
    for (const table of PROC_NET_TABLES) {
      let text: string;
      try {
        text = readFileSync(`${procRoot}/${pid}/net/${table.file}`, 'latin1');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const row = parseProcNetLine(line, table.family);
        if (row?.inode !== inode) continue;
        const protocol = table.protocol === 'port' ? row.local.port : table.protocol;
        return { family: table.family, type: table.type, protocol, local: row.local, remote: row.remote.port === 0 && isZero(row.remote.bytes) ? undefined : row.remote, source: 'proc' };
      }
    }
    return undefined;
  };
}

export interface ProcNetRow {
  local: Endpoint;
  remote: Endpoint;
  inode: string;
}

/**
 * One row of /proc/net/{tcp,udp,raw}{,6} (net/ipv4/tcp_ipv4.c get_tcp4_sock): addresses are
 * the in-memory words printed with %08X, so each 32-bit group is in host byte order; ports
 * are printed after ntohs. Returns undefined for the header and anything malformed.
 */
export function parseProcNetLine(line: string, family: number, hostEndianness: 'LE' | 'BE' = endianness()): ProcNetRow | undefined {
  const columns = line.trim().split(/\s+/);
  if (columns.length < 10 || !/^\d+:$/.test(columns[0] ?? '')) return undefined;
  const local = procEndpoint(columns[1] ?? '', family, hostEndianness);
  const remote = procEndpoint(columns[2] ?? '', family, hostEndianness);
  const inode = columns[9] ?? '';
  if (!local || !remote || !/^\d+$/.test(inode)) return undefined;
  return { local, remote, inode };
}

function procEndpoint(text: string, family: number, hostEndianness: 'LE' | 'BE'): Endpoint | undefined {
  const match = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(text);
  if (!match) return undefined;
  const hex = match[1] ?? '';
  const wantLength = family === AF_INET6 ? 32 : 8;
  if (hex.length !== wantLength) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  if (hostEndianness === 'LE') for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  const port = Number.parseInt(match[2] ?? '0', 16);
  if (family === AF_INET) return { addr: ipv4Text(bytes), port, bytes };
  if (isIpv4Mapped(bytes)) return { addr: ipv4Text(bytes.subarray(12)), port, bytes: Buffer.from(bytes.subarray(12)) };
  return { addr: ipv6Text(bytes), port, bytes };
}

const isZero = (bytes: Buffer): boolean => bytes.every((byte) => byte === 0);
