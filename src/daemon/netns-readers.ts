// The destroy readers of other network namespaces (flow_end_namespaces = all). The kernel broadcasts
// a socket's destroy only to listeners in the socket's own network namespace (net/core/sock_diag.c):
// for each namespace a flow's process is in (its `netns`), one more sock_diag reader is opened inside
// it, through /proc/<pid>/ns/net of that flow's process (or its parent, for a process gone since).
//
// Privileges: setns(2) into a network namespace needs CAP_SYS_ADMIN, binding the destroy groups
// CAP_NET_ADMIN in the user namespace that owns it. Without CAP_SYS_ADMIN nothing is tried: one
// warning at start. A refusal (EPERM from a namespace owned by a user namespace the daemon has no
// rights in, ...) is counted per namespace and logged once; the namespace is not asked again.
//
// Bounds: at most MAX_NAMESPACES readers. A reader holds its namespace alive (a socket keeps a
// reference on its struct net), so the kernel never says the namespace is gone: every SWEEP_MS the
// daemon checks that some process is still in it (the pids it was seen with, else one scan of
// /proc/*/ns/net) and closes the reader of a namespace without processes. A namespace seen again
// later gets a reader again.
import { readdirSync } from 'node:fs';
import type { AuditBinding } from '../native/binding.js';
import type { Flow } from '../pipeline/flow.js';
import { readNetns } from '../pipeline/process/proc-files.js';
import type { LossInfo } from './loss-reporter.js';
import type { Logger } from './logger.js';
import { SockDiagSource } from './sock-diag-source.js';

/**
 * Namespaces read at most besides the daemon's own. Each costs a thread, a 4 MiB socket buffer
 * (at most; the kernel charges what is queued) and a bounded join (../pipeline/namespace-ends.ts);
 * 64 covers a host of many containers, and what is past it is counted, not read.
 */
export const MAX_NAMESPACES = 64;
/** How often the daemon checks that a namespace it reads still has a process. */
export const SWEEP_MS = 10_000;
/** Pids remembered per namespace for that check (the last ones seen). */
const PIDS_KEPT = 4;
/** Refused namespaces remembered (not asked again); past it they are forgotten and may be asked once more. */
const SKIPPED_KEPT = 4096;
/** CAP_SYS_ADMIN, include/uapi/linux/capability.h. */
const CAP_SYS_ADMIN = 21n;

export interface NamespaceReadersOptions {
  binding: AuditBinding;
  log: Logger;
  /** Destroy messages read in namespace `netns`. */
  onBatch: (data: Buffer, offsets: Uint32Array, receivedMs: number, netns: number) => void;
  /** The reader of `netns` was closed: its namespace has no process left. */
  onClosed: (netns: number) => void;
  lose: (loss: LossInfo) => void;
  /** Where /proc is (tests pass a directory laid out like it). */
  procRoot?: string;
  maxNamespaces?: number;
}

export interface NamespaceReadersStats {
  /** Namespaces read now. */
  namespaces: number;
  /** Readers opened since the start, and closed (their namespace had no process left). */
  opened: number;
  closed: number;
  /** Namespaces the kernel refused (counted once each), and namespaces not read for the bound. */
  refused: number;
  overBound: number;
}

interface Reader {
  source: SockDiagSource;
  pids: number[];
}

/** Whether this process's effective capabilities hold CAP_SYS_ADMIN (`CapEff` of /proc/<pid>/status, proc(5)). */
export function hasSysAdmin(status: string): boolean {
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match !== null && ((BigInt(`0x${match[1]}`) >> CAP_SYS_ADMIN) & 1n) === 1n;
}

export class NamespaceReaders {
  private readonly readers = new Map<number, Reader>();
  /** Namespaces refused: not asked again (forgotten all at once past SKIPPED_KEPT). */
  private readonly refused = new Set<number>();
  /** Namespaces past the bound: not asked again until a sweep makes room. */
  private readonly overBound = new Set<number>();
  private readonly procRoot: string;
  private readonly max: number;
  private readonly counts = { opened: 0, closed: 0, refused: 0, overBound: 0 };
  private boundLogged = false;
  private refusalLogged = false;
  private closing = false;

