// --format on the built command line: replay prints each format, tail --json maps the stream entry,
// and an unknown format is a usage error (exit 2) naming the choices.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatJsonLine } from '../../../src/cli/tail-format.js';
import { lossEntry } from '../../../src/sink/entries.js';
import { run } from '../../helpers/child.js';
import { expectValidEntries } from '../../helpers/entry-schema.js';
import { FIXTURE_DIR } from '../pipeline/fixtures.js';

const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const replay = (...args: string[]): ReturnType<typeof run> => run(process.execPath, [cli, 'replay', ...args, `${FIXTURE_DIR}connect-tcp6-ok.log`]);
const objects = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('--format', () => {
  it('replay: native by default (valid against the schema), ecs and ocsf on request, for the same flows', async () => {
    const native = objects((await replay()).stdout);
    expect(native.map((f) => f.op)).toEqual(['bind', 'connect']);
    expectValidEntries(native);
    const ecs = objects((await replay('--format', 'ecs')).stdout);
    expect(ecs.map((e) => (e.event as { action: string }).action)).toEqual(['bind', 'connect']);
    expect(ecs[1]).toMatchObject({ ecs: { version: '8.17.0' }, destination: { ip: '::1', port: native[1]?.remote_port } });
    const ocsf = objects((await replay('--format', 'ocsf')).stdout);
    expect(ocsf.map((e) => e.type_uid)).toEqual([400199, 400101]);
  });

  it('refuses an unknown format with exit 2 and the choices', async () => {
    const result = await replay('--format', 'xml');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/must be one of native, ecs, ocsf/);
    expect(result.stdout).toBe('');
  });

  it('tail --json maps a stream entry in the format asked for', () => {
    const loss = lossEntry({ reason: 'enobufs', count: 2, firstTs: 1000, lastTs: 1000, host: 'h' });
    const raw = { id: '1000-0', fields: Object.entries({ kind: 'loss', boot_id: 'b', seq: '7', ...loss.fields }).map(([n, v]): [string, Buffer] => [n, Buffer.from(v)]) };
    expect(JSON.parse(formatJsonLine(raw, 'ocsf'))).toMatchObject({ class_uid: 0, count: 2, status_code: 'enobufs', metadata: { uid: '1000-0' }, unmapped: { seq: 7 } });
    expect(JSON.parse(formatJsonLine(raw, 'ecs'))).toMatchObject({ event: { reason: 'enobufs', id: '1000-0' }, auditflow: { loss: { count: 2 } } });
    expect(JSON.parse(formatJsonLine(raw))).toMatchObject({ id: '1000-0', kind: 'loss', seq: 7, count: 2, first_serial: null });
  });
});
