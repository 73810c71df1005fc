// The flow encoder against the path it replaced: flowEntry's string map, the sink's envelope in front
// (kind, boot_id, seq), and the XADD as ioredis itself encodes it. Byte for byte, on every flow of every
// captured fixture and on generated flows with hostile strings; and again from the cache's ready bytes.
import fc from 'fast-check';
import { Command } from 'ioredis';
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FlowEncoder, flowEntry } from '../../../src/daemon/flow-entry.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { BulkCache } from '../../../src/sink/bulk-cache.js';
import { decodeEntry, EntryStamper } from '../../../src/sink/entry-bytes.js';
import { RespWriter } from '../../../src/sink/resp-writer.js';
import { StdoutJsonlSink } from '../../../src/sink/stdout-jsonl-sink.js';
import { encodeXaddBatch } from '../../../src/sink/xadd-command.js';
import { propertyRuns, propertyTimeout } from '../../helpers/property.js';
import { FIXTURE_DIR } from '../pipeline/fixtures.js';

const BOOT = '2b1a6c8e-0000-4000-8000-000000000003';
const KEY = 'auditflow:{web-1}:flows';
const TRIMS: Array<Array<string | number>> = [[], ['MAXLEN', '~', 100000], ['MINID', '~', '1795252393000-0']];

function fixtureFlows(): Flow[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.flows.json'))
    .sort()
    .flatMap((name) => (JSON.parse(readFileSync(FIXTURE_DIR + name, 'utf8')) as { flows: Flow[] }).flows);
}

/** The bytes before this change: flowEntry, the sink's envelope copy, ioredis's own XADD encoding. */
function oldXadd(flow: Flow, host: string, id: string, seq: number, trim: ReadonlyArray<string | number>): Buffer {
  const own = flowEntry(flow, host).fields;
  const fields: Record<string, string> = { kind: 'flow', boot_id: BOOT, seq: String(seq) };
  for (const name in own) if (name !== 'kind' && name !== 'boot_id' && name !== 'seq') fields[name] = own[name] as string;
  const written = new Command('xadd', [KEY, ...trim, id, ...Object.entries(fields).flat()]).toWritable({});
  return typeof written === 'string' ? Buffer.from(written, 'utf8') : written;
}

/** Encodes every flow with one encoder and one writer (as the sink does) and compares each with the old bytes. */
function expectSameBytes(flows: readonly Flow[], encoder: FlowEncoder, host: string): void {
  const stamper = new EntryStamper(BOOT, new RespWriter());
  flows.forEach((flow, index) => {
    const id = `1795252393149-${index}`;
    const bytes = stamper.stamp(id, index + 1, encoder.entry(flow));
    const trim = TRIMS[index % TRIMS.length] as Array<string | number>;
    const fresh = encodeXaddBatch(KEY, trim, [bytes]).data;
    const expected = oldXadd(flow, host, id, index + 1, trim);
    if (!fresh.equals(expected)) expect(fresh.toString('latin1')).toBe(expected.toString('latin1'));
  });
}

// Strings a process can put in its exe, argv, cwd or unit name: quotes, CR/LF, multi-byte UTF-8, the
// replacement character invalid UTF-8 decodes to, lone surrogates (encoded as U+FFFD, as Buffer.from
// does), empty, and long ones past the writer's 64 KiB slab and the cache's 16 KiB value limit.
const hostile = fc.oneof(
  { arbitrary: fc.constantFrom('', '"', '\\', '\r\n', '$3\r\nfoo\r\n', '*2\r\n', 'exämple', '💥', '\uFFFD', '\uD800', 'a\uDC00b', '\u0000'), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.constantFrom(16 * 1024 + 1, 70 * 1024).map((n) => 'é'.repeat(n / 2)), weight: 1 },
);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 3 });
const number = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.maxSafeNat(), fc.constantFrom(0, -0, 1795252393149, 4294967295, 1.5, -2.25, 1e21, Number.MAX_SAFE_INTEGER));

function generatedFlow(base: Flow): fc.Arbitrary<Flow> {
  return fc
    .record({
      node: maybe(hostile),
      ts: number,
      serial: number,
      pid: maybe(number),
      remote_port: maybe(number),
      ipv4_mapped: fc.boolean(),
      proc_gone: maybe(fc.boolean()),
      comm: maybe(hostile),
      exe: maybe(hostile),
      argv: fc.array(hostile, { maxLength: 4 }),
      cwd: maybe(hostile),
      user: maybe(hostile),
      parent_argv: maybe(fc.array(hostile, { maxLength: 3 })),
      container_id: maybe(hostile),
      unit: maybe(hostile),
      labels: fc.array(hostile, { maxLength: 3 }),
      key: maybe(hostile),
    })
    .map((changes) => ({ ...base, ...changes }));
}

