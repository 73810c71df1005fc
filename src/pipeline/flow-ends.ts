// Flow ends: joins each socket's destroy broadcast (sock_diag, src/linux/inet-diag.ts) to the flow
// that opened the socket, and gives the flows whose local end the socket lookup missed (a socket
// closed at once) the local end from that broadcast. It sits after the process context, before the
// aggregation, so the flows it keeps carry their process and every send is seen.
//
//   openers   the flows a close is joined to: a TCP connect or accept (by both ends), the first flow
//             of a UDP socket (by its local end), an `existing` entry; until the socket's destroy.
//   waiting   connect, accept and send flows without a local end, at most localWaitMs after their
//             event, by remote end: a destroy of that remote end after the event completes them. The
//             broadcast of an unconnected UDP socket names no remote end: a UDP send is completed by
//             a destroy of an unconnected UDP socket of its family and owner (euid). A TCP accept
//             without its peer (no address copied out, the socket gone before its lookup) waits by
//             its listener's family and port, for a destroy on that local end. Only where one flow
//             and one destroy fit: with several, nothing says which is whose.
//   held      destroys whose opener has not come through the pipeline yet (its audit records reach
//             it later than the broadcast), at most holdMs, by their ends (and an unconnected UDP
//             socket's by family and owner).
//
// A destroy's uid is the socket's owner (sk_uid): of the flows that fit its ends, the oldest whose
// euid or uid is that one is taken, else the oldest. Every table is bounded; what a full table
// pushes out is counted as the loss `flow_end_evicted`, except a held destroy that would give no
// entry anyway (closeWithoutOpener), which goes first. Time comes from the caller.
import { closeFlow, diagEnd, diagEnds } from './close-flow.js';
import { communityId } from './community-id.js';
import { Fifo } from './fifo.js';
import { PORT_PROTOCOLS, type Flow } from './flow.js';
import type { LossReport } from './loss.js';
import type { Endpoint } from './socket-kinds.js';
import type { InetDiagSocket } from '../linux/inet-diag.js';
import { isUnspecifiedText } from '../linux/ip-text.js';
import { AF_INET, protocolName } from '../linux/socket.js';

const TCP = 6;
const UDP = 17;

export interface FlowEndsOptions {
  /** Flows on their way on (to the aggregation), in the order they are released. */
  onFlow: (flow: Flow) => void;
  /** Close entries. */
  onClose: (flow: Flow) => void;
  onLoss: (report: LossReport) => void;
  /** How long a flow without a local end waits for its socket's destroy, ms after its event (0: not at all). */
  localWaitMs: number;
  /** How long a destroy waits for the flow that opened its socket, ms. */
  holdMs: number;
  maxOpeners?: number;
  maxWaiting?: number;
  maxHeld?: number;
  /**
   * When a flow's socket was found gone (its lookup met a closed fd or an exited process, or the local
   * check found its fd taken by a later socket), ms: its destroy came before that.
   */
  goneBy?: (flow: Flow) => number | undefined;
}

/**
 * How much later than its socket was found gone its destroy may be read, ms: the kernel sends the
 * broadcast from a workqueue (net/core/sock_diag.c, sock_diag_broadcast_destroy), and the reader thread
 * wakes for it. Kept short: at 100 connects a second the next socket's destroy comes 10 ms later, and a
 * wider window would let it rival the right one.
 */
const GONE_SLACK_MS = 5;

/**
 * How many done entries the eviction queues (openers, held destroys) may hold beyond as many as are
 * live before they are dropped. A done entry leaves a queue only when it reaches its head: an opener
 * when its connection ends, a held destroy after holdMs (10 s) even when its flow took it at once. Kept
 * until then they held a published flow or a parsed socket each, tens of thousands at a steady rate,
 * into the old generation (the RSS of the benchmark's fixed rate). A compaction copies the live ones:
 * with this slack and the factor 2 it costs O(1) a push.
 */
const COMPACT_SLACK = 1024;

