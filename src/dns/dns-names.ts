// DNS names on flows: captured answer packets (./capture.ts) → DNS messages (./packet.ts) → the
// addresses they resolved (./answers.ts) → the name cache (./name-cache.ts); and every flow whose
// remote address the cache knows gets `remote_name` (and `remote_cname`). A process's own DNS
// queries are flows too (a connect or sendto to port 53): their local ends are remembered per
// process, so the answer to its own query wins over answers other processes received for the same
// address. Nothing here throws on a packet; what cannot be read is counted by reason.
import type { Flow } from '../schema/entries.js';
import { answersOf, type Resolution } from './answers.js';
import { NameCache, type NameCacheOptions, type QueryEnd } from './name-cache.js';
import { dnsSegment, type DnsSegment, type SegmentSkip } from './packet.js';

// RFC 1035 4.2: DNS servers listen on port 53, UDP and TCP.
export const DNS_PORT = 53;
/** Per packet in a capture batch's meta: offset, length, interface index (native/dns_capture.h). */
export const PACKET_META_WORDS = 3;
/** Local ends of one process's queries kept, the newest (a resolver asks A and AAAA, and retries). */
const QUERIES_PER_PROCESS = 16;

export interface DnsNamesOptions extends NameCacheOptions {
  /** Processes whose DNS queries are remembered, at most (least recently querying first out; default 4096). */
  maxQueryProcesses?: number;
  /** Each answer read, with the process whose query it answered when that query was seen. */
  onAnswer?: (answer: DnsAnswer) => void;
}

/** One DNS response that resolved names to addresses. */
export interface DnsAnswer {
  segment: DnsSegment;
  resolutions: Resolution[];
  /** When it was read, ms since the epoch. */
  ts: number;
}

/** The process that made a DNS query, from its flow. */
export interface QueryProcess {
  pid: number;
  ts: number;
  comm: string | null;
  exe: string | null;
  uid: number | null;
}

export type PacketOutcome = SegmentSkip | 'malformed' | 'not-response' | 'no-question';

export interface DnsNamesStats {
  /** Captured packets read. */
  packets: number;
  /** Responses that gave at least one address. */
  answers: number;
  /** Address records remembered (one answer can hold several). */
  resolutions: number;
  /** Packets that gave nothing, by reason: `truncated`, `fragment`, `protocol`, `tcp-partial`, `malformed`, `not-response`, `no-question`. */
  skipped: Partial<Record<PacketOutcome, number>>;
  /** Addresses in the cache now, and dropped from it to stay within its bound. */
  cacheAddresses: number;
  evicted: number;
  /** Flows given a remote_name. */
  flowsNamed: number;
  /** DNS queries seen as flows (their local ends are remembered for the match). */
  queries: number;
}

export class DnsNames {
  private readonly cache: NameCache;
  private readonly queriesByPid = new Map<number, QueryEnd[]>();
  // By local port alone: a query socket's local address is often unspecified (an unbound UDP
  // socket's sendto), and two processes do not hold one local port at once.
  private readonly processByPort = new Map<number, QueryProcess>();
  private readonly maxProcesses: number;
  private readonly onAnswer: ((answer: DnsAnswer) => void) | undefined;
  private packets = 0;
  private answers = 0;
  private resolutions = 0;
  private flowsNamed = 0;
  private queries = 0;
  private readonly skipped: Partial<Record<PacketOutcome, number>> = {};

  constructor(options: DnsNamesOptions = {}) {
    this.cache = new NameCache(options);
    this.maxProcesses = Math.max(1, options.maxQueryProcesses ?? 4096);
    this.onAnswer = options.onAnswer;
  }

  /** One batch of the capture: packets side by side in `data`, three meta words each. */
  pushPackets(data: Buffer, meta: Uint32Array, now: number): void {
    for (let i = 0; i + PACKET_META_WORDS <= meta.length; i += PACKET_META_WORDS) {
      const offset = meta[i] as number;
      const length = meta[i + 1] as number;
      if (offset + length > data.length) {
        this.skip('truncated');
        continue;
      }
      this.pushPacket(data.subarray(offset, offset + length), now);
    }
  }

  /** One captured packet, from its IP header on. */
  pushPacket(packet: Buffer, now: number): void {
    this.packets++;
    const segment = dnsSegment(packet);
    if (!segment.ok) {
      this.skip(segment.skip);
      return;
    }
    const result = answersOf(segment.segment.message);
    if (!result.ok) {
      this.skip(result.reason);
      return;
    }
    if (result.resolutions.length === 0) return;
    this.answers++;
    this.resolutions += result.resolutions.length;
    const { client, clientPort } = segment.segment;
    for (const resolution of result.resolutions) this.cache.add(resolution, client, clientPort, now);
    this.onAnswer?.({ segment: segment.segment, resolutions: result.resolutions, ts: now });
  }

  /**
   * Learns from a flow whether it is a DNS query (an egress UDP or TCP flow to port 53 whose local
   * port is known): its local end then ties later answers to its process.
   */
  observe(flow: Flow): void {
    if (flow.remote_port !== DNS_PORT || flow.direction !== 'egress' || flow.local_port === null || flow.pid === null) return;
    if (flow.proto !== 'udp' && flow.proto !== 'tcp') return;
    this.queries++;
    const end: QueryEnd = { addr: flow.local_addr, port: flow.local_port };
    const ends = (this.queriesByPid.get(flow.pid) ?? []).filter((e) => e.port !== end.port || e.addr !== end.addr);
    ends.push(end);
    if (ends.length > QUERIES_PER_PROCESS) ends.shift();
    remember(this.queriesByPid, flow.pid, ends, this.maxProcesses);
    remember(this.processByPort, end.port, { pid: flow.pid, ts: flow.ts, comm: flow.comm, exe: flow.exe, uid: flow.uid }, this.maxProcesses * QUERIES_PER_PROCESS);
  }

  /** The process whose query went out from `port` (the answer's destination port), if it was seen. */
  queryProcess(port: number): QueryProcess | undefined {
    return this.processByPort.get(port);
  }

  /**
   * Sets `remote_name` and `remote_cname` of a flow whose remote address an answer alive at `now`
   * named; leaves the flow as it is otherwise. Any flow can go through it (close entries too).
   */
  name(flow: Flow, now: number): void {
    if (flow.remote_addr === null) return;
    const queries = flow.pid === null ? undefined : this.queriesByPid.get(flow.pid);
    const found = this.cache.lookup(flow.remote_addr, now, queries);
    if (found === null) return;
    flow.remote_name = found.name;
    flow.remote_cname = found.cname;
    this.flowsNamed++;
  }

  stats(): DnsNamesStats {
    const cache = this.cache.stats();
    return {
      packets: this.packets,
      answers: this.answers,
      resolutions: this.resolutions,
      skipped: { ...this.skipped },
      cacheAddresses: cache.addresses,
      evicted: cache.evicted,
      flowsNamed: this.flowsNamed,
      queries: this.queries,
    };
  }

  private skip(reason: PacketOutcome): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }
}

/** Sets key to value as the most recent entry of a map bounded at `max` (oldest out). */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}
