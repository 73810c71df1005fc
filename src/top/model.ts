// What `auditflow top` shows: the stream's entries of the last window, grouped and ranked. Each
// entry becomes one small sample (its time, what it is grouped and filtered by, what it adds); a
// snapshot makes the table from the samples in the window in one pass, so changing the grouping,
// the sort or the filter changes the view at once, without keeping a table per choice. The samples
// are bounded in count: beyond it the oldest go early, counted, and the header says so.
//
// What counts, per group:
// - connections: flows of connect, accept, sendto, sendmsg, recvfrom, recvmsg, each `count` times
//   (an aggregated datagram flow stands for `count` calls); binds (listening) and netfilter packets
//   (no process) are not connections;
// - failures: those of them whose result is an error (not ok, inprogress or unknown);
// - bytes out and in: close entries (op = close, the complete-flows issue) carry bytes_out and
//   bytes_in, counted in the window where the connection closed;
// - remotes: the remote end (its DNS name where the flow has remote_name, else its address) of
//   every flow and close entry.
// Loss entries are summed by reason for the header: a hole in the stream is a hole in the view.

export type GroupBy = 'process' | 'user' | 'container' | 'remote' | 'port';
export type SortKey = 'conns' | 'out' | 'in' | 'remotes' | 'fail' | 'name';

export const GROUP_BYS: readonly GroupBy[] = ['process', 'user', 'container', 'remote', 'port'];
export const SORT_KEYS: readonly SortKey[] = ['conns', 'out', 'in', 'remotes', 'fail', 'name'];

const CONNECTION_OPS: ReadonlySet<string> = new Set(['connect', 'accept', 'sendto', 'sendmsg', 'recvfrom', 'recvmsg']);
const NOT_FAILED: ReadonlySet<string> = new Set(['ok', 'inprogress', 'unknown']);
/** How many of a group's remotes a row names. */
const TOP_REMOTES = 3;
/** A container id is shown as its first 12 hex digits, as `docker ps` does. */
const SHORT_ID = 12;

interface Sample {
  /** Entry time, ms since the epoch (the flow's `ts`, a loss entry's `last_ts`). */
  at: number;
  process: string;
  user: string;
  container: string;
  remote: string | null;
  port: string;
  conns: number;
  failures: number;
  bytesOut: number;
  bytesIn: number;
  /** A loss entry: its reason and count (nothing else of the sample counts). */
  lossReason: string | null;
  lost: number;
}

export interface TopRow {
  group: string;
  conns: number;
  connsPerSec: number;
  failures: number;
  bytesOut: number;
  bytesIn: number;
  bytesOutPerSec: number;
  bytesInPerSec: number;
  /** Distinct remote ends. */
  remotes: number;
  /** The remotes with the most connections (then the most entries), at most three. */
  topRemotes: string[];
}

export interface TopSnapshot {
  by: GroupBy;
  sort: SortKey;
  filter: string;
  /** The window's bounds, ms since the epoch, and its length in seconds (the divisor of every rate). */
  from: number;
  to: number;
  seconds: number;
  /** Entries in the window (after the filter): flows, close entries and loss entries. */
  entries: number;
  /** Loss entries' counts in the window, by reason (never filtered). */
  losses: Record<string, number>;
  /** Samples dropped before leaving the window because the view's bound was reached. */
  dropped: number;
  /** Groups in the window; rows holds at most `limit` of them. */
  groups: number;
  rows: TopRow[];
}

export interface SnapshotOptions {
  by: GroupBy;
  sort: SortKey;
  /** Substring (case-insensitive) of the process, user, container, remote or port; '' keeps all. */
  filter: string;
  /** The window ends here (ms since the epoch). */
  now: number;
  /** Rows at most. */
  limit: number;
}

/** A stream entry's fields as the stream holds them (flat strings; a missing field is null). */
export type EntryFields = Readonly<Record<string, string>>;

export class TopModel {
  private samples: Sample[] = [];
  private head = 0;
  private droppedCount = 0;

