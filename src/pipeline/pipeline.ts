// Pipeline: records in, flows and loss reports out. Wires the stages in order
//   (batch: whole events read in place, ./batch.ts) parseRecord → Reassembler → updateSockets (socket table, family filter) → toFlow → [ProcessResolver] → [FlowEnds] → Aggregator
// and, beside them, sock_diag's destroy broadcasts → FlowEnds → close entries (./flow-ends.ts), one
// join per network namespace read (./namespace-ends.ts).
// and counts what each stage lost. It imports neither the addon nor a sink: the daemon feeds
// it kernel records, `auditflow replay` feeds it log lines, tests feed it fixtures.
import { Aggregator } from './aggregate.js';
import type { RecordBatch } from '../native/record-batch.js';
import { readProcessReads } from '../native/process-reads.js';
import { BatchReader } from './batch.js';
import { parsedEventRecords, type EarlyLookup, type EventRecords } from './event-records.js';
import { syscallProcess, toFlow, type Flow } from './flow.js';
import { LossCounter, type LossCallback, type LossReport } from './loss.js';
import { Reassembler } from './reassembler.js';
import { parseKernelRecord, parseLogLine, type AuditRecord, type ParseResult } from './record.js';
import type { ProcessResolver, ProcessResolverStats } from './process/resolver.js';
import { PacketFlows, type LocalAddresses } from './packet-flow.js';
import { DEFAULT_FAMILIES, updateSockets } from './socket-update.js';
import { UringOps } from './uring-ops.js';
import { SocketTable, type SocketResolver } from './sockets.js';
import { AUDIT_REPLACE } from '../linux/record-types.js';
import { parseInetDiag } from '../linux/inet-diag.js';
import { NamespaceEnds, type NamespaceEndsStats } from './namespace-ends.js';
import { LocalCheck, endsRead, type LocalCheckStats } from './local-check.js';

export interface PipelineOptions {
  onFlow: (flow: Flow) => void;
  onLoss?: LossCallback;
  /** Families kept (default inet, inet6); 'all' keeps AF_UNIX, AF_NETLINK, ... too. */
  families?: ReadonlySet<string> | 'all';
  /** sendto/sendmsg aggregation window, ms (default 10,000; 0 = off). */
  aggregateWindowMs?: number;
  /** Events waiting for their last record, at most (default 4096). */
  maxInFlight?: number;
  /** How long an event or a serial gap waits, ms (default 2000). */
  eventTimeoutMs?: number;
  /** Sockets remembered, at most (default 65536). */
  socketTableSize?: number;
  /** Where to look up sockets the table does not know (live: procSocketResolver()). */
  resolver?: SocketResolver;
  /** The wall clock, ms (default Date.now): when the resolver found an accepted socket missing. */
  now?: () => number;
  /**
   * The process context from /proc and the user database (live: createProcessResolver()).
   * Without it flows carry what the records say: replay of a log must not read this host's
   * /proc for another time's (or another host's) processes.
   */
  processContext?: ProcessResolver;
  /**
   * Whether an address is this host's, for the direction of netfilter packets (./packet-flow.ts).
   * Default: loopback only (replay: the log's host is not this one).
   */
  localAddresses?: LocalAddresses;
  /**
   * Close entries and local ends from sock_diag (pushSockDiag): how long a flow without a local end
   * waits for its socket's destroy, and a destroy for its opener, ms. Absent: no join, flows pass on.
   * `watch`: a flow of another network namespace whose destroys are not read yet; true when they
   * are from now on (pushSockDiag with that namespace). Absent: only the daemon's namespace is joined.
   */
  flowEnds?: { localWaitMs: number; holdMs: number; watch?: (netns: number, flow: Flow) => boolean };
  /**
   * How long a flow whose ends were read from its socket may wait for the events that say whether
   * the read met a later socket on its fd (./local-check.ts), ms after its event (default 250).
   */
  localCheckWaitMs?: number;
}

