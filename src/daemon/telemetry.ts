// What the daemon tells about itself: the periodic stats log line and systemd STATUS=, the status
// file `auditflow status` and the next start read, and the Prometheus endpoint. All of it from one
// snapshot of the daemon, taken when asked.
import type { Server } from 'node:http';
import type { AuditBinding } from '../native/binding.js';
import { ConfigError } from './config.js';
import type { LatencyHistogram } from './latency-histogram.js';
import type { Logger } from './logger.js';
import { serveMetrics } from './metrics.js';
import { writeSnapshot, type DaemonSnapshot } from './snapshot.js';

export interface TelemetryOptions {
  log: Logger;
  binding: AuditBinding;
  snapshot: () => DaemonSnapshot;
  latency: LatencyHistogram;
  /** Kernel event to Redis's acknowledgement (RedisStreamSink's onWritten). */
  written: LatencyHistogram;
}

/** The one-line summary for systemd's STATUS=. */
export function statusLine(s: DaemonSnapshot): string {
  return `${s.pipeline.flows} flows, ${Object.values(s.losses).reduce((a, b) => a + b, 0)} lost, sink ${s.sinkHealth.state}`;
}

export class Telemetry {
  private statsTimer: NodeJS.Timeout | undefined;
  private metrics: Server | undefined;

  constructor(private readonly options: TelemetryOptions) {}

  /** Logs a stats line and updates systemd's STATUS= every `intervalS` seconds (0: never). Replaces the previous timer. */
  statsEvery(intervalS: number): void {
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    if (intervalS === 0) return;
    this.statsTimer = setInterval(() => {
      const s = this.options.snapshot();
      this.options.log.info(
        {
          stage: 'stats',
          records: s.pipeline.records,
          events: s.pipeline.events,
          flows: s.pipeline.flows,
          losses: s.losses,
          filtered: s.pipeline.losses,
          kernelLost: s.kernel.lost,
          backlog: s.kernel.backlog,
          sink: { state: s.sinkHealth.state, queued: s.sinkHealth.queued, spoolBytes: s.sinkHealth.spoolBytes, written: s.sinkHealth.counters.written },
          rss: s.memory.rss,
          ...(s.dns === undefined
            ? {}
            : {
                dns: {
                  capture: s.dns.capture,
                  answers: s.dns.answers,
                  cache: s.dns.cacheAddresses,
                  named: s.dns.flowsNamed,
                  drops: (s.dns.reader?.kernelDrops ?? 0) + (s.dns.reader?.queueDrops ?? 0) + (s.dns.reader?.truncated ?? 0),
                },
              }),
        },
        'stats',
      );
      this.options.binding.sdNotify(`STATUS=${statusLine(s)}`);
    }, intervalS * 1000);
  }

  /** Writes the status file into `runtimeDir`; a failure is logged, never thrown. */
  writeStatus(runtimeDir: string): void {
    try {
      writeSnapshot(runtimeDir, this.options.snapshot());
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message, dir: runtimeDir }, 'cannot write the status file');
    }
  }

  /** Serves /metrics on `listen`; an address that cannot be had is a configuration error (exit 9). */
  async serve(listen: string): Promise<void> {
    try {
      this.metrics = await serveMetrics(listen, this.options.snapshot, this.options.latency, this.options.written);
    } catch (error) {
      throw new ConfigError(`metrics_listen: cannot listen on ${listen} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose another address, or off`);
    }
    this.options.log.info({ stage: 'metrics', listen }, 'serving Prometheus metrics at /metrics');
  }

  /** Stops the stats timer and the metrics server. */
  async close(): Promise<void> {
    this.statsEvery(0);
    const server = this.metrics;
    this.metrics = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
