// Local check: a socket's ends are read from the socket itself after its event (the addon's early
// lookup, or the resolver's later one), by (pid, fd). A program that closes a socket at once and
// makes another gets the same fd back (the lowest free one, man 2 open), so what was read may be
// that later socket: same family, same type, often the same peer, another local port. Measured on
// this machine, a loop of connect → getsockname → close on one fd got the next socket's port for
// some of its connects. Nothing in the records names a socket (no inode in a connect's records), so
// the records that follow decide:
//
//   replaced  a later socket() or accept of the same process returned the same fd, and its event
//             began no later than the read (its timestamp, ms, is the coarse clock at syscall entry,
//             kernel/auditsc.c __audit_syscall_entry, never ahead of the real time): the read may
//             have met that socket. The flow loses what was read (its local end, and its peer when
//             the event gave none) and waits for its socket's destroy like any other (./flow-ends.ts).
//   kept      an event that began more than EXIT_MARGIN_MS after the read has come through: the
//             kernel queues an event's records at syscall exit (audit_log_exit), in order, so a
//             socket() that made its fd before the read (and returned within the margin) came before.
//   unsure    neither yet: the flow is held, at most maxWaitMs after its event, then kept.
//
// The check errs one way only: a socket made after the read whose syscall began before it (within a
// clock tick) is taken for a replacement, and that flow keeps its destroy's local end instead. Other
// ways to put a new socket on a closed fd (dup2, a descriptor passed over a UNIX socket, io_uring's
// socket and accept operations) are not audited by the rules and are not seen here.
import type { Flow } from './flow.js';
import { isUnspecified, type SocketFacts } from './socket-update.js';

/**
 * How long after its fd was installed a socket() or accept is taken to have returned and queued its
 * records, ms: the syscall's audit exit (records built, PROCTITLE read from the process) can be
 * preempted on a loaded host. A longer margin only holds flows longer.
 */
const EXIT_MARGIN_MS = 5;
/** Openings remembered past the newest event time, ms: longer than any flow is held. */
const KEEP_OPENINGS_MS = 10_000;

export interface LocalCheckOptions {
  onFlow: (flow: Flow) => void;
  /** How long a flow may wait for the events that decide, ms after its event. */
  maxWaitMs: number;
  /** Flows held at most (default 4096); the oldest goes on unchecked when it is full. */
  maxHeld?: number;
  /** Socket openings remembered at most (default 65,536). */
  maxOpenings?: number;
  /** A flow's read ends were dropped: its socket was gone by `atUs`, when the read met another. */
  onReplaced?: (flow: Flow, atUs: number) => void;
}

/** What of a flow's ends was read from its socket, and when (µs since the epoch). */
export interface EndsRead {
  atUs: number;
  /** The local end (not when the records gave it: an accept on a listener bound to one address). */
  local: boolean;
  /** The peer (the event named none). */
  remote: boolean;
}

export interface LocalCheckStats {
  held: number;
  /** Flows whose read ends were dropped, kept after the events, kept when their wait ran out (or the input ended), let through unchecked by a full table. */
  replaced: number;
  kept: number;
  timedOut: number;
  unchecked: number;
}

interface Opening {
  serial: number;
  timeMs: number;
}

/**
 * One (pid, fd)'s openings in serial order, the pruned ones before `head`: a program that reuses one
 * fd opens thousands of sockets on it within KEEP_OPENINGS_MS, and pruning takes the oldest, so a
 * splice at the front of the array for each would cost the whole list.
 */
interface Openings {
  list: Opening[];
  head: number;
}

interface HeldFlow {
  flow: Flow;
  read: EndsRead;
}

const fdKey = (pid: number, fd: number): string => `${pid}:${fd}`;

/**
 * What of the flow toFlow() builds from `facts` was read from its socket: its local end (the
 * lookup's, or the table's from an earlier lookup), and its peer when the event named none.
 * Undefined when the records gave it all (a bind, an end from a SOCKADDR record).
 */
export function endsRead(facts: SocketFacts): EndsRead | undefined {
  if (facts.op === 'bind') return undefined;
  const { proc, known } = facts;
  const atUs = proc?.local !== undefined ? proc.readAtUs : known?.local !== undefined ? known.readAtUs : undefined;
  if (atUs === undefined) return undefined;
  // An accepted socket's local end is its listener's: exact when the listener's bind named one address.
  const local = !(facts.op === 'accept' && known?.local !== undefined && known.readAtUs === undefined && !isUnspecified(known.local));
  const remote = facts.addressEnd === undefined && proc?.remote !== undefined && (facts.op === 'accept' || known?.remote === undefined);
  return local || remote ? { atUs, local, remote } : undefined;
}

export class LocalCheck {
  private newestMs = 0;
  private readonly openings = new Map<string, Openings>();
  private readonly openingOrder: Array<{ key: string; opening: Opening }> = [];
  private openingHead = 0;
  private readonly reads = new WeakMap<Flow, EndsRead>();
  private readonly held: HeldFlow[] = [];
  private heldHead = 0;
  private readonly counts = { replaced: 0, kept: 0, timedOut: 0, unchecked: 0 };
  private readonly maxHeld: number;
  private readonly maxOpenings: number;

  constructor(private readonly options: LocalCheckOptions) {
    this.maxHeld = options.maxHeld ?? 4096;
    this.maxOpenings = options.maxOpenings ?? 65536;
  }

  /** Every event's time as it passes the socket step, in stream order. */
  see(timeMs: number): void {
    if (timeMs > this.newestMs) this.newestMs = timeMs;
  }

