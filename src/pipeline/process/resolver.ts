// The process resolver: gives each flow what /proc knows about its process (cwd, the full
// command line, the parent, the container, the systemd unit, when it started) and the names
// of its ids, without ever attaching another process's data.
//
// Identity. A flow's pid is checked when the flow arrives: /proc/<pid>/stat gives the start
// time of the process holding that pid now. If there is none, it is a zombie, or it started
// after the flow's event, the event's process has exited (and maybe its pid was reused): the
// flow is marked `proc_gone`, with its parent's context if the parent still lives. Otherwise
// (pid, start time) is the cache key. An exec keeps both, so an entry also remembers the exe
// its events named, and is read again when that changes.
//
// A process seen alive at time A held its pid through every moment between its start and A:
// a flow whose event lies in that span is that process's, without reading stat again. Events
// reach the pipeline after they happen, so within a burst of one process only the first flow
// reads stat. (The span is trusted for a few seconds at most, so a stepped wall clock cannot
// stretch it.) The same holds for what a stat read found at a pid, including nothing: within
// one kernel batch (beginBatch()) a pid's stat is read at most once, whoever asks (the flow's
// process, a gone process's parent, an ancestor).
//
// Events that are no flow (a socket(), an execve the rules audit; see observe()) read nothing:
// the labels of their rule keys wait, by pid and time, until that pid is read for a flow.
//
// Bounds. Everything kept comes from processes any local user controls, so each string is
// bounded: a command line to `argvMaxBytes` and `argvMaxArgs` arguments (its reads stop at the
// bytes, and a flow says argv_truncated; PROCTITLE's 128 bytes can hold 128 empty arguments, so
// the count applies to it too); exe and cwd by the kernel's PATH_MAX (it formats the links in a
// PATH_MAX buffer, fs/proc/base.c do_proc_readlink), comm by TASK_COMM_LEN (the records' fields
// are cut at those bounds by the parser, record.ts fieldValue); the cache by entries and by
// estimated bytes.
//
// Off the hot path. A cache hit costs at most that one stat read. A new process costs three
// readlinks (exe, cwd, ns/net) on this thread, which cannot wait on other tasks, and a request to
// the worker thread for its cgroup and cmdline, which can (proc-files.ts). Flows wait for
// that answer in an ordered queue and leave in the order they came: each when its answer is
// in, or after `lookupTimeoutMs` with what this thread read (counted as a timeout). A stuck
// read thus delays output by at most that long and never blocks the pipeline. The price of
// reading /proc after the event rather than at it: a process that exits in between
// (short-lived programs do, within milliseconds) is only `proc_gone`.
//
// Early reads. The addon's lookup thread reads the start and the cgroup file of each process it
// opens, microseconds after the process's first audited syscall (src/native/process-reads.ts), and
// the pipeline hands them here (earlyRead()) before the batch's flows. A flow whose process is gone
// by the time it is read here takes its container and unit from its own early read when that read
// can be the event's process (see earlyCgroup()), else from its parent (addParentContainer).
import { performance } from 'node:perf_hooks';
import type { Flow } from '../flow.js';
import type { ProcessRead } from '../../native/process-reads.js';
import { LruTtlCache, processKey } from './cache.js';
import { cgroupContext, parseCgroupFile, type CgroupContext } from './cgroup.js';
import { LabelRules } from './labels.js';
import { capArgs, cmdlineArgv, readNetns, readProcLink, SlowProcReader, type BoundedArgv } from './proc-files.js';
import { hasExited, readBootTimeMs, readProcStat, START_TOLERANCE_MS, startTimeMs, type ProcStat } from './proc-stat.js';
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
  /** A flow waits at most this long for its process's cgroup and cmdline (ms, default 250). */
  lookupTimeoutMs?: number;
  /** Bytes of a command line kept, at most (its arguments joined by NUL; default 4096). */
  argvMaxBytes?: number;
  /** Arguments of a command line kept, at most (default 64). */
  argvMaxArgs?: number;
  /** Estimated bytes of the process cache, at most (default 32 MiB); the least recently used go first. */
  cacheMaxBytes?: number;
  /** Flows waiting at most; beyond it the oldest goes out without waiting (default 4096). */
  maxPending?: number;
  /** Wall clock (ms since the epoch), for the cache's time-to-live and the boot time. */
  now?: () => number;
  /** The daemon's network namespace (its inode): flows of processes in another one carry `netns`. Default: `<procRoot>/self/ns/net`. */
  ownNetns?: number | null;
  /** The addon's early process reads kept, at most (default 4096, as many processes as its lookup thread keeps open); the oldest go first. */
  earlyReadsMax?: number;
}

