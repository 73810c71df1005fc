// Prometheus metrics, text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), rendered from the daemon's snapshot on
// each scrape. Served on a local address only; the port is the operator's to expose.
import { createServer, type Server } from 'node:http';
import type { HistogramSnapshot, LatencyHistogram } from './latency-histogram.js';
import { LOSS_REASONS } from './loss-reporter.js';
import { sampleProcess, type ProcessSample } from './process-metrics.js';
import type { DaemonSnapshot } from './snapshot.js';

type Sample = [labels: Record<string, string>, value: number];

const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function sampleLine(name: string, labels: Record<string, string>, value: number): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',');
  return `${name}${text === '' ? '' : `{${text}}`} ${Number.isFinite(value) ? value : value === Infinity ? '+Inf' : 'NaN'}`;
}

function family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([labels, value]) => sampleLine(name, labels, value))].join('\n');
}

function histogram(name: string, help: string, h: HistogramSnapshot): string {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...h.bounds.map((bound, i) => sampleLine(`${name}_bucket`, { le: String(bound) }, h.cumulative[i] ?? 0)),
    sampleLine(`${name}_bucket`, { le: '+Inf' }, h.count),
    sampleLine(`${name}_sum`, {}, h.sum),
    sampleLine(`${name}_count`, {}, h.count),
  ].join('\n');
}

const one = (value: number | null): Sample[] => (value === null ? [] : [[{}, value]]);

/** What the metrics read besides the daemon's snapshot, sampled at the scrape. */
export interface ScrapeSample {
  process: ProcessSample;
  latency: HistogramSnapshot;
  /** Kernel event to Redis acknowledging its entry (the sink's onWritten). */
  written: HistogramSnapshot;
  /** process.version: the Node the daemon runs on. */
  node: string;
}

/** Losses since start by reason: every reason of the closed set, 0 until its first loss. */
function lossesByReason(s: DaemonSnapshot): Sample[] {
  const counters = s.sinkHealth.counters;
  // The sink tallies its own loss entries; its counters hold the same counts.
  const counts: Record<string, number> = { ...s.losses, spool_full: counters.droppedFull, spool_corrupt: counters.spoolCorrupt, rejected: counters.rejected };
  return LOSS_REASONS.map((reason) => [{ reason }, counts[reason] ?? 0]);
}

/** The DNS answer capture (docs/dns.md); none before the daemon set it up. */
function dnsFamilies(s: DaemonSnapshot): string[] {
  const dns = s.dns;
  if (dns === undefined) return [];
  return [
    family('auditflow_dns_capture_up', 'gauge', '1 while DNS answers are captured (dns_names or dns_entries on, and CAP_NET_RAW).', [[{}, dns.capture === 'on' ? 1 : 0]]),
    family('auditflow_dns_answers_total', 'counter', 'DNS responses read that gave at least one address.', [[{}, dns.answers]]),
    family('auditflow_dns_skipped_packets_total', 'counter', 'Captured packets that gave no address, by reason (malformed, tcp-partial, truncated, ...; not-response and no-question are not errors).', Object.entries(dns.skipped).map(([reason, count]) => [{ reason }, count])),
    family('auditflow_dns_dropped_packets_total', 'counter', "Captured packets dropped: by the kernel for a full socket buffer, or by the reader's full queue.", [
      [{ where: 'kernel' }, dns.reader?.kernelDrops ?? 0],
      [{ where: 'queue' }, dns.reader?.queueDrops ?? 0],
      [{ where: 'truncated' }, dns.reader?.truncated ?? 0],
    ]),
    family('auditflow_dns_cache_addresses', 'gauge', 'Addresses whose DNS names are remembered.', [[{}, dns.cacheAddresses]]),
    family('auditflow_dns_cache_evicted_total', 'counter', 'Addresses dropped from the DNS name cache before their answers expired, to stay within dns_cache_size.', [[{}, dns.evicted]]),
    family('auditflow_dns_flows_named_total', 'counter', 'Flows given a remote_name.', [[{}, dns.flowsNamed]]),
  ];
}