export interface FlowEndsStats {
  openers: number;
  waiting: number;
  held: number;
  /** Close entries made, and how many of them found their opener. */
  closes: number;
  closesJoined: number;
  /** Flows whose local end came from their destroy, and flows released without one after the wait. */
  localFromClose: number;
  localMissing: number;
  /** UDP sockets destroyed that had no flow (no close entry for them), and TCP sockets never connected. */
  skipped: number;
}

interface Held {
  socket: InetDiagSocket;
  at: number;
  done: boolean;
  /** Fits accepts of several processes waiting for their peer: never taken by order (claimPeer). */
  contested: boolean;
}

interface Waiting {
  flow: Flow;
  done: boolean;
  /** An accept waiting for its peer (by its local end), not for its local end (by its remote end). */
  peer: boolean;
  /** The latest a destroy of its socket can have been read (latestDestroy). */
  latest: number;
  /** Published already, without a local end: no destroy read from now on can be its socket's (releaseHopeless). */
  released: boolean;
}

interface Opener {
  key: string;
  flow: Flow;
  done: boolean;
}

/**
 * A multimap whose lists keep insertion (time) order. An entry leaves by being marked done (it may be
 * in several indexes: one flag for all), and each index it was in is told (`dropped`); a list lets its
 * done entries go once they are half of it. Readers skip done entries. Taking each out at once cost a
 * search and a splice of lists that grow to thousands (every connect to one server waits under one key).
 */
class Index<T extends { done: boolean }> {
  private readonly lists = new Map<string, { items: T[]; dead: number }>();
  add(key: string, value: T): void {
    const list = this.lists.get(key);
    if (list === undefined) this.lists.set(key, { items: [value], dead: 0 });
    else list.items.push(value);
  }
  /** The entries under `key` in the order they came, done ones among them. */
  get(key: string): readonly T[] | undefined {
    return this.lists.get(key)?.items;
  }
  /** Whether an entry not done is under `key`. */
  has(key: string): boolean {
    return this.lists.has(key);
  }
  /** Whether no entry at all is indexed (a list goes once all its entries are done). */
  get empty(): boolean {
    return this.lists.size === 0;
  }
  /** The first entry not done that `fits` accepts, preferring one `better` also accepts. */
  find(key: string, fits: (value: T) => boolean, better: (value: T) => boolean): T | undefined {
    const items = this.lists.get(key)?.items;
    if (items === undefined) return undefined;
    let first: T | undefined;
    for (const value of items) {
      if (value.done || !fits(value)) continue;
      if (better(value)) return value;
      first ??= value;
    }
    return first;
  }
  /** An entry under `key` was marked done. */
  dropped(key: string): void {
    const list = this.lists.get(key);
    if (list === undefined) return;
    list.dead++;
    if (list.dead >= list.items.length) this.lists.delete(key);
    else if (list.dead > 8 && list.dead * 2 > list.items.length) {
      list.items = list.items.filter((value) => !value.done);
      list.dead = 0;
    }
  }
}

const endKey = (end: Pick<Endpoint, 'addr' | 'port'>): string => `${end.addr}|${end.port}`;
/** A TCP socket by both ends, a UDP socket by its local end. */
const socketKey = (protocol: number, local: Pick<Endpoint, 'addr' | 'port'>, remote: Pick<Endpoint, 'addr' | 'port'> | undefined): string =>
  protocol === TCP ? `6|${endKey(local)}|${remote === undefined ? '' : endKey(remote)}` : `${protocol}|${endKey(local)}`;

