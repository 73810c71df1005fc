// The Prometheus metrics: the text format, the standard process_* names read from this very process,
// every loss reason at 0 from the start, and the latency histogram, served over real HTTP.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LatencyHistogram, LATENCY_BUCKETS_SECONDS } from '../../../src/daemon/latency-histogram.js';
import { LOSS_REASONS, LossReporter } from '../../../src/daemon/loss-reporter.js';
import { renderMetrics, serveMetrics, type ScrapeSample } from '../../../src/daemon/metrics.js';
import { sampleProcess, softFdLimit } from '../../../src/daemon/process-metrics.js';
import type { DaemonSnapshot } from '../../../src/daemon/snapshot.js';
import { readerStats } from '../../helpers/fake-kernel.js';
import { SINK_LOSS_REASONS } from '../../../src/sink/index.js';

function snapshotWith(losses: Record<string, number>, counters: Partial<DaemonSnapshot['sinkHealth']['counters']> = {}): DaemonSnapshot {
  return {
    pid: 1,
    version: '0.1.0',
    host: 'h',
    mode: 'unicast',
    sink: 'redis',
    stream: 'auditflow:flows',
    started: 0,
    updated: 0,
    stopped: false,
    lastSerial: 5,
    firstSerial: 1,
    safeSerial: 4,
    lastRecordTs: 0,
    pipeline: { records: 40, events: 10, flows: 7, inFlight: 1, sockets: 3, losses: { family: 2, 'family:unix': 2 } },
    reader: readerStats({ datagrams: 40, records: 40, bytes: 4000, batches: 2 }),
    kernel: { enabled: 1, lost: 0, backlog: 0, backlogLimit: 8192, immutable: false },
    losses,
    selfFlows: 0,
    sinkHealth: {
      state: 'spooling',
      lastError: undefined,
      queued: 0,
      spoolBytes: 100,
      counters: { accepted: 8, written: 6, duplicatesSuppressed: 0, droppedFull: 0, blocked: 0, rejected: 0, spoolCorrupt: 0, spoolTornBytes: 0, ...counters },
    },
    backpressure: { blocked: false, heldBatches: 0, heldBytes: 0 },
    memory: { rss: 1000, heapUsed: 10 },
    cpuSeconds: 1.5,
  };
}

const scrapeSample = (latency = new LatencyHistogram(), written = new LatencyHistogram()): ScrapeSample => ({ process: sampleProcess(Date.now()), latency: latency.snapshot(), written: written.snapshot(), node: 'v24.21.0' });

