// One flow entry's size is bounded (entry_max_bytes): a bigger one is cut, its longest texts first,
// marked entry_truncated, and reported once with the fields cut, never dropped; the encoder's bytes
// are those of the cut flow, and a real Redis stores them.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundFlow, ENTRY_MIN_BYTES } from '../../../src/daemon/flow-bound.js';
import { FlowEncoder, flowEntry } from '../../../src/daemon/flow-entry.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { decodeEntry, EntryStamper } from '../../../src/sink/entry-bytes.js';
import { encodeXaddBatch } from '../../../src/sink/xadd-command.js';
import { propertyRuns, propertyTimeout } from '../../helpers/property.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { FIXTURE_DIR } from '../pipeline/fixtures.js';

const HOST = 'web-1';
const BASE = (JSON.parse(readFileSync(`${FIXTURE_DIR}connect-tcp4-ok.flows.json`, 'utf8')) as { flows: Flow[] }).flows.find((flow) => flow.op === 'connect') as Flow;

/** The entry's bytes as the bound counts them: every field name and value of flowEntry. */
const entryBytes = (flow: Flow): number => Object.entries(flowEntry(flow, HOST).fields).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);

const big = (over: Partial<Flow> = {}): Flow => ({
  ...structuredClone(BASE),
  argv: ['/usr/bin/big', ...Array.from({ length: 200 }, (_, i) => `${i}`.padEnd(1000, 'a'))],
  parent_argv: ['/bin/sh', 'p'.repeat(300_000)],
  cwd: '/srv',
  ...over,
});

describe('boundFlow', () => {
  it('leaves a flow within the bound as it is, the same object, unmarked', () => {
    const flow = structuredClone(BASE);
    expect(boundFlow(flow, HOST, 64 * 1024)).toEqual({ flow, cut: [] });
    expect(boundFlow(flow, HOST, 64 * 1024).flow).toBe(flow);
  });

  it('cuts the longest texts first until the entry fits, keeps the leading arguments exactly, and says so', () => {
    const flow = big();
    const { flow: cut, cut: fields } = boundFlow(flow, HOST, 64 * 1024);
    expect(entryBytes(flow)).toBeGreaterThan(500_000);
    expect(entryBytes(cut)).toBeLessThanOrEqual(64 * 1024);
    // parent_argv is the longest: emptied of what is over; then argv, cut to fit.
    expect(fields).toEqual(['parent_argv', 'argv']);
    expect(cut).toMatchObject({ entry_truncated: true, argv_truncated: true, parent_argv_truncated: true });
    const kept = cut.argv;
    expect(kept.slice(0, -1)).toEqual(flow.argv.slice(0, kept.length - 1));
    expect(flow.argv[kept.length - 1]?.startsWith(kept[kept.length - 1] as string)).toBe(true);
    // Everything else as it was; the original untouched.
    for (const name of ['exe', 'cwd', 'comm', 'remote_addr', 'remote_port', 'community_id', 'serial', 'ts'] as const) expect(cut[name]).toEqual(flow[name]);
    expect(flow).not.toHaveProperty('entry_truncated');
    expect(flow.argv).toHaveLength(201);
  });

  it('holds at the smallest bound with every long field hostile: escapes, multi-byte and lone surrogates', () => {
    const nasty = '\u0001"\\💥é\uD800'.repeat(20_000);
    const flow = big({ argv: [nasty, nasty], parent_argv: [nasty], exe: nasty, parent_exe: nasty, cwd: nasty, unit: nasty, container_id: nasty, key: nasty, node: nasty });
    const { flow: cut, cut: fields } = boundFlow(flow, HOST, ENTRY_MIN_BYTES);
    expect(entryBytes(cut)).toBeLessThanOrEqual(ENTRY_MIN_BYTES);
    expect(new Set(fields)).toEqual(new Set(['argv', 'parent_argv', 'exe', 'parent_exe', 'cwd', 'unit', 'container_id', 'key', 'node']));
    expect(JSON.parse(JSON.stringify(cut))).toBeTruthy();
  });

  it('fits every bound, for flows of every size (property)', () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 3000 }), fc.constantFrom('', 'x'.repeat(70_000), '\u0000'.repeat(9000), '😀'.repeat(20_000)));
    fc.assert(
      fc.property(fc.integer({ min: ENTRY_MIN_BYTES, max: 200_000 }), fc.array(text, { maxLength: 30 }), fc.option(fc.array(text, { maxLength: 5 }), { nil: null }), text, (max, argv, parentArgv, cwd) => {
        const flow = big({ argv, parent_argv: parentArgv, cwd });
        const bounded = boundFlow(flow, HOST, max);
        expect(entryBytes(bounded.flow)).toBeLessThanOrEqual(max);
        expect(bounded.cut.length > 0).toBe(entryBytes(flow) > max);
        expect(bounded.flow.entry_truncated === true).toBe(bounded.cut.length > 0);
        if (bounded.cut.length === 0) expect(bounded.flow).toBe(flow);
      }),
      { seed: 20261205, numRuns: propertyRuns(100) },
    );
  }, propertyTimeout ?? 60_000);
});

describe('the flow encoder with entry_max_bytes', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('encodes the cut flow, reports each cut once, and a real Redis stores the entry whole', async () => {
    const reported: Array<{ serial: number; fields: string[] }> = [];
    const encoder = new FlowEncoder(HOST, undefined, { maxBytes: 64 * 1024, onCut: (flow, fields) => reported.push({ serial: flow.serial, fields }) });
    const small = structuredClone(BASE);
    const flow = big();
    const stamper = new EntryStamper('2b1a6c8e-0000-4000-8000-000000000003');
    const entries = [small, flow].map((one, i) => stamper.stamp(`1795252393149-${i + 1}`, i + 1, encoder.entry(one)));
    expect(reported).toEqual([{ serial: flow.serial, fields: ['parent_argv', 'argv'] }]);
    const cut = boundFlow(flow, HOST, 64 * 1024).flow;
    expect(decodeEntry(entries[1] as Buffer)?.fields).toMatchObject(flowEntry(cut, HOST).fields);
    expect(decodeEntry(entries[0] as Buffer)?.fields).toMatchObject(flowEntry(small, HOST).fields);

    // The XADDs as the sink sends them, on a plain connection.
    const key = 'bound:flows';
    const command = encodeXaddBatch(key, [], entries).data;
    const replies = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: redis.port }, () => socket.write(command));
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.split('\r\n').length > 4) {
          socket.end();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(replies).toBe('$15\r\n1795252393149-1\r\n$15\r\n1795252393149-2\r\n');
    const client = new Redis({ host: '127.0.0.1', port: redis.port });
    try {
      const [[, stored] = ['', []]] = (await client.xrange(key, '1795252393149-2', '1795252393149-2')) as Array<[string, string[]]>;
      const fields = Object.fromEntries(Array.from({ length: stored.length / 2 }, (_, i) => [stored[2 * i], stored[2 * i + 1]]));
      expect(fields).toMatchObject({ kind: 'flow', entry_truncated: 'true', argv_truncated: 'true', parent_argv_truncated: 'true', argv: JSON.stringify(cut.argv) });
      expect(stored.reduce((sum, part) => sum + Buffer.byteLength(part), 0)).toBeLessThanOrEqual(64 * 1024 + 200);
    } finally {
      client.disconnect();
    }
  });
});
