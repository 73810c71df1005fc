// The daemon's DNS seam: the answer capture (src/dns/capture.ts) feeding the names (src/dns/dns-names.ts),
// the naming of each flow, and the optional `kind=dns` entries. The capture needs CAP_NET_RAW; without
// it (or with dns_names and dns_entries off) the session is there but off, flows pass unnamed, and the
// status says why.
import type { NativeDnsCaptureStats, AuditBinding } from '../native/binding.js';
import { DnsCapture } from '../dns/capture.js';
import { DnsNames, type DnsAnswer, type DnsNamesStats } from '../dns/dns-names.js';
import { dnsEntry } from '../dns/dns-entry.js';
import type { Flow } from '../schema/entries.js';
import type { SinkEntry } from '../sink/index.js';
import type { Logger } from './logger.js';
import type { Settings } from './settings.js';

/** How long an answer waits for the audit record of the query it answered before its entry is written. */
const ANSWER_HOLD_MS = 2000;
/** Answers waiting for that, at most; past it the oldest is written at once. */
const MAX_HELD_ANSWERS = 4096;

export interface DnsSnapshot extends DnsNamesStats {
  /** `on`; `off` (dns_names and dns_entries off); `unavailable` (the capture could not be opened: see reason); `failed` (its reader failed). */
  capture: 'on' | 'off' | 'unavailable' | 'failed';
  reason: string | null;
  reader: NativeDnsCaptureStats | null;
}

export interface DnsSessionOptions {
  settings: Pick<Settings, 'dns_names' | 'dns_entries' | 'dns_cache_size' | 'dns_min_ttl_s' | 'dns_max_ttl_s' | 'host'>;
  log: Logger;
  binding?: AuditBinding;
  /** A `kind=dns` entry (dns_entries on). */
  onEntry: (entry: SinkEntry) => void;
  now?: () => number;
}

export class DnsSession {
  private readonly names: DnsNames;
  private readonly capture: DnsCapture | undefined;
  private readonly held: DnsAnswer[] = [];
  private state: DnsSnapshot['capture'];
  private reason: string | null = null;
  private readonly now: () => number;

  constructor(private readonly options: DnsSessionOptions) {
    const s = options.settings;
    this.now = options.now ?? Date.now;
    this.names = new DnsNames({
      maxAddresses: s.dns_cache_size,
      minTtlMs: s.dns_min_ttl_s * 1000,
      maxTtlMs: s.dns_max_ttl_s * 1000,
      ...(s.dns_entries ? { onAnswer: (answer: DnsAnswer) => this.hold(answer) } : {}),
    });
    if (!s.dns_names && !s.dns_entries) {
      this.state = 'off';
      this.reason = 'dns_names = off';
      return;
    }
    const opened = DnsCapture.open({
      binding: options.binding,
      onPackets: (data, meta) => this.names.pushPackets(data, meta, this.now()),
      onError: (error) => {
        this.state = 'failed';
        this.reason = error.message;
        options.log.error({ err: error.message, code: error.code }, 'the DNS answer capture failed: flows get no more names');
      },
    });
    if (!opened.ok) {
      this.state = 'unavailable';
      this.reason = opened.error.message;
      options.log.warn(
        { err: opened.error.message, code: opened.error.code },
        opened.error.code === 'EPERM' ? 'cannot capture DNS answers without CAP_NET_RAW: flows get no remote_name (dns_names = off silences this)' : 'cannot capture DNS answers: flows get no remote_name',
      );
      return;
    }
    this.capture = opened.capture;
    this.state = 'on';
  }

  /**
   * Every flow goes through here before it is written: a DNS query is remembered for the match,
   * and a flow to a named address gets its name (dns_names on).
   */
  flow(flow: Flow): void {
    if (this.state === 'off') return;
    this.names.observe(flow);
    if (this.options.settings.dns_names) this.names.name(flow, this.now());
  }

  /** Writes the entries of answers held long enough for their query's flow (dns_entries). */
  advance(now: number): void {
    while (this.held.length > 0 && (this.held[0] as DnsAnswer).ts + ANSWER_HOLD_MS <= now) this.emit(this.held.shift() as DnsAnswer);
  }

  snapshot(): DnsSnapshot {
    return { capture: this.state, reason: this.reason, reader: this.capture?.stats() ?? null, ...this.names.stats() };
  }

  /** Stops the capture and writes the held answers. */
  async close(): Promise<void> {
    await this.capture?.close();
    for (const answer of this.held.splice(0)) this.emit(answer);
  }

  private hold(answer: DnsAnswer): void {
    this.held.push(answer);
    if (this.held.length > MAX_HELD_ANSWERS) this.emit(this.held.shift() as DnsAnswer);
  }

  private emit(answer: DnsAnswer): void {
    this.options.onEntry(dnsEntry(answer, this.names.queryProcess(answer.segment.clientPort), this.options.settings.host));
  }
}