  /**
   * @param windowMs how far back a snapshot looks
   * @param maxSamples samples kept at most (an entry is one sample; about 200 bytes each)
   * @param startedAt the view's start: until a whole window has passed, rates divide by the time since
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxSamples: number,
    private readonly startedAt: number,
  ) {}

  /** Takes one entry of the stream. Lifecycle entries and flows that count for nothing are skipped. */
  add(fields: EntryFields): void {
    const sample = sampleOf(fields);
    if (sample === undefined) return;
    this.samples.push(sample);
    if (this.samples.length - this.head > this.maxSamples) {
      this.head++;
      this.droppedCount++;
    }
    if (this.head > 4096 && this.head * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }

  snapshot(options: SnapshotOptions): TopSnapshot {
    const span = Math.min(this.windowMs, Math.max(1000, options.now - this.startedAt));
    const from = options.now - span;
    const filter = options.filter.toLowerCase();
    const groups = new Map<string, GroupTotals>();
    const losses: Record<string, number> = {};
    let entries = 0;
    // Samples before the window are never needed again (the window only moves on).
    while (this.head < this.samples.length && (this.samples[this.head] as Sample).at < options.now - this.windowMs) this.head++;
    for (let i = this.head; i < this.samples.length; i++) {
      const sample = this.samples[i] as Sample;
      if (sample.at < from) continue;
      if (sample.lossReason !== null) {
        losses[sample.lossReason] = (losses[sample.lossReason] ?? 0) + sample.lost;
        entries++;
        continue;
      }
      if (filter !== '' && !matches(sample, filter)) continue;
      entries++;
      const key = groupKey(sample, options.by);
      let totals = groups.get(key);
      if (totals === undefined) {
        totals = { conns: 0, failures: 0, bytesOut: 0, bytesIn: 0, remotes: new Map() };
        groups.set(key, totals);
      }
      totals.conns += sample.conns;
      totals.failures += sample.failures;
      totals.bytesOut += sample.bytesOut;
      totals.bytesIn += sample.bytesIn;
      if (sample.remote !== null) {
        const seen = totals.remotes.get(sample.remote) ?? { conns: 0, entries: 0 };
        seen.conns += sample.conns;
        seen.entries++;
        totals.remotes.set(sample.remote, seen);
      }
    }
    const seconds = span / 1000;
    const rows = [...groups].map(([group, t]) => rowOf(group, t, seconds));
    rows.sort(compareBy(options.sort));
    return {
      by: options.by,
      sort: options.sort,
      filter: options.filter,
      from,
      to: options.now,
      seconds,
      entries,
      losses,
      dropped: this.droppedCount,
      groups: rows.length,
      rows: rows.slice(0, Math.max(0, options.limit)),
    };
  }
}

interface GroupTotals {
  conns: number;
  failures: number;
  bytesOut: number;
  bytesIn: number;
  remotes: Map<string, { conns: number; entries: number }>;
}

function rowOf(group: string, t: GroupTotals, seconds: number): TopRow {
  const topRemotes = [...t.remotes]
    .sort((a, b) => b[1].conns - a[1].conns || b[1].entries - a[1].entries || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, TOP_REMOTES)
    .map(([remote]) => remote);
  return {
    group,
    conns: t.conns,
    connsPerSec: t.conns / seconds,
    failures: t.failures,
    bytesOut: t.bytesOut,
    bytesIn: t.bytesIn,
    bytesOutPerSec: t.bytesOut / seconds,
    bytesInPerSec: t.bytesIn / seconds,
    remotes: t.remotes.size,
    topRemotes,
  };
}

const byName = (a: TopRow, b: TopRow): number => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0);

function compareBy(sort: SortKey): (a: TopRow, b: TopRow) => number {
  const value: Record<Exclude<SortKey, 'name'>, (row: TopRow) => number> = {
    conns: (row) => row.conns,
    out: (row) => row.bytesOut,
    in: (row) => row.bytesIn,
    remotes: (row) => row.remotes,
    fail: (row) => row.failures,
  };
  if (sort === 'name') return byName;
  const of = value[sort];
  return (a, b) => of(b) - of(a) || b.conns - a.conns || byName(a, b);
}

function groupKey(sample: Sample, by: GroupBy): string {
  switch (by) {
    case 'process':
      return sample.process;
    case 'user':
      return sample.user;
    case 'container':
      return sample.container;
    case 'remote':
      return sample.remote ?? '?';
    case 'port':
      return sample.port;
  }
}

function matches(sample: Sample, filter: string): boolean {
  return [sample.process, sample.user, sample.container, sample.remote ?? '', sample.port].some((text) => text.toLowerCase().includes(filter));
}

const number = (text: string | undefined): number | null => {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
};

/** One entry as a sample; undefined for what the view does not count. */
export function sampleOf(fields: EntryFields): Sample | undefined {
  if (fields.kind === 'loss') {
    const at = number(fields.last_ts) ?? number(fields.first_ts);
    if (at === null) return undefined;
    return { ...EMPTY, at, lossReason: fields.reason ?? 'unknown', lost: number(fields.count) ?? 0 };
  }
  if (fields.kind !== 'flow') return undefined;
  const op = fields.op ?? '';
  const at = number(fields.last_ts) ?? number(fields.ts);
  const isConnection = CONNECTION_OPS.has(op);
  if (at === null || !(isConnection || op === 'close' || op === 'existing')) return undefined;
  const count = isConnection ? Math.max(1, number(fields.count) ?? 1) : 0;
  const result = fields.result ?? 'unknown';
  const container = fields.container_id ?? '';
  const exe = fields.exe ?? fields.comm ?? '?';
  const ingress = fields.direction === 'ingress';
  const servicePort = ingress ? fields.local_port : fields.remote_port;
  return {
    at,
    process: container === '' ? exe : `${exe} [${container.slice(0, SHORT_ID)}]`,
    user: fields.user ?? fields.uid ?? '?',
    container: container === '' ? '(host)' : container.slice(0, SHORT_ID),
    remote: fields.remote_name ?? fields.remote_addr ?? null,
    port: `${fields.proto ?? '?'}/${servicePort ?? '?'}`,
    conns: count,
    failures: isConnection && !NOT_FAILED.has(result) ? count : 0,
    bytesOut: op === 'close' ? (number(fields.bytes_out) ?? 0) : 0,
    bytesIn: op === 'close' ? (number(fields.bytes_in) ?? 0) : 0,
    lossReason: null,
    lost: 0,
  };
}

const EMPTY: Omit<Sample, 'at' | 'lossReason' | 'lost'> = {
  process: '',
  user: '',
  container: '',
  remote: null,
  port: '',
  conns: 0,
  failures: 0,
  bytesOut: 0,
  bytesIn: 0,
};
