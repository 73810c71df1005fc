// Sockets: what kind of socket a (pid, fd) is. Built from the socket() events the rules
// audit (a0 domain, a1 type, a2 protocol, exit = fd); where it has no entry (the socket was
// made before auditflow started, or its socket() was not audited) a resolver reads /proc
// (proc-sockets.ts), which also gives the socket's local (and connected peer's) address and port.
import { effectiveProtocol, socketType } from '../linux/socket.js';
import { type Endpoint, type SocketHint, type SocketInfo, type SocketResolver } from './socket-kinds.js';

export { type Endpoint, type SocketHint, type SocketInfo, type SocketResolver } from './socket-kinds.js';
export { parseProcNetLine, procSocketResolver, type ProcSocketResolverOptions } from './proc-sockets.js';

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
   * kernel choose, and the record does not say what it chose: that port stays unknown. `readAtUs`:
   * the end was read from the socket then (a lookup), not taken from a record.
   */
  setLocal(pid: number, fd: number, local: Endpoint, readAtUs?: number): void {
    const entry = this.entries.get(key(pid, fd));
    if (entry && local.port !== 0) {
      entry.local = local;
      entry.readAtUs = readAtUs;
    }
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

  /**
   * /proc's view of the socket, when a resolver was given and the process still has it.
   * `hint` is what the table knows of it (for an accepted socket: of the listening one); `eventMs`
   * the time of the event asking.
   */
  resolve(pid: number, fd: number, hint?: SocketHint, eventMs?: number): SocketInfo | undefined {
    return this.resolver?.(pid, fd, hint, eventMs);
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
