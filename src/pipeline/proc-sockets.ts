// Proc sockets: a socket the events did not show being made, found through /proc:
// /proc/<pid>/fd/<fd> → socket:[inode] → the row with that inode in /proc/<pid>/net/*,
// which gives its protocol, its local address and port, and a connected socket's peer.
//
// The kernel prints a /proc/net table anew, every socket of the network namespace, on each
// read: that read is the cost of a lookup (bench/proc-socket-lookup.ts: about 8 ms with 1,500
// sockets here, per lookup). So the rows read are kept for a short time (ttlMs), indexed by
// socket inode, per network namespace and table: a process sending again and again from one
// socket costs one read per ttl, and a burst of new connections one read for all the sockets
// that existed when it was made. A socket missing from a kept table may be newer than the
// read: the table is read again for it, once. The fd → inode link is read on every lookup,
// since fds are reused.
import { readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { ipv4Text, ipv6Text, isIpv4Mapped } from '../linux/ip-text.js';
import { readBootTimeMs, readProcStat, START_TOLERANCE_MS, startTimeMs } from './process/proc-stat.js';
import { type Endpoint, type SocketHint, type SocketInfo, type SocketResolver } from './socket-kinds.js';
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM } from '../linux/socket.js';

interface ProcNetTable {
  file: string;
  family: number;
  type: number;
  protocol: number | 'port';
}