const DEFAULT_LOCAL_CHECK_WAIT_MS = 250;

export interface PipelineStats {
  records: number;
  events: number;
  flows: number;
  inFlight: number;
  sockets: number;
  /** Counts by loss reason, and by `reason:detail` (e.g. `family:unix`). */
  losses: Record<string, number>;
  /** The process stage's counters, when there is one. */
  process?: ProcessResolverStats;
  /** The close join's counters, when there is one. */
  flowEnds?: NamespaceEndsStats;
  /** The check of ends read from sockets (./local-check.ts). */
  localCheck?: LocalCheckStats;
}

export class Pipeline {
  private readonly reassembler: Reassembler;
  private readonly aggregator: Aggregator;
  private readonly sockets: SocketTable;
  private readonly losses = new LossCounter();
  private readonly families: ReadonlySet<string> | 'all';
  private readonly processContext: ProcessResolver | undefined;
  private readonly toAggregator = (flow: Flow): void => this.aggregator.push(flow);
  private readonly ends: NamespaceEnds | undefined;
  private readonly toEnds = (flow: Flow): void => {
    if (this.ends) this.ends.push(flow);
    else this.aggregator.push(flow);
  };
  private readonly check: LocalCheck;
  private readonly toCheck = (flow: Flow): void => this.check.push(flow);
  private readonly toProcessContext = (flow: Flow): void => {
    if (this.processContext) this.processContext.push(flow, this.toCheck);
    else this.check.push(flow);
  };
  private readonly uring: UringOps;
  private readonly packets: PacketFlows;
  private readonly batches = new BatchReader({
    generic: (type, payload) => this.pushKernelRecord(type, payload),
    lookupFor: (serial, lookup) => {
      this.lookups.set(serial, lookup);
      // Kept for events still to complete: as many as may be in flight.
      if (this.lookups.size > (this.options.maxInFlight ?? 4096)) this.lookups.delete(this.lookups.keys().next().value as number);
    },
    knows: (serial) => this.reassembler.knows(serial),
    whole: (event, records, trailingEnd) => {
      this.records += records;
      this.reassembler.takeWhole(event.serial, event.time, trailingEnd);
      this.onEvent(event);
    },
  });
  /** When a flow's socket was found gone (ms): the close join takes no destroy read much later (./flow-ends.ts). */
  private readonly goneBy = new WeakMap<Flow, number>();
  /** Early lookups of SYSCALL records that went the generic way, by serial, until their event completes. */
  private readonly lookups = new Map<number, EarlyLookup>();
  private records = 0;
  private flows = 0;

  constructor(private readonly options: PipelineOptions) {
    this.families = options.families ?? DEFAULT_FAMILIES;
    this.processContext = options.processContext;
    this.sockets = new SocketTable({ maxEntries: options.socketTableSize, resolver: options.resolver });
    const emit = (flow: Flow): void => {
      this.flows++;
      options.onFlow(flow);
    };
    this.aggregator = new Aggregator({ windowMs: options.aggregateWindowMs, onFlow: emit });
    this.ends =
      options.flowEnds && new NamespaceEnds({ ...options.flowEnds, onFlow: this.toAggregator, onClose: emit, onLoss: (report) => this.lose(report), goneBy: (flow) => this.goneBy.get(flow) });
    this.check = new LocalCheck({
      onFlow: this.toEnds,
      maxWaitMs: options.localCheckWaitMs ?? DEFAULT_LOCAL_CHECK_WAIT_MS,
      maxHeld: options.maxInFlight,
      onReplaced: (flow, atUs) => this.goneBy.set(flow, atUs / 1000),
    });
    this.uring = new UringOps({ timeoutMs: options.eventTimeoutMs, maxHeld: options.maxInFlight, onFlow: this.toProcessContext });
    this.packets = new PacketFlows(options.localAddresses);
    this.reassembler = new Reassembler({
      maxInFlight: options.maxInFlight,
      timeoutMs: options.eventTimeoutMs,
      onEvent: (event) => this.onEvent(parsedEventRecords(event, this.takeLookup(event.node, event.serial))),
      onLoss: (report) => this.lose(report),
    });
  }