export interface ProcessResolverStats {
  /** Processes in the cache. */
  cached: number;
  /** Processes that carry labels. */
  labelled: number;
  /** Flows waiting for the worker's answer. */
  pending: number;
  /** Flows whose process was in the cache. */
  hits: number;
  /** Processes read from /proc. */
  lookups: number;
  /** /proc/<pid>/stat reads (identity checks). */
  statReads: number;
  /** Estimated bytes held by the process cache. */
  cachedBytes: number;
  /** Flows whose process had exited (or whose pid was reused) before it could be read. */
  gone: number;
  /** Flows released before their process's cgroup and cmdline came: after lookupTimeoutMs, beyond maxPending, or at flush(). */
  timeouts: number;
  /** Cache entries dropped for room. */
  evictions: number;
  /** The addon's early process reads kept (earlyRead()). */
  earlyReads: number;
  /** Flows of gone processes (or of processes gone before their cgroup was read) that took their container and unit from their own early read. */
  earlyUsed: number;
}

/** What the worker read: the container and unit, and the command line (within argvMaxBytes and argvMaxArgs). */
interface SlowDetails {
  cgroup: CgroupContext;
  argv: BoundedArgv | null;
  /** The process exited before its cgroup could be read: its container is unknown. */
  exited: boolean;
}

interface ProcessEntry {
  pid: number;
  startTicks: number;
  startMs: number;
  comm: string;
  exe: string | null;
  cwd: string | null;
  /** Its network namespace's inode (read with exe and cwd); null when unreadable. */
  netns: number | null;
  /** The exe this process's events named when the entry was read: another one means an exec since. */
  eventExe: string | null;
  parent: ProcessEntry | null;
  details: SlowDetails | undefined;
  detailsRead: Promise<SlowDetails> | undefined;
}

type Patch = Partial<Flow>;

/** A process (its cache key's start time) and when (wall clock, the events' clock) it was last seen alive. */
interface Seen {
  startTicks: number;
  at: number;
}

/** What a stat read at `at` (wall clock) found at a pid: a process, or none. */
interface StatRead {
  stat: ProcStat | undefined;
  at: number;
}

/** What the addon read of a process when it opened it: its start, when it was last seen alive, its cgroup file. */
interface EarlyRead {
  startTicks: number;
  readAtMs: number;
  cgroup: string;
}

/** Labels of a non-flow event's rule keys, for the process at its pid at `time`. */
interface Observed {
  labels: string[];
  time: number;
}

interface Pending {
  flow: Flow;
  emit: (flow: Flow) => void;
  /** What the worker's answer added, written into the flow when it leaves. */
  patch: Patch;
  done: boolean;
  deadline: number;
}

const NO_CGROUP: CgroupContext = { containerId: null, runtime: null, podUid: null, unit: null };
// PROCTITLE holds the first 128 bytes of the argument area (kernel/auditsc.c
// MAX_PROCTITLE_AUDIT_LEN), trailing NULs trimmed: this long or longer, it may be cut.
export const PROCTITLE_MAX_BYTES = 128;
// Ancestors read for label inheritance, at most (a chain of 64 is far beyond any real tree).
const MAX_DEPTH = 64;
// Non-flow events (observe()) kept per pid until the pid is read: a pid's processes in order,
// of which only those since the last read matter.
const MAX_OBSERVED = 8;
// The boot time is re-read this often, and adopted when the wall clock was stepped.
const BOOT_TIME_CHECK_MS = 10_000;
// How long "seen alive at A" stands in for a stat read (monotonic ms): short enough that a
// stepped wall clock and a reused pid cannot meet in it (a pid comes back only after the
// kernel has handed out every other one, kernel/pid.c alloc_pid's cyclic allocation).
const SEEN_WINDOW_MS = 5000;
// A cache entry's estimated size: its strings (V8 keeps one- or two-byte strings; two is the
// bound), plus the objects around them.
const ENTRY_OVERHEAD_BYTES = 400;
// How long after an early read a gone process's event may come and still be taken for the read's
// process, when nothing tells that the pid changed hands: a freed pid is handed out again only
// after every other one (kernel/pid.c alloc_pid's cyclic allocation; pid_max is 32,768 here), and a
// process that took the pid would have had an early read of its own, which replaces this one.
const EARLY_READ_TRUST_MS = 5000;
const ARG_OVERHEAD_BYTES = 16;

