// The socket step, before a flow is built: reads which socket call an event is, keeps the socket
// table up to date with it (socket(), bind(), connect(), accept(), and what a lookup learned), asks
// for a lookup only where the event does not say enough, and applies the family filter before that
// lookup wherever the event or the table already names the family. toFlow (./flow.ts) then only
// reads what this step found.
import { stringValue, type EarlyLookup, type EventRecords } from './event-records.js';
import { AF_INET, AF_INET6, familyName } from '../linux/socket.js';
import { decodeSockaddrHex, sockaddrFamily, type Sockaddr, type SockaddrError } from './sockaddr.js';
import { resultName, socketCall, type Call, type Op } from './socket-calls.js';
import type { Endpoint, SocketInfo } from './socket-kinds.js';
import type { SocketTable } from './sockets.js';
import type { LocalCheck } from './local-check.js';

export const DEFAULT_FAMILIES: ReadonlySet<string> = new Set(['inet', 'inet6']);

/** What the socket step found out about a network call that passed the family filter. */
export interface SocketFacts {
  kind: 'flow';
  call: Call;
  op: Op;
  pid: number | undefined;
  exit: number | undefined;
  success: boolean;
  /** a0: the socket (an accept's listener). */
  fd: number;
  /** An accept's new socket, when it succeeded. */
  acceptedFd: number | undefined;
  /** The SOCKADDR record's address. */
  address: Sockaddr | undefined;
  addressEnd: Endpoint | undefined;
  family: string;
  /** The table's entry (after this event's changes to it) and the lookup's answer. */
  known: SocketInfo | undefined;
  proc: SocketInfo | undefined;
}

export type SocketStep =
  | SocketFacts
  /** A network syscall of a family the filter does not keep. */
  | { kind: 'dropped'; family: string }
  /** The SOCKADDR record could not be decoded. */
  | { kind: 'bad-sockaddr'; error: SockaddrError }
  /** Not a flow: another syscall, a socket(), or no SYSCALL record. */
  | { kind: 'none' };

/**
 * Updates the socket table from one event; says whether it is a flow, and what its socket is.
 * `check` is told of each fd a socket() or accept gave a new socket.
 */
export function updateSockets(event: EventRecords, sockets: SocketTable, families: ReadonlySet<string> | 'all' = DEFAULT_FAMILIES, check?: LocalCheck): SocketStep {
  const syscall = event.syscall;
  if (!syscall) return { kind: 'none' };
  const call = socketCall(syscall, event.socketcall);
  if (!call) return { kind: 'none' };

  const pid = syscall.number('pid');
  const exit = syscall.number('exit');
  const success = syscall.value('success') === 'yes';
  if (pid !== undefined) sockets.observeProcess(pid, stringValue(syscall, 'exe'));
  const fd = call.args[0];

  if (call.op === 'socket') {
    if (success && pid !== undefined && exit !== undefined && exit >= 0) {
      sockets.addSocket(pid, exit, call.args[0], call.args[1], call.args[2]);
      check?.opened(pid, exit, event.serial, event.time);
    }
    return { kind: 'none' };
  }
  const op: Op = call.op;
  const acceptedFd = op === 'accept' && success && exit !== undefined && exit >= 0 ? exit : undefined;

  let address: Sockaddr | undefined;
  if (event.saddr !== undefined) {
    const decoded = decodeSockaddrHex(event.saddr);
    if (!decoded.ok) return { kind: 'bad-sockaddr', error: decoded.error };
    address = decoded.value;
  }

  let known = pid === undefined ? undefined : sockets.get(pid, fd);
  const started = success || resultName(success, exit) === 'inprogress';
  // The family, where the event or the table says it: a socket of a family the filter drops is
  // never looked up.
  const early = address ? sockaddrFamily(address) : known ? familyName(known.family) : undefined;
  const kept = (family: string): boolean => families === 'all' || families.has(family);
  // The resolver (/proc, or the socket itself) is asked only for what the events did not say: a
  // connected socket's local side, an accepted socket's local side unless its listener is bound to
  // one address (a wildcard listener's connections each have their own) and its peer when the accept
  // copied no address out (a NULL address buffer: no SOCKADDR), a sending socket's local
  // side until it is known, or a socket whose socket() was not seen. A connect that failed has no
  // local side to ask for (a refused TCP socket is unhashed at once).
  const needsProc =
    pid !== undefined &&
    (early === undefined || kept(early)) &&
    (op === 'connect'
      ? started
      : op === 'accept'
        ? address === undefined || known?.local === undefined || isUnspecified(known.local)
        : known === undefined || known.local === undefined || (address === undefined && op !== 'bind'));
  let proc = needsProc && pid !== undefined ? lookUp(event, sockets, pid, acceptedFd ?? fd, known, endpointOf(address)) : undefined;
  if (pid !== undefined && proc !== undefined && op !== 'accept') rememberResolved(sockets, pid, fd, known, proc, op);
  if (acceptedFd !== undefined && address === undefined && known === undefined && pid !== undefined && (proc === undefined ? !foundOtherFamily(event.lookup, pid, acceptedFd) : proc.family === AF_INET || proc.family === AF_INET6)) {
    known = learnListener(sockets, pid, fd, event.time);
    // A lookup that met a socket of another kind on the accepted fd met a later one.
    if (known !== undefined && proc !== undefined && (proc.family !== known.family || proc.type !== known.type)) proc = undefined;
  }

  const familyNumber = address ? undefined : (known?.family ?? proc?.family);
  const family = address ? sockaddrFamily(address) : familyNumber !== undefined ? familyName(familyNumber) : 'unknown';
  const addressEnd = endpointOf(address);
  if (pid !== undefined && started) {
    if (op === 'bind' && addressEnd) sockets.setLocal(pid, fd, addressEnd);
    // A connect with AF_UNSPEC dissolves a datagram socket's association (man 2 connect).
    if (op === 'connect') sockets.setRemote(pid, fd, addressEnd);
    if (acceptedFd !== undefined) {
      sockets.addAccepted(pid, fd, acceptedFd);
      check?.opened(pid, acceptedFd, event.serial, event.time);
    }
  }
  if (!kept(family)) return { kind: 'dropped', family };
  return { kind: 'flow', call, op, pid, exit, success, fd, acceptedFd, address, addressEnd, family, known, proc };
}

