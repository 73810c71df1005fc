// The process resolver: gives each flow what /proc knows about its process (cwd, the full
// command line, the parent, the container, the systemd unit, when it started) and the names
// of its ids, without ever attaching another process's data.
//
// Identity. A flow's pid is checked synchronously when the flow arrives: one small read of
// /proc/<pid>/stat gives the start time of the process now holding that pid. If there is
// none, or it started after the flow's event, the event's process has exited (and maybe
// its pid was reused): the flow is marked `proc_gone`. Otherwise (pid, start time) is the key
// of the cache; an exec keeps both, so an entry also remembers the exe its events showed,
// and is read again when that changes.
//
// Off the hot path. A cache hit is applied at once. A miss reads /proc asynchronously (see
// proc-reader.ts) while the flow waits in an ordered queue; flows leave the queue in the order
// they came, each when its lookup is done, or after `lookupTimeoutMs` without /proc context
// (`proc_gone: null`, counted). So a slow read delays output by at most that long and never
// blocks the thread. The price: a process that exits between its event and the read (a few
// ms; short-lived programs do) yields `proc_gone: true`, with its parent's context when the
// parent still lives. The stat read per flow is the hot path's only system call.
import { performance } from 'node:perf_hooks';
import type { Flow } from '../flow.js';
import { LruTtlCache, processKey } from './cache.js';
import { LabelRules } from './labels.js';
import { readProcessSnapshot, type ProcessSnapshot } from './proc-reader.js';
import { hasExited, readBootTimeMs, readProcStat, readProcStatAsync, startTimeMs, type ProcStat } from './proc-stat.js';
import { UserNames } from './user-names.js';

export interface ProcessResolverOptions {
  /** Where /proc is (tests pass a directory laid out like it). Default `/proc`. */
  procRoot?: string;
  users?: UserNames;
  labels?: LabelRules;
  /** Processes cached, at most (default 16384); the least recently used go first. */
  cacheSize?: number;
  /** A cached process's /proc data is read again after this long (ms, default 60,000). */
  ttlMs?: number;
  /** A flow waits at most this long for its /proc lookup (ms, default 250). */
  lookupTimeoutMs?: number;
  /** Flows waiting at most; beyond it the oldest goes out without /proc context (default 4096). */
  maxPending?: number;
  /** Wall clock (ms since the epoch), for the cache's time-to-live and the boot time. */
  now?: () => number;
}

export interface ProcessResolverStats {
  /** Processes in the cache. */
  cached: number;
  /** Processes that carry labels. */
  labelled: number;
  /** Flows waiting for a lookup. */
  pending: number;
  /** Flows answered from the cache. */
  hits: number;
  /** Processes read from /proc. */
  lookups: number;
  /** Flows whose process had exited (or whose pid was reused) before it could be read. */
  gone: number;
  /** Flows released without /proc context: the lookup took longer than lookupTimeoutMs, or too many waited. */
  timeouts: number;
  /** Cache entries dropped for room. */
  evictions: number;
}

interface ParentInfo {
  pid: number;
  exe: string | null;
  comm: string;
  argv: string[] | null;
}

interface ProcessEntry {
  snapshot: ProcessSnapshot;
  startMs: number;
  parent: ParentInfo | null;
  /** The exe this process's events named when the entry was read: a different one means an exec since. */
  eventExe: string | null;
}

type Patch = Partial<Flow>;

interface Pending {
  flow: Flow;
  emit: (flow: Flow) => void;
  patch: Patch | undefined;
  deadline: number;
}

// A process cannot make a syscall before it starts. The start time computed from /proc may
// lie up to ~20 ms after the true one (10 ms ticks, /proc/uptime's 10 ms, a coarse event
// clock): a process that "started" more than this after the event is another process.
const START_TOLERANCE_MS = 100;
// PROCTITLE holds the first 128 bytes of the argument area (kernel/auditsc.c
// MAX_PROCTITLE_AUDIT_LEN), trailing NULs trimmed: this long or longer, it may be cut.
const PROCTITLE_MAX = 128;
// Ancestors read for label inheritance, at most (a chain of 64 is far beyond any real tree).
const MAX_DEPTH = 64;
// The boot time is re-read this often, and adopted when the wall clock was stepped.
const BOOT_TIME_CHECK_MS = 10_000;