export class ProcessResolver {
  private readonly procRoot: string;
  private readonly users: UserNames;
  private readonly labelRules: LabelRules;
  private readonly cache: LruTtlCache<ProcessEntry>;
  private readonly labels: LruTtlCache<Set<string>>;
  private readonly seen: LruTtlCache<Seen>;
  private readonly observed: LruTtlCache<Observed[]>;
  private readonly slowReader: SlowProcReader;
  /** This batch's stat reads by pid; undefined until the first beginBatch(). */
  private batchStats: Map<number, StatRead> | undefined;
  private readonly lookupTimeoutMs: number;
  private readonly argvMaxBytes: number;
  private readonly argvMaxArgs: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly ownNetns: number | null;
  /** The addon's early reads by pid, oldest first (a Map keeps insertion order). */
  private readonly early = new Map<number, EarlyRead>();
  private readonly earlyReadsMax: number;
  private readonly queue: Array<Pending | undefined> = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];
  private bootMs: number;
  private bootCheckedAt: number;
  private counts = { hits: 0, lookups: 0, statReads: 0, gone: 0, timeouts: 0, earlyUsed: 0 };

  constructor(options: ProcessResolverOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.users = options.users ?? new UserNames();
    this.labelRules = options.labels ?? new LabelRules();
    const cacheSize = options.cacheSize ?? 16384;
    this.cache = new LruTtlCache({ maxEntries: cacheSize, ttlMs: options.ttlMs ?? 60_000, maxBytes: options.cacheMaxBytes ?? 32 * 1024 * 1024 });
    this.labels = new LruTtlCache({ maxEntries: cacheSize, ttlMs: Number.POSITIVE_INFINITY });
    this.seen = new LruTtlCache({ maxEntries: cacheSize, ttlMs: SEEN_WINDOW_MS });
    this.observed = new LruTtlCache({ maxEntries: cacheSize, ttlMs: Number.POSITIVE_INFINITY });
    this.argvMaxBytes = options.argvMaxBytes ?? 4096;
    this.argvMaxArgs = options.argvMaxArgs ?? 64;
    this.slowReader = new SlowProcReader(this.procRoot, this.argvMaxBytes);
    // Started now, so it is running (a thread takes tens of ms to start) before the first flow.
    this.slowReader.start();
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 250;
    this.maxPending = Math.max(1, options.maxPending ?? 4096);
    this.now = options.now ?? Date.now;
    this.ownNetns = options.ownNetns === undefined ? readNetns(this.procRoot, 'self') : options.ownNetns;
    this.earlyReadsMax = Math.max(1, options.earlyReadsMax ?? 4096);
    this.bootCheckedAt = this.now();
    this.bootMs = readBootTimeMs(this.procRoot, this.now, true);
  }

  /**
   * A flow from the pipeline: `emit` gets it (with its context) now or later, always in the
   * order flows were pushed.
   */
  push(flow: Flow, emit: (flow: Flow) => void): void {
    this.name(flow);
    const own = capArgs(flow.argv, this.argvMaxArgs);
    if (own.truncated) Object.assign(flow, { argv: own.argv, argv_truncated: true });
    // What is known now goes into the flow at once (it has not left yet): a patch object per flow
    // was a third of this stage's garbage. Only the worker's answer waits in a patch.
    const later = this.resolve(flow);
    if (!later && this.head === this.queue.length) {
      emit(flow);
      return;
    }
    const item: Pending = { flow, emit, patch: {}, done: !later, deadline: performance.now() + this.lookupTimeoutMs };
    this.queue.push(item);
    later?.then(
      (more) => {
        Object.assign(item.patch, more);
        item.done = true;
        this.pump();
      },
      () => {
        item.done = true;
        this.pump();
      },
    );
    while (this.queue.length - this.head > this.maxPending) this.release();
    this.pump();
  }

  /**
   * A new kernel batch begins: from now on a pid's stat is read at most once until the next
   * call (each read stands for the events before it; see the header). The pipeline calls it
   * at the start of each batch; without it every identity check reads stat.
   */
  beginBatch(): void {
    this.batchStats = new Map();
  }

  /**
   * What the addon read of a process when it first opened it (src/native/process-reads.ts). It
   * replaces an older read of the pid: a pid is one process at a time, and the newest read names
   * the process that holds it now. A read without a cgroup (cut, or the process went too fast)
   * replaces one too, so that the older process's cgroup is not given to this one's flows.
   */
  earlyRead(read: ProcessRead): void {
    this.early.delete(read.pid);
    this.early.set(read.pid, { startTicks: read.startTicks, readAtMs: read.readAtMs, cgroup: read.cgroup ?? '' });
    if (this.early.size > this.earlyReadsMax) this.early.delete(this.early.keys().next().value as number);
  }

  /**
   * Another syscall event of a process (a socket(), an execve the rules audit): labels of its
   * rule key and exe attach to the process, for the children it starts afterwards. Reads
   * nothing: they wait until the pid is read for a flow (labelsOf).
   */
  observe(pid: number, exe: string | null, key: string | null, time: number): void {
    const labels = [...this.labelRules.forKey(key), ...this.labelRules.forExe(exe)];
    if (labels.length === 0) return;
    const id = String(pid);
    const waiting = this.observed.lookup(id, 0)?.value ?? [];
    // A pid's processes, oldest first; the bound keeps a busy pid's list short.
    waiting.push({ labels, time });
    this.observed.set(id, waiting.slice(-MAX_OBSERVED), 0);
  }

  /** The lowest serial of a flow still waiting here; undefined when none waits. */
  get oldestPendingSerial(): number | undefined {
    let oldest: number | undefined;
    for (let i = this.head; i < this.queue.length; i++) {
      const serial = this.queue[i]?.flow.serial;
      if (serial !== undefined && (oldest === undefined || serial < oldest)) oldest = serial;
    }
    return oldest;
  }

  /** Releases every waiting flow now, with what is known of its process so far. */
  flush(): void {
    while (this.head < this.queue.length) this.release();
    this.afterPump();
  }

  /** Resolves when no flow is waiting (each waits at most lookupTimeoutMs). */
  settled(): Promise<void> {
    if (this.head === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when the worker thread runs. */
  ready(): Promise<void> {
    return this.slowReader.start().online;
  }

  /** Releases the waiting flows and stops the worker thread. */
  async close(): Promise<void> {
    this.flush();
    await this.slowReader.close();
  }

  stats(): ProcessResolverStats {
    return {
      cached: this.cache.size,
      cachedBytes: this.cache.bytes,
      labelled: this.labels.size,
      pending: this.queue.length - this.head,
      ...this.counts,
      evictions: this.cache.evictions,
      earlyReads: this.early.size,
    };
  }

  /** The ids' names from the user database, where it has them (once per flow: no patch object). */
  private name(flow: Flow): void {
    flow.user = this.users.user(flow.uid) ?? flow.user;
    flow.euser = this.users.user(flow.euid) ?? flow.euser;
    flow.group = this.users.group(flow.gid) ?? flow.group;
    flow.auser = this.users.user(flow.auid) ?? flow.auser;
  }

  /** Writes what is known of the flow's process into it; returns what the worker's answer will add, if one is awaited. */
  private resolve(flow: Flow): Promise<Patch> | undefined {
    const keyLabels = this.labelRules.forKey(flow.key);
    const exeLabels = this.labelRules.forExe(flow.exe);
    const eventLabels = exeLabels.length === 0 ? keyLabels : keyLabels.length === 0 ? exeLabels : [...keyLabels, ...exeLabels];
    if (flow.pid === null) {
      flow.labels = sorted(eventLabels);
      return undefined;
    }
    const entry = this.seenAlive(flow) ?? this.lookUp(flow);
    if (!entry) return this.resolveGone(flow, eventLabels);
    const id = processKey(entry.pid, entry.startTicks);
    this.addLabels(id, eventLabels);
    const parent = entry.parent && entry.parent.pid === flow.ppid ? entry.parent : null;
    flow.proc_gone = false;
    flow.proc_start = entry.startMs;
    flow.cwd = entry.cwd;
    this.addNetns(flow, entry);
    flow.labels = sorted(this.labelsOf(entry.pid, entry.startTicks));
    // What a record without them (URINGOP) did not say, from /proc.
    if (flow.exe === null) flow.exe = entry.exe;
    if (flow.comm === null) flow.comm = entry.comm;
    // The parent /proc shows may not be the event's (the event's parent exited and the
    // process was reparented): then the parent is not known.
    if (parent) {
      flow.parent_exe = parent.exe;
      flow.parent_comm = parent.comm;
    }
    const waitsSelf = entry.details === undefined;
    const waitsParent = parent !== null && parent.details === undefined;
    if (!waitsSelf && !waitsParent) {
      addProcessDetails(flow, flow.argv, entry.details, parent, this.exitedEarly(entry));
      return undefined;
    }
    const argv = flow.argv;
    return Promise.all([waitsSelf ? this.details(entry) : undefined, waitsParent && parent ? this.details(parent) : undefined]).then(() => {
      const more: Patch = {};
      addProcessDetails(more, argv, entry.details, parent, this.exitedEarly(entry));
      return more;
    });
  }

  /** The entry of a process seen alive after the flow's event (and started before it), if cached and current. */
  private seenAlive(flow: Flow): ProcessEntry | undefined {
    const seen = flow.pid === null ? undefined : this.seen.lookup(String(flow.pid), performance.now());
    if (!seen || seen.expired || flow.pid === null) return undefined;
    const { startTicks, at } = seen.value;
    const cached = this.cache.lookup(processKey(flow.pid, startTicks), this.now());
    if (!cached || cached.expired) return undefined;
    const entry = cached.value;
    if (flow.ts > at || flow.ts + START_TOLERANCE_MS < entry.startMs || (flow.exe !== null && entry.eventExe !== flow.exe)) return undefined;
    this.counts.hits++;
    return entry;
  }

  /** The flow's process from stat: its cache entry, read if need be; undefined when it is gone. */
  private lookUp(flow: Flow): ProcessEntry | undefined {
    if (flow.pid === null) return undefined;
    const found = this.identify(flow.pid, flow.ts);
    // A flow without exe (an io_uring operation completed off the submitting syscall) claims none.
    const entry = found && this.entry(found.stat, flow.exe ?? undefined, true);
    if (found && entry) this.seen.set(String(flow.pid), { startTicks: entry.startTicks, at: found.at }, performance.now());
    return entry;
  }

  /**
   * The process has exited: the record's fields stay; its container and unit come from its early
   * read if it has one, the parent's context if the parent still lives.
   */
  private resolveGone(flow: Flow, eventLabels: readonly string[]): Promise<Patch> | undefined {
    this.counts.gone++;
    flow.proc_gone = true;
    flow.labels = sorted(eventLabels);
    const own = flow.pid === null ? undefined : this.goneEarly(flow.pid, flow.ts);
    if (own) addCgroup(flow, own);
    const found = flow.ppid === null || flow.ppid <= 0 ? undefined : this.identify(flow.ppid, flow.ts);
    const parent = found && this.entry(found.stat, undefined, false);
    if (!found || !parent) return undefined;
    flow.parent_exe = parent.exe;
    flow.parent_comm = parent.comm;
    // A child starts in its parent's network namespace (clone(2) without CLONE_NEWNET): a parent in
    // another namespace than the daemon's says where the gone child most likely was; one in the
    // daemon's says nothing (the child may have been a container's first process).
    this.addNetns(flow, parent);
    flow.labels = sorted([...eventLabels, ...this.labelsOf(parent.pid, parent.startTicks)]);
    if (parent.details) {
      addParentArgv(flow, parent.details);
      if (!own) addParentContainer(flow, parent.details);
      return undefined;
    }
    return this.details(parent).then((details) => {
      const more: Patch = {};
      addParentArgv(more, details);
      if (!own) addParentContainer(more, details);
      return more;
    });
  }

  /**
   * The cgroup of a process that made an event at `time` and is gone now (its start unknown here),
   * from the addon's early read of its pid, when that read can be the event's process: it started by
   * the event (a process that started after it is a later holder of the pid), it was seen alive no
   * more than EARLY_READ_TRUST_MS before the event, and what is at the pid now (a zombie, or a later
   * process) does not say that the pid changed hands between the read and the event.
   */
  private goneEarly(pid: number, time: number): CgroupContext | undefined {
    const read = this.early.get(pid);
    if (!read) return undefined;
    const boot = this.bootTime();
    if (startTimeMs(boot, read.startTicks) > time + START_TOLERANCE_MS || time > read.readAtMs + EARLY_READ_TRUST_MS) return undefined;
    // Read in this batch already (the identity check); a process at the pid that is not the read's
    // and started by the event may be the event's.
    const now = this.statAt(pid, time).stat;
    if (now && now.startTicks !== read.startTicks && startTimeMs(boot, now.startTicks) <= time + START_TOLERANCE_MS) return undefined;
    return this.earlyCgroup(read);
  }

  /** The cgroup of a process that was alive for its identity check but gone before the worker read its cgroup, from the addon's early read of that same process. */
  private exitedEarly(entry: ProcessEntry): CgroupContext | undefined {
    if (entry.details?.exited !== true) return undefined;
    const read = this.early.get(entry.pid);
    return read && read.startTicks === entry.startTicks ? this.earlyCgroup(read) : undefined;
  }

  /** What an early read's cgroup file says; undefined when it holds no line (not read, cut, or empty). */
  private earlyCgroup(read: EarlyRead): CgroupContext | undefined {
    const lines = parseCgroupFile(read.cgroup);
    if (lines.length === 0) return undefined;
    this.counts.earlyUsed++;
    return cgroupContext(lines);
  }

  /** The process now at `pid`, if it can be the one that made an event at `time`, and when that was read. */
  private identify(pid: number, time: number): { stat: ProcStat; at: number } | undefined {
    const read = this.statAt(pid, time);
    const stat = read.stat;
    if (!stat || hasExited(stat.state)) return undefined;
    if (startTimeMs(this.bootTime(), stat.startTicks) > time + START_TOLERANCE_MS) return undefined;
    return { stat, at: read.at };
  }

  /**
   * /proc/<pid>/stat as read in this batch, if it was read after `time` (so it stands for an
   * event then), or read now.
   */
  private statAt(pid: number, time: number): StatRead {
    const known = this.batchStats?.get(pid);
    if (known && known.at >= time) return known;
    const read = { at: this.now(), stat: readProcStat(this.procRoot, pid) };
    this.counts.statReads++;
    this.batchStats?.set(pid, read);
    return read;
  }

  /**
   * The labels of a process (pid, start), with those its non-flow events left by pid (observe())
   * if the process was at that pid then, i.e. had started by the event.
   */
  private labelsOf(pid: number, startTicks: number): Set<string> {
    const id = processKey(pid, startTicks);
    const waiting = this.observed.lookup(String(pid), 0)?.value;
    if (waiting) {
      const startMs = startTimeMs(this.bootTime(), startTicks);
      const mine = waiting.filter((one) => startMs <= one.time + START_TOLERANCE_MS);
      this.addLabels(id, mine.flatMap((one) => one.labels));
      // Older processes' events stay for no one: the pid's process now is this one or a later one.
      this.observed.delete(String(pid));
    }
    return this.labels.lookup(id, 0)?.value ?? NO_LABELS;
  }

  /**
   * The cache entry of (pid, start time), read when missing, expired, or (for a flow's own
   * process, `eventExe` given) made before an exec. undefined: the process went away meanwhile.
   */
  private entry(stat: ProcStat, eventExe: string | null | undefined, countHit: boolean): ProcessEntry | undefined {
    const hit = this.cache.lookup(processKey(stat.pid, stat.startTicks), this.now());
    if (hit && !hit.expired && (eventExe === undefined || hit.value.eventExe === eventExe)) {
      if (countHit) this.counts.hits++;
      return hit.value;
    }
    return this.read(stat, eventExe === undefined ? (hit?.value.eventExe ?? null) : eventExe, 0);
  }

  private read(stat: ProcStat, eventExe: string | null, depth: number): ProcessEntry | undefined {
    const id = processKey(stat.pid, stat.startTicks);
    this.counts.lookups++;
    const exe = readProcLink(this.procRoot, stat.pid, 'exe');
    const cwd = readProcLink(this.procRoot, stat.pid, 'cwd');
    const netns = readNetns(this.procRoot, stat.pid);
    // A link that could not be read: a kernel thread, or the process exited since its stat was
    // read. (It cannot have been replaced: the kernel hands a freed pid out again only after
    // every other one, kernel/pid.c alloc_pid's cyclic allocation, not within microseconds.)
    if (exe === null || cwd === null) {
      const after = readProcStat(this.procRoot, stat.pid);
      if (!after || after.startTicks !== stat.startTicks || hasExited(after.state)) {
        this.cache.delete(id);
        return undefined;
      }
    }
    const parent = stat.ppid > 0 && depth < MAX_DEPTH ? this.ancestor(stat.ppid, stat, depth + 1) : undefined;
    const inherited = parent ? this.labelsOf(parent.pid, parent.startTicks) : [];
    this.addLabels(id, [...inherited, ...this.labelRules.forExe(exe)]);
    const entry: ProcessEntry = {
      pid: stat.pid,
      startTicks: stat.startTicks,
      startMs: startTimeMs(this.bootTime(), stat.startTicks),
      comm: stat.comm,
      exe,
      cwd,
      netns,
      eventExe,
      parent: parent ?? null,
      details: undefined,
      detailsRead: undefined,
    };
    this.cache.set(id, entry, this.now(), entryBytes(entry));
    return entry;
  }

  /**
   * The parent of `child`: the process at `pid` if it started no later. A parent seen alive
   * after the child started was the parent then, without another stat read.
   */
  private ancestor(pid: number, child: ProcStat, depth: number): ProcessEntry | undefined {
    const seen = this.seen.lookup(String(pid), performance.now());
    const childStartMs = startTimeMs(this.bootTime(), child.startTicks);
    if (seen && !seen.expired && seen.value.startTicks <= child.startTicks && seen.value.at >= childStartMs + START_TOLERANCE_MS) {
      const cached = this.cache.lookup(processKey(pid, seen.value.startTicks), this.now());
      if (cached && !cached.expired) return cached.value;
    }
    const { stat, at } = this.statAt(pid, childStartMs + START_TOLERANCE_MS);
    if (!stat || hasExited(stat.state) || stat.startTicks > child.startTicks) return undefined;
    const hit = this.cache.lookup(processKey(pid, stat.startTicks), this.now());
    const entry = hit && !hit.expired ? hit.value : this.read(stat, hit?.value.eventExe ?? null, depth);
    if (entry) this.seen.set(String(pid), { startTicks: entry.startTicks, at }, performance.now());
    return entry;
  }

  /** The worker's answer for a process, asked once per entry. */
  private details(entry: ProcessEntry): Promise<SlowDetails> {
    entry.detailsRead ??= this.slowReader.read(entry.pid).then((files) => {
      // Read from the same process? If it exited meanwhile, the files may be its successor's.
      const still = readProcStat(this.procRoot, entry.pid);
      const same = still !== undefined && still.startTicks === entry.startTicks;
      entry.details = {
        cgroup: same && files.cgroup !== null ? cgroupContext(parseCgroupFile(files.cgroup)) : NO_CGROUP,
        argv: same && files.cmdline !== null ? cmdlineArgv(files.cmdline, this.argvMaxBytes, files.cmdlineMore, this.argvMaxArgs) : null,
        exited: !same || files.cgroup === null,
      };
      this.cache.resize(processKey(entry.pid, entry.startTicks), entryBytes(entry));
      return entry.details;
    });
    return entry.detailsRead;
  }

  /** `netns` of a process in another network namespace than the daemon's. */
  private addNetns(flow: Flow, entry: ProcessEntry): void {
    if (entry.netns !== null && entry.netns !== this.ownNetns) flow.netns = entry.netns;
  }

  private addLabels(id: string, labels: readonly string[]): void {
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
      if (!item || (!item.done && performance.now() < item.deadline)) break;
      this.release();
    }
    this.afterPump();
  }

  /** Emits the oldest waiting flow with what is known of its process. */
  private release(): void {
    const item = this.queue[this.head];
    if (!item) return;
    this.queue[this.head] = undefined;
    this.head++;
    if (!item.done) this.counts.timeouts++;
    Object.assign(item.flow, item.patch);
    // A late answer must not change a flow already emitted.
    item.patch = {};
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
      // At the deadline, pump only after the event loop's poll phase: answers that are already in
      // (the thread was busy and had not read them yet) count, rather than being timed out.
      this.timer = setTimeout(() => setImmediate(() => this.pump()), Math.max(0, first.deadline - performance.now()));
      this.timer.unref();
    } else if (this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }
}

