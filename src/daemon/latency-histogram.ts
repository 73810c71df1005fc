// The time from a kernel event to the daemon handing its flow entry to the sink, as a Prometheus
// histogram. The event's time is the audit record's timestamp (CLOCK_REALTIME, millisecond resolution,
// the `audit(SECONDS.MILLIS:SERIAL)` of the record), so the smallest bucket is 1 ms. For a sendto/sendmsg
// flow aggregated over a window it is the window's last event: the window is a setting, not a delay.

/** Upper bounds in seconds, 1 ms to 10 s: a healthy daemon sits in the first few, a stalled sink in the last. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface HistogramSnapshot {
  /** Upper bounds, ascending, without +Inf. */
  bounds: readonly number[];
  /** Cumulative counts per bound (observations <= bound), as Prometheus exposes them. */
  cumulative: number[];
  count: number;
  sum: number;
}

export class LatencyHistogram {
  private readonly perBucket: number[];
  private count = 0;
  private sum = 0;

  constructor(private readonly bounds: readonly number[] = LATENCY_BUCKETS_SECONDS) {
    this.perBucket = new Array<number>(bounds.length + 1).fill(0);
  }

  /**
   * One entry accepted at `nowMs` for an event of `eventMs` (both ms since the epoch). A negative
   * difference (the wall clock stepped back) counts as 0 rather than corrupting the sum.
   */
  observe(eventMs: number, nowMs: number): void {
    const seconds = Math.max(0, nowMs - eventMs) / 1000;
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] ?? Infinity)) i++;
    this.perBucket[i] = (this.perBucket[i] ?? 0) + 1;
    this.count++;
    this.sum += seconds;
  }

  snapshot(): HistogramSnapshot {
    let running = 0;
    const cumulative = this.bounds.map((_, i) => (running += this.perBucket[i] ?? 0));
    return { bounds: this.bounds, cumulative, count: this.count, sum: this.sum };
  }
}
