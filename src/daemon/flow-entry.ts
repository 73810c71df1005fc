// A flow as stream fields. Redis stream entries are flat string maps: numbers become decimal text,
// booleans `true`/`false`, lists (argv) JSON arrays, and a null field is left out (a consumer reads a
// missing field as null), which keeps entries small. docs/flows.md documents this mapping.
//
// Two forms of the same fields, in the same order (the schema's, src/schema/entries.ts): `flowEntry`
// as a string map (the JSON lines of `--stdout`), and `FlowEncoder`, which writes them straight into
// the RESP bytes the Redis sink sends (docs/sink.md, "Encoding"): each field name's `$len\r\nname\r\n`
// made once, the process's fields kept as one ready block per process, values that come back kept as
// ready bytes, numbers written as digits without a string.
import type { Flow } from '../pipeline/flow.js';
import { FLOW_FIELDS } from '../schema/entries.js';
import { BulkCache, bulkBytes, type EncodableEntry, type RespWriter, type SinkEntry } from '../sink/index.js';
import { boundFlow } from './flow-bound.js';

/** A flow's fields in the schema's order; `kind` is the sink's envelope. */
const ORDER: ReadonlyArray<keyof Flow> = (Object.keys(FLOW_FIELDS) as Array<keyof Flow>).filter((name) => name !== 'kind');
/**
 * The process's fields, from `pid` to `labels` in the schema: the same for every flow of one process
 * (they change when it execs, or its context is read), written as one block (FlowEncoder.writeProcess).
 */
const PROCESS_FIRST = ORDER.indexOf('pid');
const PROCESS_END = ORDER.indexOf('labels') + 1;
/** Processes whose block is kept, at most; the one written longest ago goes first. */
const MAX_BLOCKS = 4096;

/** entry_max_bytes: an entry over it is cut (flow-bound.ts), and `onCut` hears of it. */
export interface EntryBound {
  maxBytes: number;
  /** The flow as it came, and the fields cut from it. */
  onCut: (flow: Flow, fields: string[]) => void;
}

export function flowEntry(flow: Flow, host: string): SinkEntry {
  const fields: Record<string, string> = { host };
  for (const name of ORDER) {
    const value = flow[name];
    if (value === null || value === undefined) continue;
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
  name: keyof Flow;
  /** `$len\r\nname\r\n`. */
  header: Buffer;
  cached: boolean;
}

/** One process's fields as written last: their values, and the bytes and pairs they gave. */
interface ProcessBlock {
  values: unknown[];
  bytes: Buffer;
  pairs: number;
}

const SPECS: readonly FieldSpec[] = ORDER.map((name) => ({ name, header: bulkBytes(name), cached: CACHED_FIELDS.has(name) }));

type WriteField = (spec: FieldSpec, value: unknown, out: RespWriter) => void;
/** Writes the fields with a value of a range of SPECS with `write`; returns how many. */
type WriteFields = (flow: Flow, out: RespWriter, write: WriteField) => number;

// The field loops below are made once, as code with one property load per field (`flow["ts"]`). A loop
// over the names with `flow[name]` is a keyed load of a different name each time, which V8 answers
// from its megamorphic cache: measured (profile of 200,000 encodes), those loads were half of
// encoding. for...in was fast, but goes in the order the flow's fields were added, not the schema's.
// The code is made from the schema's own field names, never from input.
const access = (i: number): string => `flow[${JSON.stringify((SPECS[i] as FieldSpec).name)}]`;

function compileWriteFields(from: number, to: number): WriteFields {
  const body: string[] = ['let pairs = 0, v;'];
  for (let i = from; i < to; i++) body.push(`v = ${access(i)}; if (v !== null && v !== undefined) { write(S[${i}], v, out); pairs++; }`);
  body.push('return pairs;');
  return new Function('S', `return function writeFields(flow, out, write) {\n${body.join('\n')}\n};`)(SPECS) as WriteFields;
}

/** The process's values of a flow, in SPECS order from PROCESS_FIRST. */
const processValues = new Function(`return function processValues(flow) { return [${Array.from({ length: PROCESS_END - PROCESS_FIRST }, (_, i) => access(PROCESS_FIRST + i)).join(', ')}]; };`)() as (flow: Flow) => unknown[];

/** Whether a flow's process values are `values`: lists (argv, labels) element by element when not the same array. */
const sameProcess = new Function(
  'same',
  `return function sameProcess(values, flow) { let v; ${Array.from({ length: PROCESS_END - PROCESS_FIRST }, (_, i) => `v = ${access(PROCESS_FIRST + i)}; if (v !== values[${i}] && !same(v, values[${i}])) return false;`).join(' ')} return true; };`,
)(sameList) as (values: readonly unknown[], flow: Flow) => boolean;

function sameList(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const writeHead = compileWriteFields(0, PROCESS_FIRST);
const writeProcessFields = compileWriteFields(PROCESS_FIRST, PROCESS_END);
const writeTail = compileWriteFields(PROCESS_END, SPECS.length);

export class FlowEncoder {
  private readonly lists = new WeakMap<object, Buffer>();
  private readonly blocks = new Map<number, ProcessBlock>();
  private readonly hostPair: Buffer;
  private readonly write: WriteField = (spec, value, out) => this.writeField(spec, value, out);

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
    return 1 + writeHead(flow, out, this.write) + this.writeProcess(flow, out) + writeTail(flow, out, this.write);
  }

  /**
   * The process's fields: the bytes written last for its pid when every value is the same (strings
   * and lists equal), else written anew and kept. A flow without a pid has its fields written one by one.
   */
  private writeProcess(flow: Flow, out: RespWriter): number {
    const pid = flow.pid;
    if (pid === null) return writeProcessFields(flow, out, this.write);
    const block = this.blocks.get(pid);
    if (block !== undefined && sameProcess(block.values, flow)) {
      out.raw(block.bytes);
      return block.pairs;
    }
    const mark = out.written;
    const pairs = writeProcessFields(flow, out, this.write);
    this.blocks.delete(pid);
    this.blocks.set(pid, { values: processValues(flow), bytes: out.since(mark), pairs });
    if (this.blocks.size > MAX_BLOCKS) this.blocks.delete(this.blocks.keys().next().value as number);
    return pairs;
  }

  /** One field with a value: its name, then its value as flowEntry writes it. */
  private writeField(spec: FieldSpec, value: unknown, out: RespWriter): void {
    out.raw(spec.header);
    if (typeof value === 'number') {
      out.bulkNumber(value);
      return;
    }
    if (typeof value === 'boolean') {
      out.raw(value ? TRUE : FALSE);
      return;
    }
    if (typeof value === 'object' && value !== null && spec.cached) {
      this.writeList(value, out);
      return;
    }
    const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    const ready = spec.cached ? this.cache.get(text) : undefined;
    if (ready === undefined) out.bulk(text);
    else out.raw(ready);
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

}

class FlowEntry implements EncodableEntry {
  readonly kind = 'flow';
  readonly eventMs: number;

  constructor(
    private readonly encoder: FlowEncoder,
    private readonly flow: Flow,
  ) {
    this.eventMs = flow.last_ts;
  }

  encode(out: RespWriter): number {
    return this.encoder.encode(this.flow, out);
  }

  toFields(): Record<string, string> {
    return flowEntry(this.flow, this.encoder.host).fields;
  }
}
