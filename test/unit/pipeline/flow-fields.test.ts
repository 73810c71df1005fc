// A flow as stream fields: flat strings, lists as JSON (like argv), null fields left out.
import { describe, expect, it } from 'vitest';
import { flowFields } from '../../../src/pipeline/flow-fields.js';
import { fixtureLines, runLogLines } from './fixtures.js';

describe('flowFields', () => {
  it('writes every known field of a captured flow as a string, lists as JSON arrays', () => {
    const flow = runLogLines(fixtureLines('comm-hex')).flows.find((candidate) => candidate.op === 'connect')!;
    const withContext = { ...flow, parent_argv: ['bash', '-c', 'a "b" c,d'], labels: ['net', 'software_mgmt'], proc_gone: false, user: 'root' };
    const fields = flowFields(withContext);
    expect(fields).toMatchObject({ v: '1', kind: 'flow', op: 'connect', comm: 'my "odd" name', pid: String(flow.pid), ipv4_mapped: 'false', proc_gone: 'false', user: 'root', count: '1' });
    expect(JSON.parse(fields.argv ?? '')).toEqual(flow.argv);
    expect(JSON.parse(fields.parent_argv ?? '')).toEqual(['bash', '-c', 'a "b" c,d']);
    expect(fields.labels).toBe('["net","software_mgmt"]');
    expect(Object.values(fields).every((value) => typeof value === 'string')).toBe(true);
  });

  it('leaves out null fields and keeps empty lists', () => {
    const flow = runLogLines(fixtureLines('connect-tcp4-ok')).flows[0]!;
    const fields = flowFields(flow);
    expect(fields).not.toHaveProperty('cwd');
    expect(fields).not.toHaveProperty('container_id');
    expect(fields).not.toHaveProperty('tty');
    expect(fields.labels).toBe('[]');
    expect(Object.keys(fields).length).toBe(Object.values(flow).filter((value) => value !== null).length);
  });
});