  /** A record as the kernel sent it: the netlink message type and its payload. */
  pushKernelRecord(type: number, payload: Buffer | string): void {
    // Sent to the daemon whenever a process asks to register, to test that the daemon still reads;
    // it carries no event.
    if (type === AUDIT_REPLACE) return;
    this.pushParsed(parseKernelRecord(type, payload));
  }

  /**
   * One read of the addon (src/audit/socket.ts): whole syscall events are read from the bytes
   * (./batch.ts), the rest record by record as pushKernelRecord() reads them; control replies skipped.
   */
  pushBatch(batch: RecordBatch): void {
    // One /proc stat read per process per batch (process/resolver.ts).
    this.processContext?.beginBatch();
    // The addon's reads of the processes it opened for these records: known before their flows come.
    if (this.processContext && batch.processes) {
      for (const read of readProcessReads(batch.processes)) this.processContext.earlyRead(read);
    }
    this.batches.read(batch);
  }

  /**
   * sock_diag messages (whole netlink messages, two words per message in `offsets`: offset, length),
   * read at `now` (ms; live: by the addon's reader thread) from network namespace `netns` (null: the daemon's): destroy broadcasts,
   * joined to their flows of that namespace (./flow-ends.ts, ./namespace-ends.ts).
   */
  pushSockDiag(data: Buffer, offsets: Uint32Array, now: number, netns: number | null = null): void {
    if (!this.ends) return;
    for (let i = 0; i + 1 < offsets.length; i += 2) {
      const at = offsets[i] as number;
      const parsed = parseInetDiag(data.subarray(at, at + (offsets[i + 1] as number)));
      if (parsed.ok) this.ends.pushDestroy(parsed.socket, now, netns);
      else this.lose({ reason: 'sock_diag_parse_error', count: 1, node: '', time: now, detail: parsed.reason });
    }
  }

  /** An `existing` entry (the start's sock_diag dump): its process context, then published, and its socket's close joined to it. */
  pushExisting(flow: Flow): void {
    const out = (resolved: Flow): void => {
      this.flows++;
      this.options.onFlow(resolved);
      this.ends?.pushExisting(resolved);
    };
    if (this.processContext) this.processContext.push(flow, out);
    else out(flow);
  }

  /** Network namespace `netns` is no longer read (it is gone): its join lets out what waits there. */
  forgetNamespace(netns: number): void {
    this.ends?.forget(netns);
  }

  /** Moves the short waits' time forward (live: every few tens of ms): the local check's and the close join's. */
  advanceShortWaits(now: number): void {
    this.check.advance(now);
    this.ends?.advance(now);
  }

  /** One line of an auditd log file. Blank lines are skipped. */
  pushLogLine(line: string): void {
    if (line.trim() === '') return;
    this.pushParsed(parseLogLine(line));
  }

  pushRecord(record: AuditRecord): void {
    this.records++;
    this.reassembler.push(record);
  }

  /** Moves time forward (live: on a timer, with the wall clock): expires events and windows. */
  advance(now: number): void {
    this.reassembler.advance(now);
    this.uring.advance(now);
    this.check.advance(now);
    this.ends?.advance(now);
    this.aggregator.advance(now);
  }

  /**
   * The input has ended: emit what is in flight and every pending aggregate. Flows still
   * waiting for a /proc lookup go out without it; drain() waits for them instead.
   */
  flush(): void {
    this.reassembler.flush();
    this.uring.flush();
    this.processContext?.flush();
    this.check.flush();
    this.ends?.flush();
    this.aggregator.flush();
  }

  /** flush(), but first lets the waiting /proc lookups finish (each within the resolver's lookupTimeoutMs). */
  async drain(): Promise<void> {
    this.reassembler.flush();
    this.uring.flush();
    await this.processContext?.settled();
    this.flush();
  }