describe('the flow encoder', () => {
  const flows = fixtureFlows();

  it('gives the bytes flowEntry and the XADD encoding gave, for every fixture flow, twice (the second time from the cache)', () => {
    expect(flows.length).toBeGreaterThan(30);
    const encoder = new FlowEncoder('web-1');
    expectSameBytes(flows, encoder, 'web-1');
    const misses = encoder.cache.misses;
    expectSameBytes(flows, encoder, 'web-1');
    expect(encoder.cache.misses).toBe(misses);
    expect(encoder.cache.hits).toBeGreaterThan(flows.length);
  });

  it('gives the same bytes for generated flows with hostile strings and odd numbers, whatever the cache holds', () => {
    const bases = fc.constantFrom(...flows);
    const tiny = new FlowEncoder('h\u00e9\r\n', new BulkCache({ entries: 3, bytes: 200, maxValueBytes: 64 }));
    const roomy = new FlowEncoder('h\u00e9\r\n');
    fc.assert(
      fc.property(fc.array(bases.chain(generatedFlow), { minLength: 1, maxLength: 4 }), (generated) => {
        expectSameBytes(generated, tiny, 'h\u00e9\r\n');
        expectSameBytes(generated, roomy, 'h\u00e9\r\n');
      }),
      { seed: 20261205, numRuns: propertyRuns(100) },
    );
    expect(tiny.cache.size).toBeLessThanOrEqual(3);
    expect(tiny.cache.byteSize).toBeLessThanOrEqual(200);
  }, propertyTimeout ?? 60_000);

  it("writes a process's fields again when one of them changed for its pid (an exec, a context read, a pid reused)", () => {
    const encoder = new FlowEncoder('web-1');
    const base = flows.find((f) => f.op === 'connect' && f.pid !== null) as Flow;
    const sequence: Flow[] = [
      base,
      { ...base, serial: base.serial + 1 },
      { ...base, exe: '/usr/bin/other', comm: 'other' },
      { ...base, argv: [...base.argv, '--more'] },
      { ...base, proc_gone: !base.proc_gone, cwd: null },
      { ...base, container_id: 'c0ffee', labels: ['web'] },
      { ...base, key: 'another-key', fd: 99 },
      base,
      { ...base, pid: null },
    ];
    expectSameBytes(sequence, encoder, 'web-1');
    expectSameBytes([...sequence].reverse(), encoder, 'web-1');
  });

  it('leaves nulls out, and decodes back to the envelope and flowEntry fields in order', () => {
    const flow = flows.find((f) => f.op === 'connect' && f.result !== 'ok') as Flow;
    const bytes = new EntryStamper(BOOT).stamp('1795252393149-4', 9, new FlowEncoder('web-1').entry(flow));
    const decoded = decodeEntry(bytes);
    expect(decoded?.id).toBe('1795252393149-4');
    expect(Object.entries(decoded?.fields ?? {})).toEqual([['kind', 'flow'], ['boot_id', BOOT], ['seq', '9'], ...Object.entries(flowEntry(flow, 'web-1').fields)]);
    for (const [name, value] of Object.entries(flow)) if (value === null) expect(decoded?.fields).not.toHaveProperty(name);
  });

  it('gives --stdout the same JSON line as the string map did', async () => {
    const lines = async (publish: (sink: StdoutJsonlSink) => void): Promise<string> => {
      const output = new PassThrough();
      const chunks: Buffer[] = [];
      output.on('data', (chunk: Buffer) => chunks.push(chunk));
      const sink = new StdoutJsonlSink({ bootId: BOOT, output });
      publish(sink);
      await sink.close();
      return Buffer.concat(chunks).toString('utf8');
    };
    const encoder = new FlowEncoder('web-1');
    const viaEncoder = await lines((sink) => flows.forEach((flow) => sink.publish(encoder.entry(flow))));
    const viaMap = await lines((sink) => flows.forEach((flow) => sink.publish(flowEntry(flow, 'web-1'))));
    expect(viaEncoder).toBe(viaMap);
    expect(viaEncoder.split('\n')).toHaveLength(flows.length + 1);
  });
});