const OPENING_OPS: ReadonlySet<Flow['op']> = new Set(['connect', 'accept']);
export const LOCAL_OPS: ReadonlySet<Flow['op']> = new Set(['connect', 'accept', 'sendto', 'sendmsg']);
const started = (flow: Flow): boolean => flow.result === 'ok' || flow.result === 'inprogress' || flow.result === 'unknown';
const ownedBy = (flow: Flow, uid: number): boolean => flow.euid === uid || flow.uid === uid;
const familyOf = (socket: InetDiagSocket): string => (socket.family === AF_INET ? 'inet' : 'inet6');
/** A destroyed socket's protocol: the broadcast's, else TCP for one with TCP counters. */
const protocolOf = (socket: InetDiagSocket): number => socket.protocol ?? (socket.tcp !== null ? TCP : UDP);
/** A TCP accept that knows its listener's end but not its peer (accept4(fd, NULL, ...) of a connection closed before its lookup). */
const waitsForPeer = (flow: Flow): boolean => flow.op === 'accept' && flow.remote_addr === null && flow.local_port !== null && flow.proto_num === TCP && started(flow);
/** An accepted socket's destroy is found by its family and local port (the listener's). */
const peerKey = (family: string, port: number): string => `${family}|${port}`;
/** A waiting flow's remote end: the key its socket's destroy is found by. */
const remoteKey = (flow: Flow): string => endKey({ addr: flow.remote_addr as string, port: flow.remote_port as number });
/** A UDP send without a local end, by family and owner (the socket's uid is its creator's euid); undefined for other flows. */
const udpSendKey = (flow: Flow): string | undefined =>
  (flow.op === 'sendto' || flow.op === 'sendmsg') && (flow.proto_num === UDP || flow.proto_num === null) && flow.euid !== null ? `${flow.family}|${flow.euid}` : undefined;
const udpDestroyKey = (socket: InetDiagSocket): string => `${familyOf(socket)}|${socket.uid}`;

