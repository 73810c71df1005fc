// Numbered flows for the sink tests, and publishing them with the `block` protocol. No vitest here:
// the crash test's child process (spooling-publisher.ts) uses it too.
import type { FlowSink, SinkEntry } from '../../src/sink/types.js';

/** Flow number `i`: its `n` field is how the checks find gaps, duplicates and reordering. */
export const flow = (i: number, extra: Record<string, string> = {}): SinkEntry => ({ kind: 'flow', fields: { v: '1', host: 'host-a', n: String(i), op: 'connect', ...extra } });

/** Publishes flows from..to-1; under `block` a refused flow is offered again once the sink is writable. */
export async function publishAll(sink: FlowSink, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    while (!sink.publish(flow(i))) await sink.writable();
  }
}
