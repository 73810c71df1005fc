// Flow ends by network namespace: the close join (./flow-ends.ts) once per namespace whose destroy
// broadcasts are read, so a destroy is joined only to flows of its own namespace. Addresses and
// ports repeat across namespaces (every container has its 127.0.0.1, and its ephemeral ports come
// from the same range): a join across them would give a flow another socket's local end and close.
//
// A flow's namespace is its process's (`netns`, set by the process context only when it is not the
// daemon's); a destroy's is the reader's that received it. Flows of the daemon's namespace and
// `existing` entries (the start's dump lists the daemon's namespace) go to the host's join. A flow of
// another namespace goes to that namespace's join once `watch` said its destroys are read from then
// on (flow_end_namespaces = all); otherwise it passes on at once with what the socket lookup found:
// no destroy of its namespace will come.
import { FlowEnds, LOCAL_OPS, type FlowEndsOptions, type FlowEndsStats } from './flow-ends.js';
import type { Flow } from './flow.js';
import type { InetDiagSocket } from '../linux/inet-diag.js';

export interface NamespaceEndsOptions extends FlowEndsOptions {
  /**
   * A flow of network namespace `netns` (an inode) whose destroys are not read yet: true when they
   * are from now on. Asked again for each such flow while it answers false. Absent: only the host's.
   */
  watch?: (netns: number, flow: Flow) => boolean;
}

export interface NamespaceEndsStats extends FlowEndsStats {
  /** Other namespaces whose destroys are joined now. */
  namespaces: number;
  /** Flows of other namespaces passed on without a join (their destroys not read). */
  unwatched: number;
}

// Another namespace's join holds less than the host's (flow-ends.ts's defaults: 65,536 openers,
// 4,096 waiting, 16,384 held): a container's traffic is a share of the host's, and with the bound on
// namespaces read (the daemon's, 64) all of them together stay within about eight hosts' worth.
const NAMESPACE_BOUNDS = { maxOpeners: 8192, maxWaiting: 512, maxHeld: 2048 } as const;

/** What the joins hold now, and what they counted since the start (kept when a namespace's join goes). */
const GAUGES = ['openers', 'waiting', 'held'] as const;
const TOTALS = ['closes', 'closesJoined', 'localFromClose', 'localMissing', 'skipped'] as const;

export class NamespaceEnds {
  private readonly host: FlowEnds;
  private readonly others = new Map<number, FlowEnds>();
  private unwatched = 0;
  /** The totals of namespaces' joins gone (forget). */
  private readonly retired = { closes: 0, closesJoined: 0, localFromClose: 0, localMissing: 0, skipped: 0 };

  constructor(private readonly options: NamespaceEndsOptions) {
    this.host = new FlowEnds(options);
  }

  push(flow: Flow): void {
    const netns = flow.netns;
    if (netns === undefined) {
      this.host.push(flow);
      return;
    }
    const ends = this.others.get(netns) ?? this.watch(netns, flow);
    if (ends !== undefined) {
      ends.push(flow);
      return;
    }
    this.unwatched++;
    if (flow.source === 'process' && LOCAL_OPS.has(flow.op) && flow.local_addr !== null && flow.local_port !== null) flow.local_source = 'socket';
    this.options.onFlow(flow);
  }

  /** An `existing` entry: a socket of the daemon's namespace, whatever its process's is now. */
  pushExisting(flow: Flow): void {
    this.host.pushExisting(flow);
  }

  /** A destroy broadcast read at `now` in namespace `netns` (null: the daemon's). */
  pushDestroy(socket: InetDiagSocket, now: number, netns: number | null): void {
    if (netns === null) this.host.pushDestroy(socket, now);
    else this.others.get(netns)?.pushDestroy(socket, now);
  }

  /** The namespace's destroys are no longer read (it is gone): what waits in its join goes out. */
  forget(netns: number): void {
    const ends = this.others.get(netns);
    if (ends === undefined) return;
    this.others.delete(netns);
    ends.flush();
    const stats = ends.stats();
    for (const counter of TOTALS) this.retired[counter] += stats[counter];
  }

  advance(now: number): void {
    this.host.advance(now);
    for (const ends of this.others.values()) ends.advance(now);
  }

  flush(): void {
    this.host.flush();
    for (const ends of this.others.values()) ends.flush();
  }

  get oldestPendingSerial(): number | undefined {
    let oldest = this.host.oldestPendingSerial;
    for (const ends of this.others.values()) {
      const serial = ends.oldestPendingSerial;
      if (serial !== undefined && (oldest === undefined || serial < oldest)) oldest = serial;
    }
    return oldest;
  }

  stats(): NamespaceEndsStats {
    const total = { ...this.host.stats(), namespaces: this.others.size, unwatched: this.unwatched };
    for (const counter of TOTALS) total[counter] += this.retired[counter];
    for (const ends of this.others.values()) {
      const stats = ends.stats();
      for (const counter of [...GAUGES, ...TOTALS]) total[counter] += stats[counter];
    }
    return total;
  }

  private watch(netns: number, flow: Flow): FlowEnds | undefined {
    if (this.options.watch === undefined || !this.options.watch(netns, flow)) return undefined;
    const ends = new FlowEnds({ ...this.options, ...NAMESPACE_BOUNDS, onClose: (close) => this.options.onClose(Object.assign(close, { netns })) });
    this.others.set(netns, ends);
    return ends;
  }
}
