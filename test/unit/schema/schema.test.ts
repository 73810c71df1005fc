// One typed schema: the committed JSON Schema and docs tables are what the code makes; replay, the
// stdout sink (run --stdout) and the stream read back (tail --json) give the same object for the same
// flow, and every object any of them prints validates against docs/flow.schema.json.
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { replay } from '../../../src/cli/replay.js';
import { formatJsonLine } from '../../../src/cli/tail-format.js';
import { FlowEncoder, flowEntry } from '../../../src/daemon/flow-entry.js';
import { stdoutRender } from '../../../src/daemon/open-sink.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { generatedBlocks, withBlock } from '../../../src/schema/docs.js';
import { FLOW_FIELDS } from '../../../src/schema/entries.js';
import { isOptional } from '../../../src/schema/field.js';
import { entrySchema, schemaText, validate, type JsonSchema } from '../../../src/schema/json-schema.js';
import { typedEntry, typedFlow } from '../../../src/schema/typed.js';
import { decodeEntry, EntryStamper } from '../../../src/sink/entry-bytes.js';
import { lifecycleEntry, lossEntry } from '../../../src/sink/entries.js';
import { StdoutJsonlSink } from '../../../src/sink/stdout-jsonl-sink.js';
import type { EncodableEntry, SinkEntry } from '../../../src/sink/types.js';
import { fixtureLines, fixtureNames, runLogLines } from '../pipeline/fixtures.js';

const ROOT = new URL('../../../', import.meta.url);
const SCHEMA = JSON.parse(readFileSync(new URL('docs/flow.schema.json', ROOT), 'utf8')) as JsonSchema;
const BOOT = '2b1a6c8e-0000-4000-8000-000000000003';

/** Every fixture's log text, and its flows as the pipeline gives them (with AF_UNIX ones kept too). */
const fixtures = fixtureNames().map((name) => ({ name, lines: fixtureLines(name), flows: runLogLines(fixtureLines(name), { families: 'all' }).flows }));
const allFlows = fixtures.flatMap((f) => f.flows);

async function replayLines(lines: string[]): Promise<string[]> {
  const out = new PassThrough();
  let written = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  await replay([{ name: 'log', open: () => Readable.from([lines.join('\n') + '\n']) }], out, { allFamilies: true });
  return written.split('\n').filter(Boolean);
}

async function stdoutLines(entries: Array<SinkEntry | EncodableEntry>): Promise<string[]> {
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const sink = new StdoutJsonlSink({ bootId: BOOT, output, render: stdoutRender('native') });
  for (const entry of entries) sink.publish(entry);
  await sink.close();
  return written.split('\n').filter(Boolean);
}

const withoutEnvelope = (object: Record<string, unknown>): Record<string, unknown> => {
  const { id: _id, boot_id: _boot, seq: _seq, host: _host, ...rest } = object;
  return rest;
};

describe('the committed schema files', () => {
  it('docs/flow.schema.json is what the code makes (npm run schema writes it)', () => {
    expect(readFileSync(new URL('docs/flow.schema.json', ROOT), 'utf8')).toBe(schemaText());
  });

  it('the generated tables of docs/flows.md and docs/formats.md are what the code makes', () => {
    for (const block of generatedBlocks()) {
      const committed = readFileSync(new URL(block.file, ROOT), 'utf8');
      expect(withBlock(committed, block), `${block.file}: ${block.name}`).toBe(committed);
    }
  });

  it('lists every flow field with its type, and requires all but the markers', () => {
    const flow = (entrySchema().$defs as Record<string, JsonSchema>).flow as JsonSchema;
    expect(Object.keys(flow.properties as object)).toEqual(['id', 'kind', 'boot_id', 'seq', 'host', ...Object.keys(FLOW_FIELDS).filter((name) => name !== 'kind')]);
    expect(flow.required).not.toContain('argv_truncated');
    expect(flow.required).toContain('proc_gone');
    expect((flow.properties as Record<string, JsonSchema>).pid).toMatchObject({ type: ['integer', 'null'] });
    expect((flow.properties as Record<string, JsonSchema>).argv).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect((flow.properties as Record<string, JsonSchema>).op).toMatchObject({ type: 'string', enum: ['connect', 'accept', 'bind', 'sendto', 'sendmsg', 'recvfrom', 'recvmsg', 'packet', 'close', 'existing'] });
    expect(flow.required).not.toContain('bytes_out');
    expect((flow.properties as Record<string, JsonSchema>).via).toMatchObject({ type: ['string', 'null'], enum: ['syscall', 'io_uring', null] });
  });
});

