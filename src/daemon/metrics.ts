// Prometheus metrics, text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), rendered from the daemon's snapshot on
// each scrape. Served on a local address only; the port is the operator's to expose.
import { createServer, type Server } from 'node:http';
import type { DaemonSnapshot } from './snapshot.js';

type Sample = [labels: Record<string, string>, value: number];

function family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string {
  const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${escape(v)}"`)
      .join(',');
    lines.push(`${name}${text === '' ? '' : `{${text}}`} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
  return lines.join('\n');
}

const one = (value: number | null): Sample[] => (value === null ? [] : [[{}, value]]);

export function renderMetrics(s: DaemonSnapshot): string {
  const lossSamples: Sample[] = Object.entries(s.losses).map(([reason, count]) => [{ reason }, count]);
  const dropped: Sample[] = Object.entries(s.pipeline.losses)
    .filter(([key]) => key.startsWith('family:'))
    .map(([key, count]) => [{ family: key.slice('family:'.length) }, count]);
  const states = ['connecting', 'ready', 'spooling', 'closed'] as const;
  return (
    [
      family('auditflow_up', 'gauge', 'The daemon is running.', [[{ mode: s.mode, sink: s.sink, version: s.version }, 1]]),
      family('auditflow_records_total', 'counter', 'Audit records read from the kernel.', [[{}, s.pipeline.records]]),
      family('auditflow_events_total', 'counter', 'Audit events reassembled.', [[{}, s.pipeline.events]]),
      family('auditflow_flows_total', 'counter', 'Flow entries produced.', [[{}, s.pipeline.flows]]),
      family('auditflow_losses_total', 'counter', 'Records, events or entries lost, by reason (the loss entries of the stream).', lossSamples),
      family('auditflow_filtered_total', 'counter', 'Network events of families not kept as flows (not a loss).', dropped),
      family('auditflow_self_flows_total', 'counter', "Flows of the daemon's own pid, dropped.", [[{}, s.selfFlows]]),
      family('auditflow_events_in_flight', 'gauge', 'Events waiting for their last record.', [[{}, s.pipeline.inFlight]]),
      family('auditflow_socket_table_entries', 'gauge', 'Sockets remembered from socket() events.', [[{}, s.pipeline.sockets]]),
      family('auditflow_reader_datagrams_total', 'counter', 'Netlink datagrams read by the reader thread.', [[{}, s.reader.datagrams]]),
      family('auditflow_reader_bytes_total', 'counter', 'Bytes read by the reader thread.', [[{}, s.reader.bytes]]),
      family('auditflow_reader_enobufs_total', 'counter', 'Reads that failed with ENOBUFS (the socket buffer overflowed).', [[{}, s.reader.enobufs]]),
      family('auditflow_reader_dropped_records_total', 'counter', "Records dropped because the reader's queue was full.", [[{}, s.reader.droppedRecords]]),
      family('auditflow_kernel_lost', 'gauge', "The kernel's lost counter (since boot or its last reset).", one(s.kernel.lost)),
      family('auditflow_kernel_backlog', 'gauge', 'Records queued in the kernel for the daemon.', one(s.kernel.backlog)),
      family('auditflow_kernel_backlog_limit', 'gauge', "The kernel's backlog_limit.", one(s.kernel.backlogLimit)),
      family('auditflow_sink_accepted_total', 'counter', 'Entries accepted by the sink.', [[{}, s.sinkHealth.counters.accepted]]),
      family('auditflow_sink_written_total', 'counter', 'Entries acknowledged by Redis (or written to stdout).', [[{}, s.sinkHealth.counters.written]]),
      family('auditflow_sink_queued', 'gauge', 'Entries in the memory queue or in flight.', [[{}, s.sinkHealth.queued]]),
      family('auditflow_spool_bytes', 'gauge', 'Bytes in the spool not yet acknowledged by Redis.', [[{}, s.sinkHealth.spoolBytes]]),
      family('auditflow_sink_state', 'gauge', 'The sink state (1 for the current one).', states.map((state) => [{ state }, s.sinkHealth.state === state ? 1 : 0])),
      family('auditflow_backpressure_blocked', 'gauge', '1 while the sink refuses entries and reading is held back.', [[{}, s.backpressure.blocked ? 1 : 0]]),
      family('auditflow_resident_memory_bytes', 'gauge', 'Resident set size of the daemon.', [[{}, s.memory.rss]]),
      family('auditflow_cpu_seconds_total', 'counter', 'CPU time of the daemon (user + system).', [[{}, s.cpuSeconds]]),
    ].join('\n') + '\n'
  );
}

/** Serves GET /metrics on host:port; resolves once listening (port 0 picks a free one: see address()). */
export async function serveMetrics(listen: string, snapshot: () => DaemonSnapshot): Promise<Server> {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(separator + 1));
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderMetrics(snapshot()));
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
