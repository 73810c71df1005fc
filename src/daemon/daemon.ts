// The daemon's lifecycle and wiring: kernel batches → pipeline → flow entries → sink, and the timers
// around them (event expiry, loss entries, kernel polls, watchdog). Its seams live beside it:
// held-input.ts (backpressure), serial-ledger.ts (checkpoints, downtime, counted losses),
// telemetry.ts (stats, status file, metrics). Start-up failures are thrown to the caller, which turns
// them into exit codes; once running, nothing a record contains can stop it. stop() is one ordered,
// idempotent shutdown whose steps each run even if one fails.
import { hostAddresses } from './host-addresses.js';
import { readFileSync } from 'node:fs';
import { nativeBinding, type AuditBinding } from '../native/binding.js';
import type { RecordBatch } from '../native/record-batch.js';
import { edgeSerial, recordCount } from '../pipeline/batch.js';
import type { Flow } from '../pipeline/flow.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { createProcessResolver, ProcessConfigError, type ProcessResolver } from '../pipeline/process/index.js';
import { checkConsumerLag, lifecycleEntry, streamKey, type FlowSink, type LagReport, type RedisClient } from '../sink/index.js';
import { DnsSession } from './dns-session.js';
import { ConfigError, loadConfig, restartOnlyChanges, type ConfigInput, type LoadedConfig } from './config.js';
import { FlowEncoder } from './flow-entry.js';
import { KernelSession } from './kernel-session.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { DaemonLogger, Logger } from './logger.js';
import { LossReporter } from './loss-reporter.js';
import { HeldInput } from './held-input.js';
import { openSink, spoolDirectory, trimPolicy } from './open-sink.js';
import { preparePrivateDir } from './private-dir.js';
import { secretWarnings } from './redis-password.js';
import type { Settings } from './settings.js';
import { SerialLedger } from './serial-ledger.js';
import { inspectSnapshot, type DaemonSnapshot } from './snapshot.js';
import { liveSocketResolver } from './socket-resolver.js';
import { SockDiagSource } from './sock-diag-source.js';
import { hasSysAdmin, NamespaceReaders, SWEEP_MS } from './netns-readers.js';
import { existingSockets } from './existing-sockets.js';
import { statusLine, Telemetry } from './telemetry.js';

export interface DaemonOptions {
  config: LoadedConfig;
  /** How the configuration was found, to load it again on SIGHUP. */
  configInput: ConfigInput;
  logger: DaemonLogger;
  version: string;
  force: boolean;
  binding?: AuditBinding;
  /** The daemon cannot go on (its audit socket failed): the caller stops it and exits non-zero. */
  onFatal: (reason: string) => void;
}

/** Batches held while the sink refuses entries (full_policy=block), at most this many bytes. */
const MAX_HELD_BYTES = 64 * 1024 * 1024;
const TICK_MS = 1000;
/** The stop reason of a start that failed: it puts back everything, whatever on_stop says. */
const START_FAILED = 'start failed';
/** How often the short waits (the local check's; the close join's local_wait_ms and a destroy's wait for its opener) are looked at. */
const SHORT_WAITS_TICK_MS = 50;
/** How long a destroy broadcast waits for the flow that opened its socket: the audit path (delivery, process lookups) comes later than the broadcast, seconds later under a burst. */
const FLOW_END_HOLD_MS = 10_000;
/** The start's socket snapshot (existing entries): the dump and the /proc walk together, at most. */
const EXISTING_TIMEOUT_MS = 2000;
/** How long start-up waits for the records of the daemon's own configuration changes. */
const FIRST_RECORD_WAIT_MS = 2000;

function readBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