/**
 * The addon's early lookup when it made one for this socket, else the table's resolver. A lookup is
 * made after the syscall: a program that closed the socket at once and made another, which got the
 * same fd, has that other socket asked. One whose peer is not the event's address, or of another
 * type than the table knows, is such a one: the event's own socket is gone (its destroy broadcast
 * may still give its local end, ./flow-ends.ts).
 */
function lookUp(event: EventRecords, sockets: SocketTable, pid: number, fd: number, known: SocketInfo | undefined, addressEnd: Endpoint | undefined): SocketInfo | undefined {
  const early = event.lookup;
  if (early === undefined || early.pid !== pid || early.fd !== fd) return sockets.resolve(pid, fd, known, event.time);
  const info = early.info;
  if (info === undefined) return undefined;
  const otherPeer = addressEnd !== undefined && info.remote !== undefined && (info.remote.addr !== addressEnd.addr || info.remote.port !== addressEnd.port);
  const otherKind = known !== undefined && (known.type !== info.type || known.family !== info.family);
  return otherPeer || otherKind ? undefined : info;
}

/** Whether the addon's early lookup found the socket, and it is not an inet one (an AF_UNIX accept's): its listener is not either. */
function foundOtherFamily(lookup: EarlyLookup | undefined, pid: number, fd: number): boolean {
  return lookup !== undefined && lookup.pid === pid && lookup.fd === fd && lookup.info === undefined && lookup.goneByUs === undefined;
}

/**
 * The listener of an accept that told nothing of its new socket: accept4(fd, NULL, ...) (libuv's way)
 * gives no SOCKADDR, and a connection closed before its lookup leaves no socket to ask, or a later
 * one on the same fd. When the listener's socket() was not seen either, the event alone does not even
 * say the family. The listener is asked: it outlives its connections, and its family, protocol and
 * (bound to one address) local end are the accepted socket's. Kept, so the next such accept needs no
 * lookup. A socket with a peer on that fd is not a listener (the fd was reused): no answer.
 */
function learnListener(sockets: SocketTable, pid: number, fd: number, eventMs: number): SocketInfo | undefined {
  const found = sockets.resolve(pid, fd, undefined, eventMs);
  if (found === undefined || found.remote !== undefined) return undefined;
  // Without its read time: the local check (./local-check.ts) asks whether an fd named a later socket
  // when it was read, and this read was of the listener's fd, not of the accepted socket's.
  const listener: SocketInfo = { family: found.family, type: found.type, protocol: found.protocol, local: found.local, remote: undefined, source: found.source };
  sockets.learn(pid, fd, listener);
  return listener;
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
  if (op === 'connect' || known.local === undefined) sockets.setLocal(pid, fd, proc.local, proc.readAtUs);
}

/** An inet or inet6 address as an endpoint; undefined for other families. */
export function endpointOf(address: Sockaddr | undefined): Endpoint | undefined {
  if (address?.family === 'inet' || address?.family === 'inet6') return { addr: address.addr, port: address.port, bytes: address.bytes };
  return undefined;
}

export const isUnspecified = (end: Endpoint): boolean => end.bytes.every((byte) => byte === 0);