/** The index of the first of `list` (in the order of their times) read at `ts` or later. */
function firstAt(list: readonly Held[], ts: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((list[middle] as Held).at < ts) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whether `socket`, read at `at`, may be `flow`'s: of its kind, and read after its event. */
function mayOwn(flow: Flow, socket: InetDiagSocket, at: number): boolean {
  return flow.ts <= at && fits(flow, socket);
}

/** Whether `socket` is of `flow`'s kind, and (an accept waiting for its peer) on its listener's address. */
function fits(flow: Flow, socket: InetDiagSocket): boolean {
  if (!sameKind(flow, socket)) return false;
  if (flow.remote_addr !== null || flow.local_addr === null || isUnspecifiedText(flow.local_addr)) return true;
  return diagEnd(socket.localAddr, socket.localPort).addr === flow.local_addr;
}

/** Whether `socket` is of `flow`'s family and protocol (as far as both say). */
function sameKind(flow: Flow, socket: InetDiagSocket): boolean {
  return flow.family === familyOf(socket) && (flow.proto_num === null || socket.protocol === null || flow.proto_num === socket.protocol);
}

/**
 * Whether a destroy no flow claimed is still published (as a close entry without process): a TCP
 * socket that exchanged something. One that never did (a refused or unconnected one, a listener)
 * closed no connection; a UDP socket without a flow has no opener to report.
 */
function closeWithoutOpener(socket: InetDiagSocket, remote: Endpoint | undefined): boolean {
  const tcp = socket.tcp;
  return remote !== undefined && tcp !== null && (tcp.bytesAcked > 0 || tcp.bytesReceived > 0 || tcp.segsIn > 0);
}

export class FlowEnds {
  private readonly openers = new Index<Opener>();
  private openerCount = 0;
  /** Openers in insertion order, for eviction (done ones skipped). */
  private readonly openerOrder = new Fifo<Opener>();
  private readonly waiting = new Index<Waiting>();
  private readonly waitingUdp = new Index<Waiting>();
  private readonly waitingPeer = new Index<Waiting>();
  private readonly waitQueue = new Fifo<Waiting>();
  /** Entries of waitQueue and of the held queues not done: the bounds count these (done ones leave with time). */
  private waitingLive = 0;
  private heldLive = 0;
  /** Waiting entries whose wait has a time bound (their socket was found gone), in the order they came. */
  private readonly bounded = new Fifo<Waiting>();
  /** Entries released by releaseHopeless that are still waiting as rivals. */
  private releasedWaiting = 0;
  private readonly heldBySocket = new Index<Held>();
  private readonly heldByRemote = new Index<Held>();
  private readonly heldUdp = new Index<Held>();
  /** TCP destroys of connections (closeWithoutOpener) by family and local port, for accepts waiting for their peer. */
  private readonly heldByLocal = new Index<Held>();
  /**
   * Held destroys in time order: those that would be published without their opener (closeWithoutOpener),
   * and the others (a socket that never connected, a UDP socket), which a full table pushes out first.
   */
  private readonly heldQueue = new Fifo<Held>();
  private readonly heldSilent = new Fifo<Held>();
  private readonly counts = { closes: 0, closesJoined: 0, localFromClose: 0, localMissing: 0, skipped: 0 };
  private readonly maxOpeners: number;
  private readonly maxWaiting: number;
  private readonly maxHeld: number;
  private lastDestroyAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: FlowEndsOptions) {
    this.maxOpeners = options.maxOpeners ?? 65536;
    this.maxWaiting = options.maxWaiting ?? 4096;
    this.maxHeld = options.maxHeld ?? 16384;
  }

  /** A flow after its process context: kept as an opener, held for its local end, or passed on. */
  push(flow: Flow): void {
    if (flow.source !== 'process' || !(LOCAL_OPS.has(flow.op) || flow.op === 'bind' || flow.op === 'recvfrom' || flow.op === 'recvmsg')) {
      this.options.onFlow(flow);
      return;
    }
    const peer = waitsForPeer(flow);
    if (flow.local_addr !== null && flow.local_port !== null) {
      if (LOCAL_OPS.has(flow.op)) flow.local_source = 'socket';
      if (!peer || this.options.localWaitMs === 0) {
        this.options.onFlow(flow);
        this.addOpener(flow);
        return;
      }
    } else if (!LOCAL_OPS.has(flow.op) || !started(flow) || flow.remote_addr === null || flow.remote_port === null || this.options.localWaitMs === 0) {
      this.options.onFlow(flow);
      return;
    }
    const latest = this.latestDestroy(flow);
    if (this.completeFromHeld(flow, peer, latest)) return;
    const entry: Waiting = { flow, done: false, peer, latest, released: false };
    if (peer) this.waitingPeer.add(peerKey(flow.family, flow.local_port as number), entry);
    else {
      this.waiting.add(remoteKey(flow), entry);
      const udp = udpSendKey(flow);
      if (udp !== undefined) this.waitingUdp.add(udp, entry);
    }
    this.waitQueue.push(entry);
    if (entry.latest !== Number.POSITIVE_INFINITY) this.bounded.push(entry);
    this.waitingLive++;
    while (this.waitingLive > this.maxWaiting) {
      const oldest = this.waitQueue.shift();
      if (oldest === undefined) break;
      this.release(oldest);
    }
  }

  /** An `existing` entry from the start's dump: its socket's close will carry its process. */
  pushExisting(flow: Flow): void {
    this.addOpener(flow);
  }

  /** A destroy broadcast, received at `read`. */
  pushDestroy(socket: InetDiagSocket, read: number): void {
    this.joinDestroy(socket, read);
    this.releaseHopeless();
  }

  private joinDestroy(socket: InetDiagSocket, read: number): void {
    // Held destroys stay in the order of their times (heldIn() searches them): a clock set back
    // does not put one before another.
    const now = Math.max(read, this.lastDestroyAt);
    this.lastDestroyAt = now;
    const protocol = protocolOf(socket);
    const { local, remote } = diagEnds(socket);
    const opener = this.takeOpener(protocol, socket, local, remote, now);
    if (opener !== undefined) {
      this.emitClose(socket, now, opener);
      return;
    }
    const udp = remote === undefined && protocol === UDP ? udpDestroyKey(socket) : undefined;
    // Only a join that cannot be another's: one waiting flow fits, and no held destroy fits that flow.
    const only = this.onlyWaitingFit(this.waitingFor(socket, protocol, local, remote), socket, now);
    const waiting = only !== undefined && !this.hasRivalDestroy(only) ? only : undefined;
    if (waiting !== undefined) {
      this.forgetWaiting(waiting);
      this.complete(waiting.flow, socket, now);
      return;
    }
    const held: Held = { socket, at: now, done: false, contested: false };
    this.heldBySocket.add(socketKey(protocol, local, remote), held);
    if (remote !== undefined) this.heldByRemote.add(endKey(remote), held);
    if (udp !== undefined) this.heldUdp.add(udp, held);
    const connection = closeWithoutOpener(socket, remote);
    if (connection && protocol === TCP) this.heldByLocal.add(peerKey(familyOf(socket), local.port), held);
    (connection ? this.heldQueue : this.heldSilent).push(held);
    this.heldLive++;
    if (this.heldQueue.length + this.heldSilent.length > 2 * this.heldLive + COMPACT_SLACK) {
      this.heldQueue.retain((h) => !h.done);
      this.heldSilent.retain((h) => !h.done);
    }
    // Only a destroy still waiting is pushed out (the queues also hold, until their time is up, those
    // that found their flow), a silent one first. A silent destroy would give no entry at its time
    // either: pushing it out loses no entry, so it is not counted as a loss (the flow it might have
    // given a local end goes without, as after any wait: localMissing).
    while (this.heldLive > this.maxHeld) {
      const silent = this.heldSilent.length > 0;
      const oldest = (silent ? this.heldSilent : this.heldQueue).shift();
      if (oldest === undefined) break;
      if (oldest.done) continue;
      if (!silent) this.lose('held', now);
      this.expireHeld(oldest);
    }
  }

  /** Releases the flows whose wait is over and the destroys whose opener did not come. */
  advance(now: number): void {
    this.releaseHopeless();
    for (let first = this.waitQueue.peek(); first !== undefined && first.flow.ts + this.options.localWaitMs <= now; first = this.waitQueue.peek()) this.release(this.waitQueue.shift() as Waiting);
    for (const queue of [this.heldQueue, this.heldSilent]) {
      for (let first = queue.peek(); first !== undefined && first.at + this.options.holdMs <= now; first = queue.peek()) this.expireHeld(queue.shift() as Held);
    }
  }

  /** The input has ended: every waiting flow and held destroy goes out as it is. */
  flush(): void {
    for (const entry of this.waitQueue.drain()) this.release(entry);
    for (const held of this.heldQueue.drain()) this.expireHeld(held);
    for (const held of this.heldSilent.drain()) this.expireHeld(held);
  }

  /** The serial of the oldest flow still waiting for its local end; undefined when none. */
  get oldestPendingSerial(): number | undefined {
    let oldest: number | undefined;
    for (const entry of this.waitQueue) if (!entry.done && !entry.released && (oldest === undefined || entry.flow.serial < oldest)) oldest = entry.flow.serial;
    return oldest;
  }

  stats(): FlowEndsStats {
    return { openers: this.openerCount, waiting: this.waitingLive - this.releasedWaiting, held: this.heldLive, ...this.counts };
  }

  /** The latest time a destroy of `flow`'s socket can have been read: GONE_SLACK_MS after it was found gone, else any. */
  private latestDestroy(flow: Flow): number {
    const gone = this.options.goneBy?.(flow);
    return gone === undefined ? Number.POSITIVE_INFINITY : gone + GONE_SLACK_MS;
  }

  private addOpener(flow: Flow): void {
    const protocol = flow.proto_num;
    if (protocol !== TCP && protocol !== UDP) return;
    if (flow.local_addr === null || flow.local_port === null) return;
    if (protocol === TCP && flow.op !== 'existing' && !(OPENING_OPS.has(flow.op) && started(flow))) return;
    const remote = flow.remote_addr === null || flow.remote_port === null ? undefined : { addr: flow.remote_addr, port: flow.remote_port };
    if (protocol === TCP && remote === undefined) return;
    const key = socketKey(protocol, { addr: flow.local_addr, port: flow.local_port }, remote);
    // A UDP socket's close goes with its first flow.
    if (protocol === UDP && this.openers.has(key)) return;
    const held = this.heldBySocket.find(key, (h) => flow.ts <= h.at, (h) => ownedBy(flow, h.socket.uid));
    if (held !== undefined) {
      this.forgetHeld(held);
      this.emitClose(held.socket, held.at, flow);
      return;
    }
    const opener: Opener = { key, flow, done: false };
    this.openers.add(key, opener);
    this.openerOrder.push(opener);
    this.openerCount++;
    while (this.openerCount > this.maxOpeners) {
      const oldest = this.openerOrder.shift();
      if (oldest === undefined) break;
      if (oldest.done) continue;
      this.forgetOpener(oldest);
      this.lose('openers', oldest.flow.ts, oldest.flow.serial);
    }
    if (this.openerOrder.length > 2 * this.openerCount + COMPACT_SLACK) this.openerOrder.retain((o) => !o.done);
  }

  private takeOpener(protocol: number, socket: InetDiagSocket, local: Endpoint, remote: Endpoint | undefined, now: number): Flow | undefined {
    const opener = this.openers.find(socketKey(protocol, local, remote), (o) => o.flow.ts <= now, (o) => ownedBy(o.flow, socket.uid));
    if (opener === undefined) return undefined;
    this.forgetOpener(opener);
    return opener.flow;
  }

  private forgetOpener(opener: Opener): void {
    opener.done = true;
    this.openers.dropped(opener.key);
    this.openerCount--;
  }

  /**
   * A waiting flow meets its socket's destroy: the end it lacked from it (its local end; an accept's
   * peer, and its local address when its listener's is a wildcard), then the flow and its close.
   */
  private complete(flow: Flow, socket: InetDiagSocket, at: number): void {
    const { local, remote } = diagEnds(socket);
    if (flow.remote_addr === null && remote !== undefined) {
      flow.remote_addr = remote.addr;
      flow.remote_port = remote.port;
      flow.remote_source = 'close';
    }
    if (flow.local_addr === null || isUnspecifiedText(flow.local_addr)) {
      flow.local_addr = local.addr;
      flow.local_port = local.port;
      flow.local_source = 'close';
    }
    if (flow.proto_num === null && socket.protocol !== null) {
      flow.proto_num = socket.protocol;
      flow.proto = protocolName(socket.protocol);
    }
    if (flow.community_id === null && flow.proto_num !== null && PORT_PROTOCOLS.has(flow.proto_num) && remote !== undefined) {
      flow.community_id = communityId(flow.proto_num, local, remote) ?? null;
    }
    this.counts.localFromClose++;
    this.options.onFlow(flow);
    this.emitClose(socket, at, flow);
  }

  private release(entry: Waiting): void {
    if (entry.done) return;
    this.forgetWaiting(entry);
    if (entry.released) {
      this.releasedWaiting--;
      return;
    }
    if (this.claimPeer(entry)) return;
    this.counts.localMissing++;
    this.options.onFlow(entry.flow);
  }

  /**
   * At the end of its wait, an accept without its peer takes the oldest held destroy on its local end
   * that fits it, when no waiting accept of another process could own that destroy. A process
   * accepting a burst of connections (a libuv server: accept4 without an address, each closed at once)
   * leaves several accepts and destroys that fit each other, and nothing in the records says which
   * is whose; they are one process's connections on one listener, alike but for their peers, so
   * taking them in order gives every accept one of the burst's peers and every peer one accept (the
   * serial an accept is paired with may be a neighbour's: docs/flows.md), only for an accept whose
   * socket was found gone (its lookup, the local check). Done at the end of the wait:
   * by then the accepts whose peer their own lookup found have come through and taken their destroys.
   */
  private claimPeer(entry: Waiting): boolean {
    // Only an accept whose socket was found gone: one that was not may be a connection still open,
    // which no destroy read so far belongs to. Its window (latest) is not applied: by order, an accept
    // may take a neighbour's destroy, and a neighbour's read late must still be taken by someone.
    if (!entry.peer || entry.latest === Number.POSITIVE_INFINITY) return false;
    const flow = entry.flow;
    const key = peerKey(flow.family, flow.local_port as number);
    const list = this.heldByLocal.get(key);
    if (list === undefined) return false;
    // Another process accepts on this listener too: the destroys that fit are nobody's by order, then or later.
    const shared = this.waitingPeer.get(key)?.some((w) => !w.done && w.flow.pid !== flow.pid) ?? false;
    for (let i = firstAt(list, flow.ts); i < list.length; i++) {
      const held = list[i] as Held;
      if (held.done || held.contested || !fits(flow, held.socket)) continue;
      if (shared) {
        held.contested = true;
        continue;
      }
      this.forgetHeld(held);
      this.complete(flow, held.socket, held.at);
      return true;
    }
    return false;
  }

  /**
   * Publishes at once the waiting flows no destroy can complete any more: destroys come in the order
   * they were read (pushDestroy keeps their times monotonic), so once one was read after a flow's
   * latest, none to come fits it (onlyWaitingFit). Such a flow would wait out localWaitMs for nothing.
   * Its entry stays until then, done only as a rival: a destroy read late on a loaded host may be its
   * socket's, and must not go to another flow (onlyWaitingFit, hasRivalFlow).
   */
  private releaseHopeless(): void {
    for (let first = this.bounded.peek(); first !== undefined; first = this.bounded.peek()) {
      if (!first.done && first.latest >= this.lastDestroyAt) break;
      this.bounded.shift();
      // An accept waiting for its peer waits out its wait: a destroy read late may still be one of its burst's (claimPeer).
      if (first.done || first.peer) continue;
      first.released = true;
      this.releasedWaiting++;
      this.counts.localMissing++;
      this.options.onFlow(first.flow);
    }
  }

  /**
   * Completes a flow without a local end from a held destroy of its remote end (or, for a UDP send,
   * of its family and owner) when exactly one fits it and no other waiting flow fits that destroy:
   * with several, time order alone cannot say which socket was whose (measured: a burst of connects
   * to one server joined wrongly), so none is taken.
   */
  private completeFromHeld(flow: Flow, peer: boolean, latest: number): boolean {
    const held = this.heldIn(flow, latest, this.heldFor(flow, peer), 2);
    if (held === undefined || this.hasRivalFlow(held, flow)) return false;
    this.forgetHeld(held);
    this.complete(flow, held.socket, held.at);
    return true;
  }

  /** Whether a held destroy could be the one of `entry`'s socket. */
  private hasRivalDestroy(entry: Waiting): boolean {
    return this.heldIn(entry.flow, entry.latest, this.heldFor(entry.flow, entry.peer), 1) !== undefined;
  }

  /** The held destroys that may be a waiting flow's socket's: by its remote end (a UDP send's also by family and owner), an accept's waiting for its peer by its local end. */
  private heldFor(flow: Flow, peer: boolean): ReadonlyArray<readonly Held[] | undefined> {
    if (peer) return [this.heldByLocal.get(peerKey(flow.family, flow.local_port as number))];
    const udp = udpSendKey(flow);
    return [this.heldByRemote.get(remoteKey(flow)), udp === undefined ? undefined : this.heldUdp.get(udp)];
  }

  /** The waiting flows a destroy may complete: by its remote end, and (a TCP connection's) the accepts waiting by its local end; an unconnected UDP socket's by family and owner. */
  private waitingFor(socket: InetDiagSocket, protocol: number, local: Endpoint, remote: Endpoint | undefined): ReadonlyArray<readonly Waiting[] | undefined> {
    // Accepts waiting for their peer are rare: the key is not made for every destroy when none waits.
    if (remote !== undefined) return [this.waiting.get(endKey(remote)), protocol === TCP && !this.waitingPeer.empty ? this.waitingPeer.get(peerKey(familyOf(socket), local.port)) : undefined];
    return protocol === UDP ? [this.waitingUdp.get(udpDestroyKey(socket))] : [];
  }

  /**
   * The one held destroy of `lists` that fits `flow` (`limit` 2; undefined when none or several),
   * or the first (`limit` 1). The lists are in the order of the destroys' times: only those read
   * between the flow's event and `latest` (latestDestroy) are looked at.
   */
  private heldIn(flow: Flow, latest: number, lists: ReadonlyArray<readonly Held[] | undefined>, limit: 1 | 2): Held | undefined {
    let found: Held | undefined;
    for (const list of lists) {
      if (list === undefined) continue;
      for (let i = firstAt(list, flow.ts); i < list.length; i++) {
        const held = list[i] as Held;
        if (held.at > latest) break;
        if (held.done || !fits(flow, held.socket)) continue;
        if (limit === 1) return held;
        if (found !== undefined) return undefined;
        found = held;
      }
    }
    return found;
  }

  /** Whether a waiting flow other than `except` may be the one `held` is the destroy of (time window aside: see onlyWaitingFit). */
  private hasRivalFlow(held: Held, except: Flow | undefined): boolean {
    const { local, remote } = diagEnds(held.socket);
    const protocol = protocolOf(held.socket);
    return this.waitingFor(held.socket, protocol, local, remote).some((list) => list?.some((w) => !w.done && w.flow !== except && mayOwn(w.flow, held.socket, held.at)) ?? false);
  }

  /**
   * The one waiting flow that may own `socket`, read at `at`, when it also fits it in time; undefined
   * when none, or when another waiting flow may own it too. A destroy is read some time after its
   * socket was destroyed (later still on a loaded host), so the time window (its `latest`) only narrows a
   * flow's destroys; which flows a destroy may be the socket of is decided without it: every flow
   * of its kind and owner that was waiting before it was read. The scan stops at a second one.
   */
  private onlyWaitingFit(lists: ReadonlyArray<readonly Waiting[] | undefined>, socket: InetDiagSocket, at: number): Waiting | undefined {
    let found: Waiting | undefined;
    for (const list of lists) {
      for (const entry of list ?? []) {
        if (entry.done || !mayOwn(entry.flow, socket, at)) continue;
        if (found !== undefined) return undefined;
        found = entry;
      }
    }
    return found !== undefined && !found.released && at <= found.latest ? found : undefined;
  }

  private forgetWaiting(entry: Waiting): void {
    entry.done = true;
    this.waitingLive--;
    if (entry.peer) {
      this.waitingPeer.dropped(peerKey(entry.flow.family, entry.flow.local_port as number));
      return;
    }
    this.waiting.dropped(remoteKey(entry.flow));
    const udp = udpSendKey(entry.flow);
    if (udp !== undefined) this.waitingUdp.dropped(udp);
  }

  private expireHeld(held: Held): void {
    if (held.done) return;
    this.forgetHeld(held);
    if (!closeWithoutOpener(held.socket, diagEnds(held.socket).remote)) {
      this.counts.skipped++;
      return;
    }
    this.emitClose(held.socket, held.at, undefined);
  }

  private forgetHeld(held: Held): void {
    held.done = true;
    this.heldLive--;
    const protocol = protocolOf(held.socket);
    const { local, remote } = diagEnds(held.socket);
    this.heldBySocket.dropped(socketKey(protocol, local, remote));
    if (protocol === TCP && closeWithoutOpener(held.socket, remote)) this.heldByLocal.dropped(peerKey(familyOf(held.socket), local.port));
    if (remote !== undefined) this.heldByRemote.dropped(endKey(remote));
    else if (protocol === UDP) this.heldUdp.dropped(udpDestroyKey(held.socket));
  }

  private emitClose(socket: InetDiagSocket, at: number, opener: Flow | undefined): void {
    this.counts.closes++;
    if (opener !== undefined) this.counts.closesJoined++;
    this.options.onClose(closeFlow(socket, at, opener));
  }

  private lose(detail: 'openers' | 'held', time: number, serial?: number): void {
    this.options.onLoss({ reason: 'flow_end_evicted', count: 1, node: '', time, detail, ...(serial === undefined ? {} : { firstSerial: serial }) });
  }
}