  /**
   * The lowest serial that may still give a flow or a loss report: an event waiting for its end, a
   * serial gap not yet declared, a flow waiting for its process context, a send counted in an open
   * aggregation window. undefined when none. The daemon's crash checkpoint (the serial up to which
   * everything reached the sink) stays below it.
   */
  oldestPendingSerial(): number | undefined {
    const stages = [
      this.reassembler.oldestPendingSerial,
      this.uring.oldestPendingSerial,
      this.processContext?.oldestPendingSerial,
      this.check.oldestPendingSerial,
      this.ends?.oldestPendingSerial,
      this.aggregator.oldestPendingSerial,
    ];
    const serials = stages.filter((s): s is number => s !== undefined);
    return serials.length === 0 ? undefined : Math.min(...serials);
  }

  stats(): PipelineStats {
    return {
      records: this.records,
      events: this.reassembler.eventCount,
      flows: this.flows,
      inFlight: this.reassembler.inFlightCount,
      sockets: this.sockets.size,
      losses: this.losses.toJSON(),
      ...(this.processContext ? { process: this.processContext.stats() } : {}),
      ...(this.ends ? { flowEnds: this.ends.stats() } : {}),
      localCheck: this.check.stats(),
    };
  }

  private takeLookup(node: string, serial: number): EarlyLookup | undefined {
    if (node !== '' || this.lookups.size === 0) return undefined;
    const lookup = this.lookups.get(serial);
    this.lookups.delete(serial);
    return lookup;
  }

  private pushParsed(result: ParseResult): void {
    if (result.ok) {
      this.pushRecord(result.record);
      return;
    }
    this.lose({ reason: 'parse_error', count: 1, node: '', time: 0, detail: result.error.kind, text: result.error.text.slice(0, 512) });
  }

  /** One event, by either path: the socket step, then the flow, then the process context. */
  private onEvent(event: EventRecords): void {
    this.check.see(event.time);
    const step = event.uringop
      ? this.uring.push(event, this.families)
      : event.packet
        ? this.packets.push(event.node, event.serial, event.time, event.packet, this.families)
        : updateSockets(event, this.sockets, this.families, this.check);
    switch (step.kind) {
      case 'flow': {
        if ('flow' in step) {
          this.toProcessContext(step.flow);
          break;
        }
        const flow = toFlow(event, step);
        const read = endsRead(step);
        if (read !== undefined) this.check.noteRead(flow, read);
        const lookup = event.lookup;
        if (lookup?.info === undefined && lookup?.goneByUs !== undefined && lookup.goneByUs > 0 && lookup.pid === flow.pid && lookup.fd === flow.fd) this.goneBy.set(flow, lookup.goneByUs / 1000);
        // An fd accept() had just returned that no lookup found (the addon's, or the resolver's just now)
        // was closed by now: the close join may pair the accept with its peer by order (./flow-ends.ts).
        else if (step.op === 'accept' && step.acceptedFd !== undefined && step.proc === undefined && flow.remote_addr === null) this.goneBy.set(flow, (this.options.now ?? Date.now)());
        this.toProcessContext(flow);
        break;
      }
      case 'held':
        break;
      case 'dropped':
        this.lose({ reason: 'family', count: 1, node: event.node, time: event.time, firstSerial: event.serial, detail: step.family });
        break;
      case 'bad-sockaddr':
        this.lose({ reason: 'bad_sockaddr', count: 1, node: event.node, time: event.time, firstSerial: event.serial, detail: step.error.kind });
        break;
      case 'none': {
        // A socket() (or any other audited syscall): its rule key may label the process.
        const owner = this.processContext && syscallProcess(event);
        if (owner) this.processContext?.observe(owner.pid, owner.exe, owner.key, event.time);
        break;
      }
    }
  }

  private lose(report: LossReport): void {
    this.losses.add(report);
    this.options.onLoss?.(report);
  }
}