export class Daemon {
  private settings: Settings;
  private readonly log: Logger;
  private readonly binding: AuditBinding;
  private readonly losses: LossReporter;
  /** Flows as entries the sink encodes straight into its write buffer (flow-entry.ts). */
  private readonly flows: FlowEncoder;
  private pipeline!: Pipeline;
  private processContext: ProcessResolver | undefined;
  private kernel!: KernelSession;
  private dns: DnsSession | undefined;
  /** The destroy broadcasts (flow_end); undefined when off or refused. */
  private sockDiag: SockDiagSource | undefined;
  /** The destroy readers of other network namespaces (flow_end_namespaces = all); undefined otherwise or without CAP_SYS_ADMIN. */
  private namespaces: NamespaceReaders | undefined;
  private sink!: FlowSink;
  private redis: RedisClient | undefined;
  private lag: LagReport | undefined;
  private readonly latency = new LatencyHistogram();
  private readonly written = new LatencyHistogram();
  private readonly telemetry: Telemetry;
  private ledger!: SerialLedger;
  private readonly held: HeldInput;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly started = Date.now();
  private bootId = '';
  private stopping: Promise<number> | undefined;
  private stopped = false;

  private selfFlows = 0;
  private socketsReused = 0;
  private kernelView: DaemonSnapshot['kernel'] = { enabled: null, lost: null, backlog: null, backlogLimit: null, immutable: false };
  private readonly stageLoggers: Logger[] = [];

  private constructor(private readonly options: DaemonOptions) {
    this.settings = options.config.settings;
    this.log = options.logger.root;
    this.binding = options.binding ?? nativeBinding();
    this.losses = new LossReporter(this.settings.host);
    this.flows = new FlowEncoder(this.settings.host, undefined, {
      maxBytes: this.settings.entry_max_bytes,
      onCut: (flow) => this.losses.add({ reason: 'entry_truncated', count: 1, ts: flow.last_ts, firstSerial: flow.serial, lastSerial: flow.serial }),
    });
    this.telemetry = new Telemetry({ log: this.log, binding: this.binding, snapshot: () => this.snapshot(), latency: this.latency, written: this.written });
    this.held = new HeldInput({ sink: () => this.sink, feed: (batch) => this.feed(batch), lose: (loss) => this.losses.add(loss), log: this.log, maxBytes: MAX_HELD_BYTES });
  }

