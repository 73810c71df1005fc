// What every audit consumer in the benchmark offers the driver: its pid (for CPU and memory from
// /proc), a counter that grows while it is still consuming (to know when it has caught up after the
// workload), and, once stopped, what it saw.

export interface ConsumerFigures {
  /** Events the consumer read (distinct serials, or auditflow's reassembled events). */
  events: number;
  /** Serials missing between the lowest and highest the consumer saw (the kernel's uncounted drops). */
  serialGaps: number;
  /** Events of the workload's own executable that the consumer wrote out, where it can tell. */
  workloadEvents?: number;
  /** auditflow: flows of the workload published to the stream, and what else the stream says. */
  flows?: FlowFigures;
}

export interface FlowFigures {
  published: number;
  /** Loss entries in the stream, summed by reason. */
  losses: Record<string, number>;
  /** Kernel timestamp → stream ID (stamped when the daemon's sink accepts the entry), ms. */
  idLatencyMs: { p50: number | null; p99: number | null; max: number | null };
  /** Kernel timestamp → the entry read back from Redis by a live XREAD reader (fixed-rate runs), ms. */
  readLatencyMs?: { p50: number | null; p99: number | null; max: number | null; n: number };
  /** The daemon's own counters at stop (its status file). */
  daemon: { records: number; events: number; flows: number; written: number; losses: Record<string, number>; filtered: Record<string, number> };
}

export interface Owed {
  /** The progress value before the workload started. */
  progressBefore: number;
  /** The progress value now. */
  progress: number;
  audited: number;
  flows: number;
}

export interface RunningConsumer {
  readonly pid: number;
  /** Another process whose CPU belongs to this consumer's cost (auditflow's redis-server). */
  readonly helperPid?: number;
  /** A counter that grows while the consumer takes records: drain's events, auditd's log bytes, auditflow's stream length. */
  progress(): Promise<number>;
  /** How long `progress` must stand still before `done` is asked. */
  readonly settleMs: number;
  /**
   * Whether the consumer has taken everything the workload caused, once its progress stood still:
   * `owed` is what the workload's own counts oblige it to (audited syscalls, flows).
   */
  done(owed: Owed): Promise<boolean>;
  /** Give up waiting for `done` after progress stood still this long (records the kernel lost never come). */
  readonly stallMs?: number;
  /** Stops the consumer (it gives the daemon slot back) and gathers its figures. */
  finish(): Promise<ConsumerFigures>;
  /** Stops it at once if still running (after a failure or Ctrl-C); never throws. */
  abort(): Promise<void>;
}