// The /proc/net tables that name an inet socket's protocol, and the socket type each implies.
const PROC_NET_TABLES: readonly ProcNetTable[] = [
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

export interface ProcSocketResolverOptions {
  procRoot?: string;
  /**
   * How long the rows of a table read are used, ms (default 1000; 0 reads the tables on
   * every lookup). A row can be that much out of date: a UDP socket that connect()s after
   * its table was read shows no peer until the next read.
   */
  ttlMs?: number;
  /** Network namespaces whose tables are kept, at most; the least recently used goes first (default 64). */
  maxNamespaces?: number;
  /** A table with more rows than this is searched, not kept (default 65536). */
  maxRows?: number;
  /** The clock for ttlMs, in ms (default performance.now). */
  now?: () => number;
  /** The wall clock, ms since the epoch, for process start times (default Date.now). */
  wallNow?: () => number;
}

interface KeptTable {
  readAt: number;
  /** Socket inode → its line, parsed (and replaced by the result) when first looked up. */
  rows: Map<string, string | SocketInfo | undefined>;
}

/** Reads /proc; root (or CAP_SYS_PTRACE) is needed for other users' processes. */
export function procSocketResolver(options: ProcSocketResolverOptions = {}): SocketResolver {
  const procRoot = options.procRoot ?? '/proc';
  const tables = new ProcNetTables(procRoot, options);
  const wallNow = options.wallNow ?? Date.now;
  return (pid, fd, hint, eventMs) => {
    const inode = /^socket:\[(\d+)\]$/.exec(readLink(`${procRoot}/${pid}/fd/${fd}`) ?? '')?.[1];
    if (inode === undefined) return undefined;
    // Read after the link: a process at pid then that had started by the event was there all along,
    // so the link was its own; one that started after it is another process (pid reuse).
    if (eventMs !== undefined && !startedBy(procRoot, pid, eventMs, wallNow)) return undefined;
    return tables.find(pid, inode, tablesFor(hint));
  };
}

/**
 * Whether the process at `pid` now had started by the event at `eventMs`; false when it is gone, or
 * when /proc/uptime cannot be read (no answer rather than perhaps another process's).
 */
function startedBy(procRoot: string, pid: number, eventMs: number, wallNow: () => number): boolean {
  const stat = readProcStat(procRoot, pid);
  if (stat === undefined) return false;
  try {
    return startTimeMs(readBootTimeMs(procRoot, wallNow), stat.startTicks) <= eventMs + START_TOLERANCE_MS;
  } catch {
    return false;
  }
}

/**
 * The tables a socket can be listed in. With a hint from its socket() event, only its own,
 * or none (AF_UNIX, SCTP, ...): the TCP tables cost the most to read (the kernel walks every
 * bucket of its hash tables, about 7 ms here even when empty), and a UDP socket is never there.
 */
function tablesFor(hint: SocketHint | undefined): readonly ProcNetTable[] {
  if (!hint) return PROC_NET_TABLES;
  return PROC_NET_TABLES.filter((table) => table.family === hint.family && table.type === hint.type && (table.protocol === 'port' || table.protocol === hint.protocol));
}

class ProcNetTables {
  private readonly namespaces = new Map<string, Map<string, KeptTable>>();
  private readonly ttlMs: number;
  private readonly maxNamespaces: number;
  private readonly maxRows: number;
  private readonly now: () => number;

  constructor(
    private readonly procRoot: string,
    options: ProcSocketResolverOptions,
  ) {
    this.ttlMs = Math.max(0, options.ttlMs ?? 1000);
    this.maxNamespaces = Math.max(1, options.maxNamespaces ?? 64);
    this.maxRows = Math.max(0, options.maxRows ?? 65536);
    this.now = options.now ?? (() => performance.now());
  }

  find(pid: number, inode: string, tables: readonly ProcNetTable[]): SocketInfo | undefined {
    const kept = this.ttlMs > 0 ? this.keptTablesOf(pid) : undefined;
    const readBefore: ProcNetTable[] = [];
    for (const table of tables) {
      const keptTable = kept?.get(table.file);
      if (keptTable && this.now() - keptTable.readAt < this.ttlMs) {
        if (keptTable.rows.has(inode)) return lookUp(keptTable, table, inode);
        readBefore.push(table);
        continue;
      }
      const found = this.read(pid, table, inode, kept);
      if (found) return found;
    }
    for (const table of readBefore) {
      const found = this.read(pid, table, inode, kept);
      if (found) return found;
    }
    return undefined;
  }

  /** The tables kept for the pid's network namespace; undefined when it cannot be named. */
  private keptTablesOf(pid: number): Map<string, KeptTable> | undefined {
    const netns = readLink(`${this.procRoot}/${pid}/ns/net`);
    if (netns === undefined) return undefined;
    let kept = this.namespaces.get(netns);
    if (kept) {
      this.namespaces.delete(netns);
    } else {
      kept = new Map();
    }
    this.namespaces.set(netns, kept);
    if (this.namespaces.size > this.maxNamespaces) {
      const oldest = this.namespaces.keys().next();
      if (!oldest.done) this.namespaces.delete(oldest.value);
    }
    return kept;
  }

  private read(pid: number, table: ProcNetTable, inode: string, kept: Map<string, KeptTable> | undefined): SocketInfo | undefined {
    let text: string;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/net/${table.file}`, 'latin1');
    } catch {
      kept?.delete(table.file);
      return undefined;
    }
    const rows = kept ? indexRows(text, this.maxRows) : undefined;
    if (!rows) {
      kept?.delete(table.file);
      return socketInfo(table, findProcNetRow(text, inode, table.family));
    }
    const keptTable = { readAt: this.now(), rows };
    kept?.set(table.file, keptTable);
    return lookUp(keptTable, table, inode);
  }
}

function lookUp(kept: KeptTable, table: ProcNetTable, inode: string): SocketInfo | undefined {
  const row = kept.rows.get(inode);
  if (typeof row !== 'string') return row;
  const info = socketInfo(table, parseProcNetLine(row, table.family));
  kept.rows.set(inode, info);
  return info;
}

function socketInfo(table: ProcNetTable, row: ProcNetRow | undefined): SocketInfo | undefined {
  if (!row) return undefined;
  const protocol = table.protocol === 'port' ? row.local.port : table.protocol;
  const remote = row.remote.port === 0 && row.remote.bytes.every((byte) => byte === 0) ? undefined : row.remote;
  return { family: table.family, type: table.type, protocol, local: row.local, remote, source: 'proc' };
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** inode → line of every row; undefined when there are more than `maxRows`. */
function indexRows(text: string, maxRows: number): Map<string, string | SocketInfo | undefined> | undefined {
  const rows = new Map<string, string | SocketInfo | undefined>();
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end);
    start = end + 1;
    const inode = inodeColumn(line);
    if (inode === undefined) continue;
    if (rows.size >= maxRows) return undefined;
    rows.set(inode, line);
  }
  return rows;
}

/** The tenth column (inode) of a row, without splitting the line; undefined for the header. */
function inodeColumn(line: string): string | undefined {
  let column = 0;
  for (let i = 0; i < line.length; ) {
    while (line.charCodeAt(i) === 32) i++;
    const start = i;
    while (i < line.length && line.charCodeAt(i) !== 32) i++;
    if (start === i) return undefined;
    if (column === 9) {
      const value = line.slice(start, i);
      return /^\d+$/.test(value) ? value : undefined;
    }
    column++;
  }
  return undefined;
}

/**
 * The row whose inode column is `inode`. Only lines holding the inode as a separate word are
 * parsed; a coincidence in another column is checked and skipped.
 */
export function findProcNetRow(text: string, inode: string, family: number): ProcNetRow | undefined {
  const needle = ` ${inode} `;
  for (let from = 0; ; ) {
    const at = text.indexOf(needle, from);
    if (at === -1) return undefined;
    const start = text.lastIndexOf('\n', at) + 1;
    const newline = text.indexOf('\n', at);
    const end = newline === -1 ? text.length : newline;
    const row = parseProcNetLine(text.slice(start, end), family);
    if (row?.inode === inode) return row;
    from = end;
  }
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