  /** Starts everything, or throws (and puts back what it had changed) when it cannot. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(options);
    try {
      await daemon.begin();
    } catch (error) {
      await daemon.stop(START_FAILED);
      throw error;
    }
    return daemon;
  }

  private async begin(): Promise<void> {
    const s = this.settings;
    const log = this.log;
    log.info({ file: this.options.config.file ?? null, mode: s.mode, sink: s.sink, host: s.host, version: this.options.version }, 'starting');
    for (const name of this.options.config.unknownEnv) log.warn({ variable: name }, 'ignoring an AUDITFLOW_* variable that names no setting');
    for (const warning of secretWarnings(this.options.config)) log.warn(warning);
    this.bootId = readBootId();
    const found = inspectSnapshot(s.runtime_dir);
    if (found.kind === 'refused') log.warn({ reason: found.reason }, 'ignoring the status file left there: the previous run is not known');
    this.ledger = new SerialLedger(found.kind === 'ok' ? found.snapshot : undefined, log, (loss) => this.losses.add(loss));
    if (s.sink === 'redis') preparePrivateDir('spool_dir', spoolDirectory(s), 0o700);
    // After the spool (a daemon user that cannot create it learns that first): what the next start trusts.
    preparePrivateDir('state_dir', s.state_dir, 0o700);
    preparePrivateDir('runtime_dir', s.runtime_dir, 0o755);
    const opened = await openSink(s, this.bootId, this.stageLogger('sink'), (eventMs, nowMs) => this.written.observe(eventMs, nowMs));
    this.sink = opened.sink;
    this.redis = opened.client;
    this.ledger.startCheckpoints(opened.replayed);

    if (s.process_context) {
      try {
        this.processContext = createProcessResolver({
          cacheSize: s.process_cache_size,
          cacheMaxBytes: s.process_cache_max_bytes,
          argvMaxBytes: s.argv_max_bytes,
          argvMaxArgs: s.argv_max_args,
          ttlMs: s.process_ttl_ms,
          lookupTimeoutMs: s.process_lookup_timeout_ms,
          labels: s.labels,
        });
      } catch (error) {
        if (error instanceof ProcessConfigError) throw new ConfigError(`process context: ${error.message}`);
        throw error;
      }
    }
    this.pipeline = new Pipeline({
      processContext: this.processContext,
      onFlow: (flow) => this.onFlow(flow),
      onLoss: (report) => {
        if (report.reason === 'parse_error') this.log.warn({ stage: 'pipeline', detail: report.detail, text: report.text }, 'a record could not be parsed; counted and skipped');
        this.losses.fromPipeline(report);
      },
      families: s.families.includes('all') ? 'all' : new Set(s.families),
      aggregateWindowMs: s.aggregate_window_ms,
      localAddresses: hostAddresses(),
      resolver: liveSocketResolver(this.binding, {
        onError: (error) => this.log.warn({ stage: 'pipeline', err: error.message, code: error.code }, 'cannot ask a socket itself (pidfd_getfd); reading /proc instead'),
        onReused: () => this.socketsReused++,
      }),
      ...(s.flow_end
        ? {
            flowEnds: {
              localWaitMs: s.local_wait_ms,
              holdMs: Math.max(FLOW_END_HOLD_MS, s.local_wait_ms + s.process_lookup_timeout_ms),
              watch: (netns: number, flow: Flow) => this.namespaces?.watch(netns, flow) ?? false,
            },
          }
        : {}),
    });
    // Before the audit session: a socket opened once the rules are in is destroyed after this.
    if (s.flow_end) {
      this.sockDiag = SockDiagSource.open({
        binding: this.binding,
        log: this.stageLogger('sock_diag'),
        onBatch: (data, offsets, receivedMs) => {
          if (!this.stopped) this.pipeline.pushSockDiag(data, offsets, receivedMs);
        },
        lose: (loss) => this.losses.add(loss),
      });
      if (this.sockDiag !== undefined && s.flow_end_namespaces === 'all') this.namespaces = this.namespaceReaders();
    }

    this.dns = new DnsSession({ settings: s, log: this.stageLogger('dns'), binding: this.options.binding, onEntry: (entry) => this.held.offer(entry) });

    // First in the stream, before any flow the kernel session lets in.
    const start = lifecycleEntry({ event: 'start', host: s.host, ts: Date.now(), version: this.options.version, pid: process.pid });
    start.fields.mode = s.mode;
    if (this.ledger.downSince !== undefined) start.fields.down_since = String(this.ledger.downSince);
    this.held.offer(start);
    if (this.sockDiag !== undefined) {
      // The process stage's worker reads their command lines and cgroups: started first, so they come within process_lookup_timeout_ms.
      await this.processContext?.ready();
      this.publishExisting();
    }
    this.kernel = new KernelSession({
      settings: s,
      log: this.stageLogger('kernel'),
      force: this.options.force,
      binding: this.options.binding,
      onBatch: (batch) => {
        if (!this.stopped) this.held.take(batch);
      },
      onReadError: (error) => {
        this.log.error({ stage: 'kernel', err: error }, 'the audit socket failed; no more records can be read: stopping');
        this.options.onFatal('audit socket failed');
      },
    });
    const report = await this.kernel.start();
    this.kernelView.immutable = report.immutable;
    // The kernel logs the self-exclusion rule's CONFIG_CHANGE to this daemon: its serial is where a
    // crash checkpoint can start from before any flow was seen.
    if (s.mode === 'unicast' && !report.immutable) await this.firstRecord(FIRST_RECORD_WAIT_MS);
    log.info(
      {
        stage: 'kernel',
        immutable: report.immutable,
        rules: report.rules === undefined ? null : { added: report.rules.added, alreadyLoaded: report.rules.alreadyLoaded, removedStale: report.rules.removedStale },
        backlogLimit: report.status?.backlogLimit ?? null,
        backlogWaitTime: report.status?.backlogWaitTime ?? null,
      },
      s.mode === 'unicast' ? 'registered as the audit daemon' : 'reading the audit multicast group beside the audit daemon',
    );

    if (s.metrics_listen !== 'off') await this.telemetry.serve(s.metrics_listen);
    this.startTimers();
    this.telemetry.writeStatus(s.runtime_dir);
    this.binding.sdNotify(`READY=1\nSTATUS=${statusLine(this.snapshot())}`);
    log.info({}, 'running');
  }

  /** The readers of other network namespaces, or undefined (one warning) without CAP_SYS_ADMIN, which setns(2) needs. */
  private namespaceReaders(): NamespaceReaders | undefined {
    const log = this.stageLogger('sock_diag');
    if (!hasSysAdmin(readFileSync('/proc/self/status', 'utf8'))) {
      log.warn({ setting: 'flow_end_namespaces' }, 'flow_end_namespaces = all needs CAP_SYS_ADMIN (setns into a network namespace): only the close entries of the daemon\'s own network namespace are read (docs/security.md)');
      return undefined;
    }
    return new NamespaceReaders({
      binding: this.binding,
      log,
      onBatch: (data, offsets, receivedMs, netns) => {
        if (!this.stopped) this.pipeline.pushSockDiag(data, offsets, receivedMs, netns);
      },
      onClosed: (netns) => this.pipeline.forgetNamespace(netns),
      lose: (loss) => this.losses.add(loss),
    });
  }

