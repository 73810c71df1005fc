// A flow as stream fields. Redis stream entries are flat string maps: numbers become decimal text,
// booleans `true`/`false`, lists (argv) JSON arrays, and a null field is left out (a consumer reads a
// missing field as null), which keeps entries small. docs/flows.md documents this mapping.
//
// Two forms of the same fields, in the same order: `flowEntry` as a string map (the JSON lines of
// `--stdout`), and `FlowEncoder`, which writes them straight into the RESP bytes the Redis sink sends
// (docs/sink.md, "Encoding"): each field name's `$len\r\nname\r\n` made once, a process's exe, argv,
// user, container... kept as ready bytes and copied, numbers written as digits without a string.
import type { Flow } from '../pipeline/flow.js';
import { BulkCache, bulkBytes, type EncodableEntry, type RespWriter, type SinkEntry } from '../sink/index.js';
import { boundFlow } from './flow-bound.js';

/** entry_max_bytes: an entry over it is cut (flow-bound.ts), and `onCut` hears of it. */
export interface EntryBound {
  maxBytes: number;
  /** The flow as it came, and the fields cut from it. */
  onCut: (flow: Flow, fields: string[]) => void;
}

export function flowEntry(flow: Flow, host: string): SinkEntry {
  const fields: Record<string, string> = { host };
  // for...in, not Object.entries: this runs once per flow, and the pairs array was a third of its cost.
  for (const name in flow) {
    const value = flow[name as keyof Flow];
    if (name === 'kind' || value === null || value === undefined) continue;
    fields[name] = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return { kind: 'flow', fields };
}

/**
 * Values that are the same for every flow of one process (or take a handful of values): their bytes
 * are cached. Addresses, ports, times and the Community ID change from flow to flow and are not.
 */
const CACHED_FIELDS: ReadonlySet<string> = new Set([
  'exe',
  'comm',
  'argv',
  'cwd',
  'user',
  'auser',
  'euser',
  'group',
  'tty',
  'parent_exe',
  'parent_comm',
  'parent_argv',
  'container_id',
  'container_runtime',
  'pod_uid',
  'unit',
  'labels',
  'node',
  'key',
  'op',
  'syscall',
  'direction',
  'result',
  'family',
  'proto',
]);

const TRUE = bulkBytes('true');
const FALSE = bulkBytes('false');

interface FieldSpec {
  /** `$len\r\nname\r\n`. */
  header: Buffer;
  cached: boolean;
}

export class FlowEncoder {
  private readonly specs = new Map<string, FieldSpec>();
  private readonly lists = new WeakMap<object, Buffer>();
  private readonly hostPair: Buffer;

  constructor(
    readonly host: string,
    readonly cache: BulkCache = new BulkCache(),
    private readonly bound?: EntryBound,
  ) {
    this.hostPair = Buffer.concat([bulkBytes('host'), bulkBytes(host)]);
  }

  /** The flow as an entry for `FlowSink.publish`, cut to the bound if it has one: encoded when the sink takes it. */
  entry(flow: Flow): EncodableEntry {
    if (this.bound === undefined) return new FlowEntry(this, flow);
    const bounded = boundFlow(flow, this.host, this.bound.maxBytes);
    if (bounded.cut.length > 0) this.bound.onCut(flow, bounded.cut);
    return new FlowEntry(this, bounded.flow);
  }

  /** Writes the flow's fields as `flowEntry` gives them, after the sink's envelope; returns the pairs written. */
  encode(flow: Flow, out: RespWriter): number {
    out.raw(this.hostPair);
    let pairs = 1;
    for (const name in flow) {
      const value = flow[name as keyof Flow];
      // kind is the envelope's (the sink writes it); boot_id and seq would be too, were a flow to carry them.
      if (value === null || value === undefined || name === 'kind' || name === 'boot_id' || name === 'seq') continue;
      const spec = this.specs.get(name) ?? this.addSpec(name);
      out.raw(spec.header);
      pairs++;
      if (typeof value === 'number') {
        out.bulkNumber(value);
        continue;
      }
      if (typeof value === 'boolean') {
        out.raw(value ? TRUE : FALSE);
        continue;
      }
      if (typeof value === 'object' && spec.cached) {
        this.writeList(value, out);
        continue;
      }
      const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
      const ready = spec.cached ? this.cache.get(text) : undefined;
      if (ready === undefined) out.bulk(text);
      else out.raw(ready);
    }
    return pairs;
  }

  /**
   * A list (argv, parent_argv, labels) as JSON. One process's flows share the array itself (the
   * pipeline's PROCTITLE memo, the resolver's cache), so its bytes are found by identity, without
   * writing the JSON again; they live as long as the array does.
   */
  private writeList(list: object, out: RespWriter): void {
    let ready = this.lists.get(list);
    if (ready === undefined) {
      const text = JSON.stringify(list);
      ready = this.cache.get(text);
      if (ready === undefined) {
        out.bulk(text);
        return;
      }
      this.lists.set(list, ready);
    }
    out.raw(ready);
  }

  /** Field names are the flow schema's: a fixed, small set. */
  private addSpec(name: string): FieldSpec {
    const spec = { header: bulkBytes(name), cached: CACHED_FIELDS.has(name) };
    this.specs.set(name, spec);
    return spec;
  }
}

class FlowEntry implements EncodableEntry {
  readonly kind = 'flow';

  constructor(
    private readonly encoder: FlowEncoder,
    private readonly flow: Flow,
  ) {}

  encode(out: RespWriter): number {
    return this.encoder.encode(this.flow, out);
  }

  toFields(): Record<string, string> {
    return flowEntry(this.flow, this.encoder.host).fields;
  }
}