/** name{labels} -> value, from the text format. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match !== null) out.set(match[1] ?? '', Number(match[2]));
  }
  return out;
}

describe('renderMetrics', () => {
  it('exports the DNS capture: up, answers, flows named, skipped and dropped packets by reason, the cache', () => {
    const dns: NonNullable<DaemonSnapshot['dns']> = {
      capture: 'on',
      reason: null,
      reader: { packets: 12, bytes: 1200, batches: 3, kernelDrops: 2, queueDrops: 1, truncated: 0, loopbackOutgoing: 12 },
      packets: 12,
      answers: 9,
      resolutions: 11,
      skipped: { 'tcp-partial': 2, malformed: 1 },
      cacheAddresses: 7,
      evicted: 0,
      flowsNamed: 5,
      queries: 4,
    };
    const m = samples(renderMetrics({ ...snapshotWith({}), dns }, scrapeSample()));
    expect(m.get('auditflow_dns_capture_up')).toBe(1);
    expect(m.get('auditflow_dns_answers_total')).toBe(9);
    expect(m.get('auditflow_dns_flows_named_total')).toBe(5);
    expect(m.get('auditflow_dns_cache_addresses')).toBe(7);
    expect(m.get('auditflow_dns_skipped_packets_total{reason="tcp-partial"}')).toBe(2);
    expect(m.get('auditflow_dns_skipped_packets_total{reason="malformed"}')).toBe(1);
    expect(m.get('auditflow_dns_dropped_packets_total{where="kernel"}')).toBe(2);
    expect(m.get('auditflow_dns_dropped_packets_total{where="queue"}')).toBe(1);
    const off = samples(renderMetrics({ ...snapshotWith({}), dns: { ...dns, capture: 'unavailable', reason: 'EPERM', reader: null } }, scrapeSample()));
    expect(off.get('auditflow_dns_capture_up')).toBe(0);
    expect(off.get('auditflow_dns_dropped_packets_total{where="kernel"}')).toBe(0);
  });

  it('writes the Prometheus text format with losses by reason and the sink state', () => {
    const text = renderMetrics(snapshotWith({ serial_gap: 3 }), scrapeSample());
    expect(text).toContain('# TYPE auditflow_flows_total counter\nauditflow_flows_total 7\n');
    expect(text).toContain('auditflow_losses_total{reason="serial_gap"} 3\n');
    expect(text).toContain('auditflow_filtered_total{family="unix"} 2\n');
    expect(text).toContain('auditflow_sink_state{state="spooling"} 1\n');
    expect(text).toContain('auditflow_sink_state{state="ready"} 0\n');
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [-\d.e+NaN]+)$/);
  });

  it('follows the naming conventions: one HELP and TYPE per family, counters end in _total, no auditflow_up', () => {
    const text = renderMetrics(snapshotWith({}), scrapeSample());
    const types = [...text.matchAll(/^# TYPE (\w+) (\w+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? ''] as const);
    const helps = [...text.matchAll(/^# HELP (\w+) /gm)].map((m) => m[1]);
    expect(helps).toEqual(types.map(([name]) => name));
    expect(new Set(helps).size).toBe(helps.length);
    for (const [name, type] of types) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
    expect(text).not.toMatch(/^auditflow_up/m);
    // The former unitless or own-named gauges now carry their unit, or gave way to process_*.
    for (const gone of ['auditflow_kernel_lost ', 'auditflow_kernel_backlog ', 'auditflow_sink_queued ', 'auditflow_resident_memory_bytes', 'auditflow_cpu_seconds_total']) expect(text).not.toContain(gone);
  });

  it("passes promtool's check (Debian's prometheus package, installed by scripts/install-deps.sh)", () => {
    const latency = new LatencyHistogram();
    latency.observe(0, 3);
    const text = renderMetrics(snapshotWith({ serial_gap: 3 }), scrapeSample(latency));
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exports auditflow_build_info with the version and the Node it runs on', () => {
    expect(renderMetrics(snapshotWith({}), scrapeSample())).toContain('auditflow_build_info{version="0.1.0",node="v24.21.0"} 1\n');
  });

  it('exports every loss reason at 0 before its first loss, the sink reasons from the sink counters', () => {
    const values = samples(renderMetrics(snapshotWith({ kernel_lost: 4 }, { droppedFull: 2, rejected: 1 }), scrapeSample()));
    const byReason = Object.fromEntries(LOSS_REASONS.map((reason) => [reason, values.get(`auditflow_losses_total{reason="${reason}"}`)]));
    expect(byReason).toEqual({
      backpressure: 0,
      bad_sockaddr: 0,
      daemon_down: 0,
      enobufs: 0,
      entry_truncated: 0,
      flow_end_evicted: 0,
      kernel_lost: 4,
      late_record: 0,
      malformed_datagram: 0,
      parse_error: 0,
      reader_queue_full: 0,
      reassembly_timeout: 0,
      rejected: 1,
      serial_gap: 0,
      sock_diag_enobufs: 0,
      sock_diag_parse_error: 0,
      sock_diag_queue_full: 0,
      spool_corrupt: 0,
      spool_full: 2,
      truncated_datagram: 0,
    });
  });

  it('knows every reason the pipeline reports as a loss and every reason of the sink', () => {
    const reporter = new LossReporter('h');
    for (const reason of ['parse_error', 'serial_gap', 'reassembly_timeout', 'late_record', 'bad_sockaddr', 'flow_end_evicted', 'sock_diag_parse_error'] as const) reporter.fromPipeline({ reason, count: 1, node: '', time: 1 });
    for (const reason of Object.keys(reporter.counts())) expect(LOSS_REASONS).toContain(reason);
    expect(Object.keys(reporter.counts())).toHaveLength(7);
    for (const reason of Object.values(SINK_LOSS_REASONS)) expect(LOSS_REASONS).toContain(reason);
  });

  it('renders the latency histogram with cumulative buckets from 1 ms to 10 s, +Inf, sum and count', () => {
    const latency = new LatencyHistogram();
    const event = 1_795_252_393_453;
    for (const delayMs of [0, 1, 3, 40, 40, 900, 12_000]) latency.observe(event, event + delayMs);
    // A clock stepped back: counted as no delay.
    latency.observe(event, event - 5);
    const values = samples(renderMetrics(snapshotWith({}), scrapeSample(latency)));
    const bucket = (le: string): number | undefined => values.get(`auditflow_flow_latency_seconds_bucket{le="${le}"}`);
    expect(LATENCY_BUCKETS_SECONDS.map(String)).toEqual(['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10']);
    expect(LATENCY_BUCKETS_SECONDS.map((le) => bucket(String(le)))).toEqual([3, 3, 4, 4, 4, 6, 6, 6, 6, 7, 7, 7, 7]);
    expect(bucket('+Inf')).toBe(8);
    expect(values.get('auditflow_flow_latency_seconds_count')).toBe(8);
    expect(values.get('auditflow_flow_latency_seconds_sum')).toBeCloseTo(12.984, 9);
  });
});

describe('process metrics', () => {
  it('reads this process: CPU, resident memory, start time and open descriptors', () => {
    const now = Date.now();
    const before = sampleProcess(now);
    const extra = [openSync('/proc/self/status', 'r'), openSync('/proc/self/stat', 'r'), openSync('/proc/self/limits', 'r')];
    try {
      const after = sampleProcess(now);
      expect(after.openFds).toBe((before.openFds ?? NaN) + 3);
      expect(after.openFds).toBe(readdirSync('/proc/self/fd').length - 1);
    } finally {
      for (const fd of extra) closeSync(fd);
    }
    expect(before.cpuSeconds).toBeGreaterThan(0);
    expect(before.residentBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(before.startTimeSeconds).toBeLessThanOrEqual(now / 1000);
    expect(before.startTimeSeconds).toBeGreaterThan(now / 1000 - process.uptime() - 2);
    expect(before.maxFds).toBeGreaterThan(0);
  });

  it('takes the soft limit of "Max open files" and has no number for unlimited', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            20000                524288               files     \n';
    expect(softFdLimit(limits)).toBe(20000);
    expect(softFdLimit(limits.replace('20000 ', 'unlimited'))).toBeNull();
  });

  it('has no open-descriptor count where /proc cannot be read', () => {
    const sample = sampleProcess(Date.now(), '/nonexistent-proc/self');
    expect(sample).toMatchObject({ openFds: null, maxFds: null });
    expect(renderMetrics(snapshotWith({}), { process: sample, latency: new LatencyHistogram().snapshot(), written: new LatencyHistogram().snapshot(), node: 'v22.23.3' })).not.toMatch(/^process_open_fds /m);
  });
});

describe('serveMetrics', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  it('serves GET /metrics with the process metrics of the serving process and the live histogram', async () => {
    const latency = new LatencyHistogram();
    const written = new LatencyHistogram();
    const server = await serveMetrics('127.0.0.1:0', () => snapshotWith({}), latency, written);
    servers.push(server);
    latency.observe(1000, 1002);
    written.observe(1000, 1030);
    const { status, type, body } = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const values = samples(body);
    expect(values.get(`auditflow_build_info{version="0.1.0",node="${process.version}"}`)).toBe(1);
    expect(values.get('auditflow_flow_latency_seconds_bucket{le="0.001"}')).toBe(0);
    expect(values.get('auditflow_flow_latency_seconds_bucket{le="0.0025"}')).toBe(1);
    expect(values.get('auditflow_flow_written_latency_seconds_bucket{le="0.025"}')).toBe(0);
    expect(values.get('auditflow_flow_written_latency_seconds_bucket{le="0.05"}')).toBe(1);
    expect(values.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(values.get('process_open_fds')).toBeGreaterThan(0);
  });
});
