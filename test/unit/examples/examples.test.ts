// examples/: the Node and Python consumers read a real redis-server's stream as a consumer group,
// print the typed entries (the same objects typedEntry gives, valid against docs/flow.schema.json),
// report the loss entries and acknowledge everything; the jq one filters `auditflow tail --json`.
// They run as child processes, as a user would run them (dist/ is built by `npm test` first).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowEntry } from '../../../src/daemon/flow-entry.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { typedEntry } from '../../../src/schema/typed.js';
import { lifecycleEntry, lossEntry } from '../../../src/sink/entries.js';
import { run } from '../../helpers/child.js';
import { expectValidEntries } from '../../helpers/entry-schema.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { fixtureLines, runLogLines } from '../pipeline/fixtures.js';

const example = (name: string): string => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const STREAM = 'auditflow:{web-1}:flows';

let redis: RedisServer;
let admin: Redis;
/** What was added, as typedEntry reads it back: the expected output of every consumer. */
const added: Array<Record<string, unknown>> = [];

async function add(kind: string, fields: Record<string, string>): Promise<void> {
  const flat = { kind, boot_id: 'b1', seq: String(added.length + 1), ...fields };
  const id = (await admin.xadd(STREAM, '*', ...Object.entries(flat).flat())) as string;
  added.push(typedEntry(flat, id));
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: '127.0.0.1', port: redis.port });
  const flows = runLogLines(fixtureLines('accept-peer')).flows;
  const withContext: Flow = { ...(flows[1] as Flow), cwd: '/srv', proc_gone: false, labels: ['web'], argv_truncated: true };
  for (const flow of [flows[0] as Flow, withContext]) await add('flow', flowEntry(flow, 'web-1').fields);
  await add('loss', lossEntry({ reason: 'serial_gap', count: 3, firstTs: 1795252599301, lastTs: 1795252600301, host: 'web-1', firstSerial: 10, lastSerial: 12 }).fields);
  const start = lifecycleEntry({ event: 'start', host: 'web-1', ts: 1795252599301, version: '0.1.0', pid: 42 });
  start.fields.mode = 'unicast';
  await add('lifecycle', start.fields);
  await add('flow', flowEntry(flows[2] as Flow, 'web-1').fields);
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

async function pending(group: string): Promise<number> {
  const summary = (await admin.xpending(STREAM, group)) as [number, ...unknown[]];
  return summary[0];
}

const lines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('examples/', () => {
  it('pass their syntax checks (node --check, python ast.parse, sh -n)', () => {
    expect(spawnSync(process.execPath, ['--check', example('consumer.mjs')]).status).toBe(0);
    expect(spawnSync('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read())', example('consumer.py')]).status).toBe(0);
    expect(spawnSync('sh', ['-n', example('tail-jq.sh')]).status).toBe(0);
  });

  for (const [name, command] of [
    ['consumer.mjs', process.execPath],
    ['consumer.py', 'python3'],
  ] as const) {
    it(`${name}: reads as a consumer group, prints typed entries, reports the loss on stderr, acknowledges, and goes on after a restart`, async () => {
      const group = `g-${name}`;
      const args = [example(name), redis.url, STREAM, group, 'c1'];
      const first = await run(command, args, { env: { ...process.env, COUNT: '3' } });
      expect(first.code, first.stderr).toBe(0);
      const expected = added.filter((entry) => entry.kind !== 'loss');
      expect(lines(first.stdout)).toEqual(expected.slice(0, 2));
      expect(first.stderr).toBe('loss: 3 lost (serial_gap) from 2026-11-21T09:16:39.301Z to 2026-11-21T09:16:40.301Z serials 10-12 on web-1\n');
      expect(await pending(group)).toBe(0);
      const second = await run(command, args, { env: { ...process.env, COUNT: '2' } });
      expect(second.code, second.stderr).toBe(0);
      expect(lines(second.stdout)).toEqual(expected.slice(2));
      expectValidEntries([...lines(first.stdout), ...lines(second.stdout)]);
      expect(await pending(group)).toBe(0);
    });
  }

  it('tail-jq.sh: picks the flows to one port out of auditflow tail --json, numbers compared as numbers', async () => {
    const target = added.find((entry) => entry.kind === 'flow' && entry.op === 'connect') as Record<string, unknown>;
    const result = await run('sh', [example('tail-jq.sh'), String(target.remote_port), '--redis', redis.url, '--stream', STREAM, '--from', '0', '--count', String(added.length)], {
      env: { ...process.env, AUDITFLOW: `${process.execPath} ${cli}` },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      {
        time: new Date(target.ts as number).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        op: 'connect',
        result: 'ok',
        remote: `127.0.0.1:${String(target.remote_port)}`,
        exe: target.exe,
        args: (target.argv as string[]).slice(1),
        user: null,
      },
    ]);
  });
});