describe('one typed flow from every command', () => {
  it('captures flows of every op, family and result to check', () => {
    // close and existing come from sock_diag, not from audit records (test/unit/pipeline/flow-ends.test.ts).
    const auditOps = Object.keys(FLOW_FIELDS.op.values ?? {}).filter((op) => op !== 'close' && op !== 'existing');
    expect(new Set(allFlows.map((f) => f.op))).toEqual(new Set(auditOps));
    expect(new Set(allFlows.map((f) => f.direction))).toEqual(new Set(['egress', 'ingress', 'listen']));
    expect(new Set(allFlows.map((f) => f.via))).toEqual(new Set(['syscall', 'io_uring', null]));
    expect(new Set(allFlows.map((f) => f.family))).toEqual(expect.objectContaining(new Set(['inet', 'inet6'])) as Set<string>);
    expect(allFlows.some((f) => f.result !== 'ok')).toBe(true);
  });

  it('replay prints, for every fixture, the typed flows: numbers as numbers, argv as an array, every field, nulls', async () => {
    for (const { name, lines, flows } of fixtures) {
      const printed = await replayLines(lines);
      expect(printed, name).toEqual(flows.map((flow) => JSON.stringify(typedFlow(flow))));
      for (const line of printed) {
        const object = JSON.parse(line) as Record<string, unknown>;
        expect(validate(object, SCHEMA), `${name}: ${line}`).toEqual([]);
        // Every field but the markers, which are there only when what they mark happened, and the
        // optional fields, there only on the entries they apply to (none of a replayed syscall).
        expect(Object.keys(object)).toEqual(['kind', ...Object.entries(FLOW_FIELDS).filter(([n, field]) => n !== 'kind' && !isOptional(field)).map(([n]) => n)]);
        expect(typeof object.ts).toBe('number');
        expect(Array.isArray(object.argv)).toBe(true);
      }
    }
  });

  it('run --stdout prints the same flow as replay, after its envelope, line for line', async () => {
    const encoder = new FlowEncoder('web-1');
    const lines = await stdoutLines(allFlows.map((flow) => encoder.entry(flow)));
    expect(lines).toHaveLength(allFlows.length);
    lines.forEach((line, i) => {
      const object = JSON.parse(line) as Record<string, unknown>;
      expect(validate(object, SCHEMA)).toEqual([]);
      expect(object).toMatchObject({ kind: 'flow', boot_id: BOOT, seq: i + 1, host: 'web-1' });
      expect(JSON.stringify(withoutEnvelope(object))).toBe(JSON.stringify(typedFlow(allFlows[i] as Flow)));
    });
  });

  it('the stream entry read back with typedEntry (tail --json) is the same flow, with its id', () => {
    const stamper = new EntryStamper(BOOT);
    const encoder = new FlowEncoder('web-1');
    allFlows.forEach((flow, i) => {
      const decoded = decodeEntry(stamper.stamp(`1795252393149-${i}`, i + 1, encoder.entry(flow)));
      const fields = decoded?.fields ?? {};
      expect(Object.values(fields).every((value) => typeof value === 'string')).toBe(true);
      const typed = typedEntry(fields, decoded?.id);
      expect(validate(typed, SCHEMA)).toEqual([]);
      expect(typed).toMatchObject({ id: `1795252393149-${i}`, kind: 'flow', boot_id: BOOT, seq: i + 1, host: 'web-1' });
      expect(JSON.stringify(withoutEnvelope(typed))).toBe(JSON.stringify(typedFlow(flow)));
      const line = formatJsonLine({ id: decoded?.id ?? '', fields: Object.entries(fields).map(([n, v]) => [n, Buffer.from(v)]) });
      expect(JSON.parse(line)).toEqual(typed);
    });
  });

  it('keeps markers only when set, and the flat map without nulls', () => {
    const base = allFlows.find((f) => f.op === 'connect') as Flow;
    const marked: Flow = { ...base, argv_truncated: true, proc_gone: true };
    const flat = flowEntry(marked, 'h').fields;
    expect(flat.argv_truncated).toBe('true');
    expect(flat).not.toHaveProperty('parent_argv_truncated');
    const typed = typedEntry({ kind: 'flow', ...flat });
    expect(typed).toMatchObject({ argv_truncated: true, proc_gone: true, cwd: null });
    expect(typed).not.toHaveProperty('parent_argv_truncated');
    expect(validate(typed, SCHEMA)).toEqual([]);
  });
});