  /** `existing` entries for the sockets open now, after the start entry, before the audit session's flows. */
  private publishExisting(): void {
    const log = this.stageLogger('sock_diag');
    try {
      const snapshot = existingSockets(this.binding, { timeoutMs: EXISTING_TIMEOUT_MS, selfPid: process.pid });
      for (const flow of snapshot.flows) this.pipeline.pushExisting(flow);
      const fields = { sockets: snapshot.sockets, owned: snapshot.owned, ms: snapshot.ms, complete: snapshot.complete };
      if (snapshot.complete) log.info(fields, 'existing sockets published');
      else log.warn(fields, 'the existing sockets snapshot stopped at its time bound: some have no process, or were not listed');
    } catch (error) {
      log.warn({ err: (error as Error).message, code: (error as NodeJS.ErrnoException).code }, 'cannot list the existing sockets (sock_diag dump): no existing entries');
    }
  }

  private async firstRecord(timeoutMs: number): Promise<void> {
    for (let waited = 0; this.ledger.firstSerial === null && waited < timeoutMs; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    this.checkpoint();
  }

  private stageLogger(stage: string): Logger {
    const logger = this.log.child({ stage });
    this.stageLoggers.push(logger);
    return logger;
  }

  private startTimers(): void {
    const every = (name: string, ms: number, action: () => void | Promise<void>): void => {
      const timer = setInterval(() => {
        Promise.resolve()
          .then(action)
          .catch((error: unknown) => this.log.error({ timer: name, err: error }, 'a periodic task failed'));
      }, ms);
      this.timers.set(name, timer);
    };
    every('tick', TICK_MS, () => {
      this.pipeline.advance(Date.now());
      this.dns?.advance(Date.now());
      this.ledger.readerLosses(this.kernel.reader.stats());
      this.sockDiag?.reportLosses(Date.now());
      this.namespaces?.reportLosses(Date.now());
      this.losses.drain((entry) => this.sink.publish(entry));
      this.checkpoint();
      this.telemetry.writeStatus(this.settings.runtime_dir);
    });
    every('kernel', this.settings.kernel_poll_ms, () => this.pollKernel());
    every('short-waits', SHORT_WAITS_TICK_MS, () => this.pipeline.advanceShortWaits(Date.now()));
    const namespaces = this.namespaces;
    if (namespaces !== undefined) every('netns-sweep', SWEEP_MS, () => namespaces.sweep());
    this.telemetry.statsEvery(this.settings.stats_interval_s);
    const redis = this.redis;
    if (redis !== undefined && this.settings.lag_check_interval_s > 0) {
      every('lag', this.settings.lag_check_interval_s * 1000, async () => {
        if (redis.status !== 'ready') return;
        const key = streamKey(this.settings.stream, this.settings.host);
        this.lag = await checkConsumerLag(redis, key, { trim: trimPolicy(this.settings), now: Date.now(), previous: this.lag });
        for (const warning of this.lag.warnings) this.log.warn({ stage: 'sink', stream: key }, warning);
      });
    }
    const watchdogUsec = Number(process.env.WATCHDOG_USEC ?? 0);
    const watchdogPid = process.env.WATCHDOG_PID;
    if (watchdogUsec > 0 && (watchdogPid === undefined || Number(watchdogPid) === process.pid)) {
      // sd_watchdog_enabled(3): ping at half the interval systemd waits.
      every('watchdog', Math.max(50, Math.floor(watchdogUsec / 2000)), () => {
        this.binding.sdNotify('WATCHDOG=1');
      });
    }
    void this.pollKernel().catch((error: unknown) => this.log.warn({ stage: 'kernel', err: error }, 'reading the kernel audit status failed'));
  }

  private async pollKernel(): Promise<void> {
    let status;
    try {
      status = await this.kernel.status();
    } catch (error) {
      // Multicast readers may hold CAP_AUDIT_READ only; AUDIT_GET needs CAP_AUDIT_CONTROL.
      if ((error as { code?: string }).code !== 'EPERM') throw error;
      clearInterval(this.timers.get('kernel'));
      this.timers.delete('kernel');
      this.log.warn({ stage: 'kernel' }, "no permission to read the kernel's audit status (CAP_AUDIT_CONTROL): its lost counter is not reported; serial gaps still are");
      return;
    }
    this.kernelView = { ...this.kernelView, enabled: status.enabled, lost: status.lost, backlog: status.backlog, backlogLimit: status.backlogLimit };
    this.ledger.kernelLost(status.lost, status.backlog);
  }

  private feed(batch: RecordBatch): void {
    const first = edgeSerial(batch, 'first');
    this.ledger.before(first);
    this.pipeline.pushBatch(batch);
    if (recordCount(batch) > 0 && this.ledger.after(first, edgeSerial(batch, 'last'), Date.now())) this.checkpoint();
  }

  /** Offers the crash checkpoint a candidate (serial-ledger.ts), and lets it settle what the sink secured. */
  private checkpoint(): void {
    this.ledger.checkpoint(this.pipeline.oldestPendingSerial(), !this.held.empty, this.sink.health().counters, Date.now());
  }

  private onFlow(flow: Flow): void {
    if (flow.pid === process.pid) {
      this.selfFlows++;
      return;
    }
    this.dns?.flow(flow);
    this.latency.observe(flow.last_ts, Date.now());
    this.held.offer(this.flows.entry(flow));
  }

  /** SIGHUP: reads the configuration again and applies what can change while running. */
  async reload(): Promise<void> {
    let next: LoadedConfig;
    try {
      next = loadConfig(this.options.configInput);
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'reload refused: the configuration has an error; running on with the old one');
      return;
    }
    const restart = restartOnlyChanges(this.settings, next.settings);
    if (restart.length > 0) this.log.warn({ settings: restart }, 'these settings changed but take effect only after a restart');
    try {
      const result = await this.kernel.reload(next.settings);
      if (result !== undefined) this.log.info({ added: result.added, removedStale: result.removedStale, alreadyLoaded: result.alreadyLoaded }, 'ruleset reloaded');
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'reloading the ruleset failed; the kernel keeps the rules it had');
      return;
    }
    this.settings = { ...this.settings, rules: next.settings.rules, on_stop: next.settings.on_stop, log_level: next.settings.log_level, stats_interval_s: next.settings.stats_interval_s };
    for (const logger of [this.log, ...this.stageLoggers]) logger.level = this.settings.log_level;
    this.telemetry.statsEvery(this.settings.stats_interval_s);
    this.log.info({}, 'reloaded');
  }

  snapshot(): DaemonSnapshot {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    return {
      pid: process.pid,
      version: this.options.version,
      host: this.settings.host,
      mode: this.settings.mode,
      sink: this.settings.sink,
      stream: streamKey(this.settings.stream, this.settings.host),
      started: this.started,
      updated: Date.now(),
      stopped: this.stopped,
      lastSerial: this.ledger.lastSerial,
      firstSerial: this.ledger.firstSerial,
      safeSerial: this.ledger.safe,
      lastRecordTs: this.ledger.lastRecordTs,
      pipeline: this.pipeline.stats(),
      ...(this.dns === undefined ? {} : { dns: this.dns.snapshot() }),
      reader: this.kernel.reader.stats(),
      kernel: this.kernelView,
      losses: this.losses.counts(),
      selfFlows: this.selfFlows,
      socketsReused: this.socketsReused,
      sinkHealth: this.sink.health(),
      backpressure: this.held.stats(),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /**
   * Stops: puts the kernel back (rules, self-exclusion, slot) while still reading, closes the reader
   * (which delivers what it read), flushes the pipeline, writes the loss and `lifecycle` entries, and
   * flushes the sink. Idempotent; returns the exit code (0 when every step succeeded).
   */
  stop(reason: string): Promise<number> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<number> {
    let failed = false;
    const step = async (name: string, action: () => unknown): Promise<void> => {
      try {
        await action();
      } catch (error) {
        failed = true;
        this.log.error({ step: name, err: error }, 'a stop step failed; going on with the rest');
      }
    };
    this.log.info({ reason }, 'stopping');
    this.binding.sdNotify('STOPPING=1');
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
    this.telemetry.statsEvery(0);
    const started = this.pipeline !== undefined;
    if (this.kernel !== undefined) {
      await step('restore kernel', async () => {
        if ((await this.kernel.stop(reason === START_FAILED)).length > 0) throw new Error('the kernel could not be fully restored (see above)');
      });
      await step('close audit sockets', () => this.kernel.close());
    }
    if (this.dns !== undefined) {
      const dns = this.dns;
      await step('close DNS capture', () => dns.close());
    }
    if (this.sockDiag !== undefined) {
      const sockDiag = this.sockDiag;
      await step('close sock_diag socket', () => sockDiag.close());
    }
    if (this.namespaces !== undefined) {
      const namespaces = this.namespaces;
      await step("close other namespaces' sock_diag sockets", () => namespaces.close());
    }
    if (started) {
      await step('drain held records', () => this.held.drain());
      // Lets the flows waiting for /proc lookups finish (each within process_lookup_timeout_ms).
      await step('flush pipeline', () => this.pipeline.drain());
      if (this.processContext !== undefined) {
        const context = this.processContext;
        await step('close process context', () => context.close());
      }
      if (this.kernel !== undefined) this.ledger.readerLosses(this.kernel.reader.stats());
      this.sockDiag?.reportLosses(Date.now());
      this.namespaces?.reportLosses(Date.now());
    }
    this.stopped = true;
    if (this.sink !== undefined) {
      await step('write loss entries', () => this.losses.drain((entry) => this.sink.publish(entry)));
      if (started) {
        const stop = lifecycleEntry({ event: 'stop', host: this.settings.host, ts: Date.now(), version: this.options.version, pid: process.pid, reason });
        await step('write lifecycle entry', () => this.sink.publish(stop));
      }
      await step('flush sink', () => this.sink.close());
    }
    await step('close metrics', () => this.telemetry.close());
    if (started) this.telemetry.writeStatus(this.settings.runtime_dir);
    this.log.info({ reason, failed }, 'stopped');
    return failed ? 1 : 0;
  }
}