  constructor(private readonly options: NamespaceReadersOptions) {
    this.procRoot = options.procRoot ?? '/proc';
    this.max = options.maxNamespaces ?? MAX_NAMESPACES;
  }

  /**
   * A flow of network namespace `netns` whose destroys are not read: opens its reader (through the
   * flow's process, else its parent). True when the namespace's destroys are read from now on.
   */
  watch(netns: number, flow: Flow): boolean {
    const known = this.readers.get(netns);
    if (known !== undefined) {
      remember(known.pids, flow.pid);
      return true;
    }
    if (this.closing || this.refused.has(netns) || this.overBound.has(netns)) return false;
    if (this.readers.size >= this.max) {
      this.overBound.add(netns);
      this.counts.overBound++;
      if (!this.boundLogged) this.options.log.warn({ netns, max: this.max }, 'more network namespaces than flow_end_namespaces reads: their close entries are not read (counted)');
      this.boundLogged = true;
      return false;
    }
    for (const pid of [flow.pid, flow.ppid]) {
      if (pid === null || pid <= 0) continue;
      const source = this.open(netns, pid);
      if (source === 'gone') continue;
      if (source === 'refused') return false;
      this.readers.set(netns, { source, pids: [pid] });
      this.counts.opened++;
      this.options.log.info({ netns, pid }, 'reading socket destroys in another network namespace');
      return true;
    }
    // Both processes gone: the namespace's next flow tries again.
    return false;
  }

  /** Closes the readers of namespaces without a process left. */
  async sweep(): Promise<void> {
    if (this.closing) return;
    const stale = [...this.readers].filter(([netns, reader]) => !reader.pids.some((pid) => readNetns(this.procRoot, pid) === netns));
    if (stale.length === 0) return;
    const live = this.scan();
    for (const [netns, reader] of stale) {
      const pid = live.get(netns);
      if (pid !== undefined) {
        reader.pids = [pid];
        continue;
      }
      this.readers.delete(netns);
      this.counts.closed++;
      this.options.log.info({ netns }, 'a network namespace has no process left: its destroy reader is closed');
      await reader.source.close();
      this.options.onClosed(netns);
    }
    // Room again: namespaces past the bound may be read when next seen.
    if (this.readers.size < this.max) this.overBound.clear();
  }

  reportLosses(now: number): void {
    for (const reader of this.readers.values()) reader.source.reportLosses(now);
  }

  stats(): NamespaceReadersStats {
    return { namespaces: this.readers.size, ...this.counts };
  }

  /** Closes every reader (what they had read is delivered first) and opens no more. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.readers.values()].map((reader) => reader.source.close()));
  }

  private open(netns: number, pid: number): SockDiagSource | 'gone' | 'refused' {
    try {
      return SockDiagSource.openIn({
        binding: this.options.binding,
        log: this.options.log,
        onBatch: (data, offsets, receivedMs) => this.options.onBatch(data, offsets, receivedMs, netns),
        lose: this.options.lose,
        netns: { path: `${this.procRoot}/${pid}/ns/net`, inode: netns },
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The process exited, or its pid is another process's by now (the inode did not match).
      if (code === 'ENOENT' || code === 'ESRCH') return 'gone';
      if (this.refused.size >= SKIPPED_KEPT) this.refused.clear();
      this.refused.add(netns);
      this.counts.refused++;
      if (this.refusalLogged) return 'refused';
      this.refusalLogged = true;
      this.options.log.warn({ netns, pid, err: (error as Error).message, code }, 'cannot read socket destroys in another network namespace: no close entries from it (counted; further refusals are not logged)');
      return 'refused';
    }
  }

  /** One pid per network namespace of the processes in /proc now. */
  private scan(): Map<number, number> {
    const live = new Map<number, number>();
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return live;
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const netns = readNetns(this.procRoot, Number(name));
      if (netns !== null && !live.has(netns)) live.set(netns, Number(name));
    }
    return live;
  }
}

function remember(pids: number[], pid: number | null): void {
  if (pid === null || pid <= 0 || pids.includes(pid)) return;
  pids.push(pid);
  if (pids.length > PIDS_KEPT) pids.shift();
}