export function renderMetrics(s: DaemonSnapshot, scrape: ScrapeSample): string {
  const dropped: Sample[] = Object.entries(s.pipeline.losses)
    .filter(([key]) => key.startsWith('family:'))
    .map(([key, count]) => [{ family: key.slice('family:'.length) }, count]);
  const states = ['connecting', 'ready', 'spooling', 'closed'] as const;
  const p = scrape.process;
  return (
    [
      family('auditflow_build_info', 'gauge', 'The running version and its Node.js, as labels; the value is always 1.', [[{ version: s.version, node: scrape.node }, 1]]),
      family('auditflow_mode_info', 'gauge', 'How the daemon reads (unicast or multicast) and where it writes, as labels; the value is always 1.', [[{ mode: s.mode, sink: s.sink }, 1]]),
      family('auditflow_records_total', 'counter', 'Audit records read from the kernel.', [[{}, s.pipeline.records]]),
      family('auditflow_events_total', 'counter', 'Audit events reassembled.', [[{}, s.pipeline.events]]),
      family('auditflow_flows_total', 'counter', 'Flow entries produced.', [[{}, s.pipeline.flows]]),
      family('auditflow_losses_total', 'counter', 'Records, events or entries lost, by reason (the loss entries of the stream); every reason from the start.', lossesByReason(s)),
      family('auditflow_filtered_total', 'counter', 'Network events of families not kept as flows (not a loss).', dropped),
      family('auditflow_self_flows_total', 'counter', "Flows of the daemon's own pid, dropped.", [[{}, s.selfFlows]]),
      family('auditflow_events_in_flight', 'gauge', 'Events waiting for their last record.', [[{}, s.pipeline.inFlight]]),
      family('auditflow_socket_table_entries', 'gauge', 'Sockets remembered from socket() events.', [[{}, s.pipeline.sockets]]),
      family('auditflow_close_entries_total', 'counter', 'Close entries (op=close) made from socket destroy broadcasts, by whether their opening flow was found.', [
        [{ opener: 'found' }, s.pipeline.flowEnds?.closesJoined ?? 0],
        [{ opener: 'unknown' }, (s.pipeline.flowEnds?.closes ?? 0) - (s.pipeline.flowEnds?.closesJoined ?? 0)],
      ]),
      family('auditflow_local_end_total', 'counter', 'Connect, accept and send flows that waited for their local end, and accepts for their peer (local_wait_ms), by outcome: found in the destroy broadcast, or published without it.', [
        [{ outcome: 'close' }, s.pipeline.flowEnds?.localFromClose ?? 0],
        [{ outcome: 'missing' }, s.pipeline.flowEnds?.localMissing ?? 0],
      ]),
      family('auditflow_local_end_checks_total', 'counter', "Flows whose ends were read from their socket after the event, by the check of the records that followed: dropped because a later socket on the same fd may have been read (the flow waits for its destroy's local end instead), kept, kept when the wait ran out, or let through unchecked by a full table.", [
        [{ verdict: 'replaced' }, s.pipeline.localCheck?.replaced ?? 0],
        [{ verdict: 'kept' }, s.pipeline.localCheck?.kept ?? 0],
        [{ verdict: 'timed_out' }, s.pipeline.localCheck?.timedOut ?? 0],
        [{ verdict: 'unchecked' }, s.pipeline.localCheck?.unchecked ?? 0],
      ]),
      family('auditflow_flow_end_namespaces', 'gauge', "Other network namespaces whose destroy broadcasts are read and joined now (flow_end_namespaces = all).", [[{}, s.pipeline.flowEnds?.namespaces ?? 0]]),
      family('auditflow_flow_end_unread_namespace_flows_total', 'counter', "Flows of processes in another network namespace whose destroys are not read (flow_end_namespaces = host, no CAP_SYS_ADMIN, refused, or past the bound): no close entry, no local end from one.", [[{}, s.pipeline.flowEnds?.unwatched ?? 0]]),
      family('auditflow_reader_datagrams_total', 'counter', 'Netlink datagrams read by the reader thread.', [[{}, s.reader.datagrams]]),
      family('auditflow_reader_bytes_total', 'counter', 'Bytes read by the reader thread.', [[{}, s.reader.bytes]]),
      family('auditflow_reader_enobufs_total', 'counter', 'Reads that failed with ENOBUFS (the socket buffer overflowed).', [[{}, s.reader.enobufs]]),
      family('auditflow_reader_dropped_records_total', 'counter', "Records dropped because the reader's queue was full.", [[{}, s.reader.droppedRecords]]),
      // The kernel's counter is machine-wide and can be reset (auditctl --reset-lost): a gauge.
      family('auditflow_kernel_lost_records', 'gauge', "The kernel's lost counter (since boot or its last reset).", one(s.kernel.lost)),
      family('auditflow_kernel_backlog_records', 'gauge', 'Records queued in the kernel for the daemon.', one(s.kernel.backlog)),
      family('auditflow_kernel_backlog_limit_records', 'gauge', "The kernel's backlog_limit.", one(s.kernel.backlogLimit)),
      family('auditflow_sink_accepted_total', 'counter', 'Entries accepted by the sink.', [[{}, s.sinkHealth.counters.accepted]]),
      family('auditflow_sink_written_total', 'counter', 'Entries acknowledged by Redis (or written to stdout).', [[{}, s.sinkHealth.counters.written]]),
      family('auditflow_sink_queued_entries', 'gauge', 'Entries in the memory queue or in flight.', [[{}, s.sinkHealth.queued]]),
      family('auditflow_spool_bytes', 'gauge', 'Bytes in the spool not yet acknowledged by Redis.', [[{}, s.sinkHealth.spoolBytes]]),
      family('auditflow_sink_state', 'gauge', 'The sink state (1 for the current one).', states.map((state) => [{ state }, s.sinkHealth.state === state ? 1 : 0])),
      family('auditflow_backpressure_blocked', 'gauge', '1 while the sink refuses entries and reading is held back.', [[{}, s.backpressure.blocked ? 1 : 0]]),
      family('auditflow_backpressure_held_bytes', 'gauge', 'Record bytes held back while the sink refuses entries.', [[{}, s.backpressure.heldBytes]]),
      ...dnsFamilies(s),
      histogram('auditflow_flow_latency_seconds', "Time from a kernel event (its audit record's timestamp, ms resolution) to the sink accepting its flow entry.", scrape.latency),
      histogram('auditflow_flow_written_latency_seconds', "Time from a kernel event to Redis acknowledging its flow entry's XADD (entries sent from the spool are not counted).", scrape.written),
      family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', [[{}, p.cpuSeconds]]),
      family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [[{}, p.residentBytes]]),
      family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', [[{}, p.startTimeSeconds]]),
      family('process_open_fds', 'gauge', 'Number of open file descriptors.', one(p.openFds)),
      family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', one(p.maxFds)),
      family('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', [[{}, p.heapTotalBytes]]),
      family('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', [[{}, p.heapUsedBytes]]),
      family('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', [[{}, p.externalBytes]]),
    ].join('\n') + '\n'
  );
}

/** Serves GET /metrics on host:port; resolves once listening (port 0 picks a free one: see address()). */
export async function serveMetrics(listen: string, snapshot: () => DaemonSnapshot, latency: LatencyHistogram, written: LatencyHistogram): Promise<Server> {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(separator + 1));
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderMetrics(snapshot(), { process: sampleProcess(Date.now()), latency: latency.snapshot(), written: written.snapshot(), node: process.version }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