export class ProcessResolver {
  private readonly procRoot: string;
  private readonly users: UserNames;
  private readonly labelRules: LabelRules;
  private readonly cache: LruTtlCache<ProcessEntry>;
  private readonly labels: LruTtlCache<Set<string>>;
  private readonly inflight = new Map<string, Promise<ProcessEntry | undefined>>();
  private readonly lookupTimeoutMs: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly queue: Array<Pending | undefined> = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];
  private bootMs: number;
  private bootCheckedAt: number;
  private counts = { hits: 0, lookups: 0, gone: 0, timeouts: 0 };

  constructor(options: ProcessResolverOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.users = options.users ?? new UserNames();
    this.labelRules = options.labels ?? new LabelRules();
    const cacheSize = options.cacheSize ?? 16384;
    this.cache = new LruTtlCache({ maxEntries: cacheSize, ttlMs: options.ttlMs ?? 60_000 });
    this.labels = new LruTtlCache({ maxEntries: cacheSize, ttlMs: Number.POSITIVE_INFINITY });
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 250;
    this.maxPending = Math.max(1, options.maxPending ?? 4096);
    this.now = options.now ?? Date.now;
    this.bootCheckedAt = this.now();
    this.bootMs = readBootTimeMs(this.procRoot, this.now, true);
  }

  /**
   * A flow from the pipeline: `emit` gets it (with its context) now or later, always in the
   * order flows were pushed.
   */
  push(flow: Flow, emit: (flow: Flow) => void): void {
    Object.assign(flow, this.names(flow));
    const resolved = this.resolve(flow);
    if (!(resolved instanceof Promise) && this.head === this.queue.length) {
      Object.assign(flow, resolved);
      emit(flow);
      return;
    }
    const item: Pending = { flow, emit, patch: undefined, deadline: performance.now() + this.lookupTimeoutMs };
    this.queue.push(item);
    if (resolved instanceof Promise) {
      resolved.then(
        (patch) => {
          item.patch = patch;
          this.pump();
        },
        () => {
          item.patch = {};
          this.pump();
        },
      );
    } else {
      item.patch = resolved;
    }
    while (this.queue.length - this.head > this.maxPending) this.release();
    this.pump();
  }

  /**
   * Any other syscall event of a process (its socket(), an execve the rules audit): its rule
   * key's labels attach to the process, and its /proc lookup starts before its first flow.
   */
  observe(pid: number, exe: string | null, key: string | null, time: number): void {
    const stat = this.identify(pid, time);
    if (!stat) return;
    const id = processKey(pid, stat.startTicks);
    this.addLabels(id, [...this.labelRules.forKey(key), ...this.labelRules.forExe(exe)]);
    const hit = this.cache.lookup(id, this.now());
    if (hit && !hit.expired && hit.value.eventExe === exe) return;
    void this.entry(stat, exe);
  }

  /** Releases every waiting flow now; those whose lookup has not finished go without /proc context. */
  flush(): void {
    while (this.head < this.queue.length) this.release();
    this.afterPump();
  }

  /** Resolves when no flow is waiting (each waits at most lookupTimeoutMs). */
  settled(): Promise<void> {
    if (this.head === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stats(): ProcessResolverStats {
    return { cached: this.cache.size, labelled: this.labels.size, pending: this.queue.length - this.head, ...this.counts, evictions: this.cache.evictions };
  }

  private names(flow: Flow): Patch {
    return {
      user: this.users.user(flow.uid) ?? flow.user,
      euser: this.users.user(flow.euid) ?? flow.euser,
      group: this.users.group(flow.gid) ?? flow.group,
      auser: this.users.user(flow.auid) ?? flow.auser,
    };
  }

  /** The flow's /proc context: at once from the cache, or later from a lookup. */
  private resolve(flow: Flow): Patch | Promise<Patch> {
    const eventLabels = [...this.labelRules.forKey(flow.key), ...this.labelRules.forExe(flow.exe)];
    if (flow.pid === null) return { labels: sorted(eventLabels) };
    const stat = this.identify(flow.pid, flow.ts);
    if (!stat) return this.resolveGone(flow, eventLabels);
    const id = processKey(flow.pid, stat.startTicks);
    this.addLabels(id, eventLabels);
    const hit = this.cache.lookup(id, this.now());
    if (hit && !hit.expired && hit.value.eventExe === flow.exe) {
      this.counts.hits++;
      return this.fromEntry(flow, hit.value, id);
    }
    return this.entry(stat, flow.exe).then((entry) => (entry ? this.fromEntry(flow, entry, id) : this.resolveGone(flow, eventLabels)));
  }

  /** The process has exited: the record's fields stay; the parent's context comes if it still lives. */
  private resolveGone(flow: Flow, eventLabels: string[]): Patch | Promise<Patch> {
    this.counts.gone++;
    const gone: Patch = { proc_gone: true, labels: sorted(eventLabels) };
    const parent = flow.ppid === null || flow.ppid <= 0 ? undefined : this.identify(flow.ppid, flow.ts);
    if (!parent) return gone;
    const id = processKey(parent.pid, parent.startTicks);
    const withParent = (entry: ProcessEntry | undefined): Patch =>
      entry ? { ...gone, ...parentPatch(parentOf(entry.snapshot)), labels: sorted([...eventLabels, ...(this.labels.lookup(id, 0)?.value ?? [])]) } : gone;
    const hit = this.cache.lookup(id, this.now());
    if (hit && !hit.expired) return withParent(hit.value);
    return this.entry(parent, hit?.value.eventExe ?? null).then(withParent);
  }

  private fromEntry(flow: Flow, entry: ProcessEntry, id: string): Patch {
    const { snapshot } = entry;
    const patch: Patch = {
      proc_gone: false,
      proc_start: entry.startMs,
      cwd: snapshot.cwd,
      container_id: snapshot.cgroup.containerId,
      container_runtime: snapshot.cgroup.runtime,
      pod_uid: snapshot.cgroup.podUid,
      unit: snapshot.cgroup.unit,
      labels: sorted([...this.labelRules.forKey(flow.key), ...this.labelRules.forExe(flow.exe), ...(this.labels.lookup(id, 0)?.value ?? [])]),
    };
    // The parent /proc shows may have replaced the event's (the event's parent exited and the
    // process was reparented): then the parent is not known.
    if (entry.parent && entry.parent.pid === flow.ppid) Object.assign(patch, parentPatch(entry.parent));
    if (snapshot.argv && isCutOff(flow.argv) && startsWithArgv(snapshot.argv, flow.argv)) patch.argv = snapshot.argv;
    return patch;
  }

  /** The process now at `pid`, if it can be the one that made an event at `time`. */
  private identify(pid: number, time: number): ProcStat | undefined {
    const stat = readProcStat(this.procRoot, pid);
    if (!stat || hasExited(stat.state)) return undefined;
    if (startTimeMs(this.bootTime(), stat.startTicks) > time + START_TOLERANCE_MS) return undefined;
    return stat;
  }

  /** The cache entry of (pid, start), read from /proc once however many flows ask at a time. */
  private entry(stat: ProcStat, eventExe: string | null, depth = 0): Promise<ProcessEntry | undefined> {
    const id = processKey(stat.pid, stat.startTicks);
    const running = this.inflight.get(id);
    if (running) return running;
    const read = this.read(stat, eventExe, depth).finally(() => this.inflight.delete(id));
    this.inflight.set(id, read);
    return read;
  }

  private async read(stat: ProcStat, eventExe: string | null, depth: number): Promise<ProcessEntry | undefined> {
    const id = processKey(stat.pid, stat.startTicks);
    this.counts.lookups++;
    const snapshot = await readProcessSnapshot(this.procRoot, stat.pid, stat.startTicks);
    if (!snapshot) {
      this.cache.delete(id);
      return undefined;
    }
    const parent = snapshot.ppid > 0 && depth < MAX_DEPTH ? await this.ancestor(snapshot.ppid, snapshot.startTicks, depth + 1) : undefined;
    const inherited = parent ? (this.labels.lookup(processKey(parent.snapshot.pid, parent.snapshot.startTicks), 0)?.value ?? []) : [];
    this.addLabels(id, [...inherited, ...this.labelRules.forExe(snapshot.exe)]);
    const entry: ProcessEntry = {
      snapshot,
      startMs: startTimeMs(this.bootTime(), snapshot.startTicks),
      parent: parent ? parentOf(parent.snapshot) : null,
      eventExe,
    };
    this.cache.set(id, entry, this.now());
    return entry;
  }

  /** The parent of a process that started at `childStart`: the process at `pid` if it started no later. */
  private async ancestor(pid: number, childStart: number, depth: number): Promise<ProcessEntry | undefined> {
    const stat = await readProcStatAsync(this.procRoot, pid);
    if (!stat || hasExited(stat.state) || stat.startTicks > childStart) return undefined;
    const hit = this.cache.lookup(processKey(pid, stat.startTicks), this.now());
    if (hit && !hit.expired) return hit.value;
    return this.entry(stat, hit?.value.eventExe ?? null, depth);
  }

  private addLabels(id: string, labels: string[]): void {
    if (labels.length === 0) return;
    const set = this.labels.lookup(id, 0)?.value ?? new Set<string>();
    for (const label of labels) set.add(label);
    this.labels.set(id, set, 0);
  }

  private bootTime(): number {
    const now = this.now();
    if (now - this.bootCheckedAt >= BOOT_TIME_CHECK_MS || now < this.bootCheckedAt) {
      this.bootCheckedAt = now;
      try {
        // Keep the value while it only jitters (10 ms steps), so proc_start stays the same for
        // one process; a stepped wall clock moves it by more.
        if (Math.abs(readBootTimeMs(this.procRoot, this.now) - this.bootMs) > 1000) this.bootMs = readBootTimeMs(this.procRoot, this.now, true);
      } catch {
        // /proc/uptime unreadable for a moment: keep the boot time we have.
      }
    }
    return this.bootMs;
  }

  private pump(): void {
    for (;;) {
      const item = this.queue[this.head];
      if (!item) break;
      if (item.patch === undefined && performance.now() < item.deadline) break;
      this.release();
    }
    this.afterPump();
  }

  /** Emits the oldest waiting flow, with its context if its lookup has finished. */
  private release(): void {
    const item = this.queue[this.head];
    if (!item) return;
    this.queue[this.head] = undefined;
    this.head++;
    if (item.patch === undefined) this.counts.timeouts++;
    else Object.assign(item.flow, item.patch);
    item.emit(item.flow);
  }

  private afterPump(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const first = this.queue[this.head];
    if (first) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, first.deadline - performance.now()));
      this.timer.unref();
    } else if (this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }
}

const parentOf = (snapshot: ProcessSnapshot): ParentInfo => ({ pid: snapshot.pid, exe: snapshot.exe, comm: snapshot.comm, argv: snapshot.argv });

const parentPatch = (parent: ParentInfo): Patch => ({ parent_exe: parent.exe, parent_comm: parent.comm, parent_argv: parent.argv });

const sorted = (labels: Iterable<string>): string[] => [...new Set(labels)].sort();

function isCutOff(argv: string[]): boolean {
  return Buffer.byteLength(argv.join('\0')) >= PROCTITLE_MAX - 1;
}

/** The full command line begins with what PROCTITLE kept (its last argument may be cut short). */
function startsWithArgv(full: string[], cut: string[]): boolean {
  return full.join('\0').startsWith(cut.join('\0'));
}
