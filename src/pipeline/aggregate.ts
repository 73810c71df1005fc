// Aggregation: a process that sends many datagrams to one peer makes one sendto/sendmsg event
// per datagram (and, with the optional receive rules, one recvfrom/recvmsg event per datagram
// received from a sender). The first of a (pid, proto, local, remote) is emitted at once; the ones that
// follow within the window are counted and emitted as one flow (count, first_ts, last_ts)
// when the window closes. A window that saw sends opens the next one, so a steady stream
// costs one flow per window; the counts of a stream's flows add up to its syscalls.
// connect, accept and bind are never aggregated. Time is the event time, or advance().
import type { Flow } from './flow.js';

export interface AggregatorOptions {
  onFlow: (flow: Flow) => void;
  /** Window length, ms (default 10,000; 0 turns aggregation off). */
  windowMs?: number;
  /** Open windows at most; the oldest is closed early beyond this (default 65536). */
  maxOpen?: number;
}

interface Window {
  closesAt: number;
  /** The first send counted in this window, with count/first_ts/last_ts updated; undefined while none. */
  pending: Flow | undefined;
}

const AGGREGATED: ReadonlySet<Flow['op']> = new Set(['sendto', 'sendmsg', 'recvfrom', 'recvmsg']);

export class Aggregator {
  private readonly open = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxOpen: number;
  private now = 0;

  constructor(private readonly options: AggregatorOptions) {
    this.windowMs = options.windowMs ?? 10_000;
    this.maxOpen = Math.max(1, options.maxOpen ?? 65536);
  }

  get openWindows(): number {
    return this.open.size;
  }

  /** The serial of the oldest send counted in a window not yet emitted; undefined when none. */
  get oldestPendingSerial(): number | undefined {
    let oldest: number | undefined;
    for (const { pending } of this.open.values()) if (pending !== undefined && (oldest === undefined || pending.serial < oldest)) oldest = pending.serial;
    return oldest;
  }

  push(flow: Flow): void {
    this.advance(flow.ts);
    if (this.windowMs <= 0 || !AGGREGATED.has(flow.op)) {
      this.options.onFlow(flow);
      return;
    }
    const id = aggregationKey(flow);
    const window = this.open.get(id);
    if (!window) {
      this.open.set(id, { closesAt: flow.ts + this.windowMs, pending: undefined });
      if (this.open.size > this.maxOpen) this.closeOldest();
      this.options.onFlow(flow);
      return;
    }
    if (!window.pending) {
      window.pending = { ...flow, count: 1, first_ts: flow.ts, last_ts: flow.ts };
    } else {
      window.pending.count++;
      window.pending.last_ts = Math.max(window.pending.last_ts, flow.ts);
    }
  }

  /** Closes the windows that ended by `now`. */
  advance(now: number): void {
    this.now = Math.max(this.now, now);
    // Windows are in the map in the order they opened, which is (nearly) the order they
    // close: stop at the first one still open rather than scanning every window per event.
    for (;;) {
      const first = this.open.entries().next();
      if (first.done || first.value[1].closesAt > this.now) break;
      this.close(first.value[0], first.value[1], true);
    }
  }

  /** Emits every pending count: the input has ended. */
  flush(): void {
    for (const [id, window] of [...this.open]) this.close(id, window, false);
  }

  private close(id: string, window: Window, reopen: boolean): void {
    this.open.delete(id);
    if (!window.pending) return;
    this.options.onFlow(window.pending);
    if (reopen) this.open.set(id, { closesAt: this.now + this.windowMs, pending: undefined });
  }

  private closeOldest(): void {
    const oldest = this.open.entries().next();
    if (!oldest.done) this.close(oldest.value[0], oldest.value[1], false);
  }
}

function aggregationKey(flow: Flow): string {
  return [flow.node, flow.pid, flow.op, flow.result, flow.proto_num, flow.local_addr, flow.local_port, flow.remote_addr, flow.remote_port].join('|');
}