/**
 * Writes the worker's part of a flow and of its parent into `to`. A process that was alive for its
 * identity check but exited before the worker read its cgroup (a client that connects and goes)
 * takes the cgroup of its own early read (`early`), else its parent's container, as a gone one
 * does (addParentContainer).
 */
function addProcessDetails(to: Patch, own: string[], details: SlowDetails | undefined, parent: ProcessEntry | null, early: CgroupContext | undefined): void {
  addDetails(to, own, details);
  if (early) addCgroup(to, early);
  if (!parent) return;
  addParentArgv(to, parent.details);
  if (details?.exited === true && !early) addParentContainer(to, parent.details);
}

/** Writes a process's own container and unit into `to`. */
function addCgroup(to: Patch, cgroup: CgroupContext): void {
  to.container_id = cgroup.containerId;
  to.container_runtime = cgroup.runtime;
  to.pod_uid = cgroup.podUid;
  to.unit = cgroup.unit;
}

/** Writes the worker's part of a flow into `to`: container, unit, and the whole command line where the flow's own (PROCTITLE's) was cut. */
function addDetails(to: Patch, own: string[], details: SlowDetails | undefined): void {
  if (!details) return;
  addCgroup(to, details.cgroup);
  const argv = details.argv;
  // No command line from the records (an `existing` entry of the start's socket dump, an event
  // without PROCTITLE): all of it from /proc.
  if (argv && (own.length === 0 || isCutOff(own)) && argv.argv.join('\0').startsWith(own.join('\0'))) {
    to.argv = argv.argv;
    if (argv.truncated) to.argv_truncated = true;
  }
}