describe('loss and lifecycle entries', () => {
  const loss = lossEntry({ reason: 'serial_gap', count: 3, firstTs: 1795252599301, lastTs: 1795252600301, host: 'web-1', firstSerial: 10, lastSerial: 12 });
  const lifecycle = lifecycleEntry({ event: 'stop', host: 'web-1', ts: 1795252599301, version: '0.1.0', pid: 4242, reason: 'SIGTERM' });

  it('print typed through run --stdout, with null for what a loss does not know', async () => {
    const lines = await stdoutLines([loss, lossEntry({ reason: 'spool_full', count: 1, firstTs: 5, lastTs: 5, host: 'web-1' }), lifecycle]);
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const object of objects) expect(validate(object, SCHEMA)).toEqual([]);
    expect(objects[0]).toEqual({ kind: 'loss', boot_id: BOOT, seq: 1, host: 'web-1', v: 1, reason: 'serial_gap', count: 3, first_ts: 1795252599301, last_ts: 1795252600301, first_serial: 10, last_serial: 12, detail: null });
    expect(objects[1]).toMatchObject({ first_serial: null, last_serial: null, detail: null });
    expect(objects[2]).toEqual({ kind: 'lifecycle', boot_id: BOOT, seq: 3, host: 'web-1', v: 1, event: 'stop', ts: 1795252599301, version: '0.1.0', pid: 4242, reason: 'SIGTERM', mode: null, down_since: null });
  });

  it('types the fields the daemon adds to its start entry (mode, down_since)', async () => {
    const start = lifecycleEntry({ event: 'start', host: 'web-1', ts: 5, version: '0.1.0', pid: 42 });
    start.fields.mode = 'multicast';
    start.fields.down_since = '3';
    const [line] = await stdoutLines([start]);
    const object = JSON.parse(line ?? '') as Record<string, unknown>;
    expect(validate(object, SCHEMA)).toEqual([]);
    expect(object).toMatchObject({ event: 'start', reason: null, mode: 'multicast', down_since: 3 });
  });
});

describe('typedEntry on entries it was not made for', () => {
  it('keeps a field it does not know, and a value that is not of its type, as strings, which the schema then refuses', () => {
    const typed = typedEntry({ kind: 'loss', v: '1', host: 'h', reason: 'x', count: 'many', first_ts: '1', last_ts: '2', newer_field: 'yes' });
    expect(typed).toMatchObject({ count: 'many', newer_field: 'yes', first_serial: null });
    expect(validate(typed, SCHEMA).join('\n')).toMatch(/count.*not of type integer[\s\S]*newer_field/);
  });

  it('passes an entry of an unknown kind through as strings, and an entry without fields as its id', () => {
    expect(typedEntry({ kind: 'future', seq: '4', a: '1' }, '1-0')).toEqual({ id: '1-0', kind: 'future', seq: 4, a: '1' });
    expect(typedEntry({}, '1-0')).toEqual({ id: '1-0' });
  });
});

describe('the validator', () => {
  const flow = typedFlow(allFlows[0] as Flow);

  it('refuses the flat strings the stdout sink printed before, a missing field, an unknown one and a false marker', () => {
    expect(validate({ ...flow, pid: '27327' }, SCHEMA)).not.toEqual([]);
    expect(validate({ ...flow, argv: '["python3"]' }, SCHEMA)).not.toEqual([]);
    const { cwd: _cwd, ...missing } = flow;
    expect(validate(missing, SCHEMA)).not.toEqual([]);
    expect(validate({ ...flow, extra: 1 }, SCHEMA)).not.toEqual([]);
    expect(validate({ ...flow, argv_truncated: false }, SCHEMA)).not.toEqual([]);
    expect(validate({ ...flow, op: 'listen' }, SCHEMA)).not.toEqual([]);
    expect(validate({ ...flow, kind: 'loss' }, SCHEMA)).not.toEqual([]);
    expect(validate({ ...flow, ts: 1.5 }, SCHEMA)).not.toEqual([]);
  });

  it('fails loudly on a keyword it does not implement, rather than passing everything', () => {
    expect(() => validate(1, { minimum: 2 })).toThrow(/minimum/);
  });
});