  /** A socket() or accept of `pid` that returned `fd`. */
  opened(pid: number, fd: number, serial: number, timeMs: number): void {
    const key = fdKey(pid, fd);
    const opening = { serial, timeMs };
    const openings = this.openings.get(key);
    if (openings === undefined) this.openings.set(key, { list: [opening], head: 0 });
    else {
      // In serial order (verdict() searches it): events complete nearly in order, so this is an append.
      const list = openings.list;
      let at = list.length;
      while (at > openings.head && (list[at - 1] as Opening).serial > serial) at--;
      list.splice(at, 0, opening);
    }
    this.openingOrder.push({ key, opening });
    this.prune();
  }

  /** `flow`'s ends (its local end, and its peer when `read.remote`) were read from its socket at `read.atUs`. */
  noteRead(flow: Flow, read: EndsRead): void {
    this.reads.set(flow, read);
  }

  push(flow: Flow): void {
    // The events since the last push may decide held flows: those go first.
    this.settle(undefined);
    const read = this.reads.get(flow);
    if (read === undefined) {
      this.options.onFlow(flow);
      return;
    }
    const verdict = this.verdict(flow, read);
    if (verdict !== 'unsure') {
      this.decide(flow, read, verdict);
      return;
    }
    this.held.push({ flow, read });
    if (this.held.length - this.heldHead > this.maxHeld) {
      this.counts.unchecked++;
      this.options.onFlow((this.held[this.heldHead++] as HeldFlow).flow);
    }
  }

  /** Decides the held flows the events since allow, and those whose wait is over at `now` (ms). */
  advance(now: number): void {
    this.settle(now);
  }

  /** The input has ended: what is held goes on with what the events said. */
  flush(): void {
    this.settle(Number.POSITIVE_INFINITY);
  }

  get oldestPendingSerial(): number | undefined {
    let oldest: number | undefined;
    for (let i = this.heldHead; i < this.held.length; i++) {
      const serial = (this.held[i] as HeldFlow).flow.serial;
      if (oldest === undefined || serial < oldest) oldest = serial;
    }
    return oldest;
  }

  stats(): LocalCheckStats {
    return { held: this.held.length - this.heldHead, ...this.counts };
  }

  private verdict(flow: Flow, read: EndsRead): 'replaced' | 'kept' | 'unsure' {
    const openings = flow.pid === null || flow.fd === null ? undefined : this.openings.get(fdKey(flow.pid, flow.fd));
    if (openings !== undefined) {
      // The first opening after the flow's event began first: an fd is taken when its socket() or
      // accept begins (accept reserves it before it waits, net/socket.c __sys_accept4_file), and
      // only once the socket before was closed.
      const list = openings.list;
      let low = openings.head;
      let high = list.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((list[middle] as Opening).serial <= flow.serial) low = middle + 1;
        else high = middle;
      }
      const next = list[low];
      if (next !== undefined && next.timeMs * 1000 <= read.atUs) return 'replaced';
    }
    return (this.newestMs - EXIT_MARGIN_MS) * 1000 > read.atUs ? 'kept' : 'unsure';
  }

  private decide(flow: Flow, read: EndsRead, verdict: 'replaced' | 'kept'): void {
    if (verdict === 'replaced') {
      this.counts.replaced++;
      this.options.onReplaced?.(flow, read.atUs);
      if (read.local) {
        flow.local_addr = null;
        flow.local_port = null;
      }
      flow.community_id = null;
      if (read.remote) {
        flow.remote_addr = null;
        flow.remote_port = null;
      }
    } else {
      this.counts.kept++;
    }
    this.options.onFlow(flow);
  }

  /** Held flows in order: each decided once the events allow, or once its wait is over at `now`. */
  private settle(now: number | undefined): void {
    while (this.heldHead < this.held.length) {
      const head = this.held[this.heldHead] as HeldFlow;
      const verdict = this.verdict(head.flow, head.read);
      if (verdict === 'unsure') {
        if (now === undefined || head.flow.ts + this.options.maxWaitMs > now) break;
        this.counts.timedOut++;
        this.heldHead++;
        this.options.onFlow(head.flow);
        continue;
      }
      this.heldHead++;
      this.decide(head.flow, head.read, verdict);
    }
    if (this.heldHead > 1024 && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead);
      this.heldHead = 0;
    }
  }

  private prune(): void {
    while (this.openingHead < this.openingOrder.length) {
      const { key, opening } = this.openingOrder[this.openingHead] as { key: string; opening: Opening };
      const live = this.openingOrder.length - this.openingHead;
      if (live <= this.maxOpenings && opening.timeMs + KEEP_OPENINGS_MS >= this.newestMs) break;
      this.openingHead++;
      const openings = this.openings.get(key);
      if (openings !== undefined) this.dropOpening(key, openings, opening);
    }
    if (this.openingHead > 1024 && this.openingHead * 2 > this.openingOrder.length) {
      this.openingOrder.splice(0, this.openingHead);
      this.openingHead = 0;
    }
  }

  /** Takes `opening` out of its fd's list: the oldest nearly always (pruning goes in the order they came). */
  private dropOpening(key: string, openings: Openings, opening: Opening): void {
    const { list } = openings;
    if (list[openings.head] === opening) openings.head++;
    else {
      const index = list.indexOf(opening, openings.head);
      if (index !== -1) list.splice(index, 1);
    }
    if (openings.head === list.length) this.openings.delete(key);
    else if (openings.head > 64 && openings.head * 2 > list.length) {
      list.splice(0, openings.head);
      openings.head = 0;
    }
  }
}