/**
 * A process that exited before it could be read (a short-lived client in a container) was in its
 * parent's container when the parent is in one: a child starts in its parent's cgroup (fork(2),
 * cgroups(7)), and a runtime moves a process into a container, never out of one. A parent on the
 * host says nothing (the child may be a container's first process), nor does its systemd unit, which
 * a child leaves as often as not: those stay null. `proc_gone` stays true.
 */
function addParentContainer(to: Patch, details: SlowDetails | undefined): void {
  const cgroup = details?.cgroup;
  if (!cgroup || cgroup.containerId === null) return;
  to.container_id = cgroup.containerId;
  to.container_runtime = cgroup.runtime;
  to.pod_uid = cgroup.podUid;
}

/** Writes the parent's command line, as far as it was read, into `to`. */
function addParentArgv(to: Patch, details: SlowDetails | undefined): void {
  const argv = details?.argv;
  to.parent_argv = argv?.argv ?? null;
  if (argv?.truncated) to.parent_argv_truncated = true;
}

/** A cache entry's estimated size (see ENTRY_OVERHEAD_BYTES); the parent is an entry of its own. */
function entryBytes(entry: ProcessEntry): number {
  const strings = [entry.comm, entry.exe, entry.cwd, entry.eventExe, ...Object.values(entry.details?.cgroup ?? NO_CGROUP)];
  const argv = entry.details?.argv?.argv ?? [];
  let chars = 0;
  for (const one of [...strings, ...argv]) chars += one?.length ?? 0;
  return ENTRY_OVERHEAD_BYTES + 2 * chars + ARG_OVERHEAD_BYTES * argv.length;
}

// The labels of a process that has none; never changed (addLabels makes a set of its own).
const NO_LABELS: Set<string> = new Set();

// A process's label set only grows: its sorted list is kept until the set's size changes.
const sortedOf = new WeakMap<Set<string>, string[]>();
const sorted = (labels: Iterable<string>): string[] => {
  if (!(labels instanceof Set)) return [...new Set(labels)].sort();
  const known = sortedOf.get(labels);
  if (known && known.length === labels.size) return known;
  const list = [...labels].sort();
  sortedOf.set(labels, list);
  return list;
};

function isCutOff(argv: string[]): boolean {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most command lines are decided without joining them.
  let units = argv.length - 1;
  for (const arg of argv) units += arg.length;
  if (units * 3 < PROCTITLE_MAX_BYTES - 1) return false;
  return Buffer.byteLength(argv.join('\0')) >= PROCTITLE_MAX_BYTES - 1;
}
