import { describe, expect, it } from 'vitest';
import { fieldValue, parseFields, parseKernelRecord, parseLogLine, proctitleArgv } from '../../../src/pipeline/record.js';
import { RecordView } from '../../../src/pipeline/record-view.js';
import { fixtureLines } from './fixtures.js';

const syscallLine = fixtureLines('comm-hex').find((line) => line.includes('syscall=42'))!;

describe('parseRecord', () => {
  it('reads the kernel netlink form: time in ms, serial, fields', () => {
    const result = parseKernelRecord(1306, Buffer.from('audit(1795252400.809:711867): saddr=020000097F0000010000000000000000\0'));
    expect(result).toMatchObject({ ok: true, record: { type: 1306, typeName: 'SOCKADDR', time: 1795252400809, serial: 711867, node: '' } });
    if (result.ok) expect(result.record.fields.get('saddr')).toBe('020000097F0000010000000000000000');
  });

  it('reads the auditd log form with its type name and node', () => {
    const result = parseLogLine(`node=web-1 ${syscallLine}`);
    expect(result).toMatchObject({ ok: true, record: { type: 1300, typeName: 'SYSCALL', node: 'web-1', serial: 711867 } });
  });

  it('decodes the hex the kernel writes for a comm with spaces and quotes, and keeps quoted values literal', () => {
    const result = parseLogLine(syscallLine);
    if (!result.ok) throw new Error('parse failed');
    expect(result.record.fields.get('comm')).toBe('my "odd" name');
    expect(result.record.fields.get('exe')).toMatch(/fixture-workload$/);
    expect(result.record.fields.get('exit')).toBe('-111');
    expect(result.record.fields.get('a0')).toBe('3');
  });

  it('does not decode a quoted value that looks like hex', () => {
    expect(parseFields('comm="ABCD" key=(null)', true).get('comm')).toBe('ABCD');
    expect(parseFields('comm=414243', true).get('comm')).toBe('ABC');
  });

  it('splits the ENRICHED fields after 0x1D into their own map', () => {
    const result = parseLogLine(`${syscallLine}\x1dARCH=x86_64 SYSCALL=connect AUID="unset" UID="root"`);
    if (!result.ok) throw new Error('parse failed');
    expect(result.record.fields.get('key')).toBe('auditflow-fixture');
    expect(Object.fromEntries(result.record.enriched)).toEqual({ ARCH: 'x86_64', SYSCALL: 'connect', AUID: 'unset', UID: 'root' });
  });

  it('keeps a user message whole and reads auditd names for unknown types', () => {
    const line = "type=USER_LOGIN msg=audit(1700000000.001:42): pid=1 uid=0 auid=0 ses=1 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" res=success'";
    const result = parseLogLine(line);
    expect(result).toMatchObject({ ok: true, record: { type: 1112 } });
    if (result.ok) expect(result.record.fields.get('msg')).toBe('op=login acct="root" exe="/usr/sbin/sshd" res=success');
    expect(parseLogLine('type=UNKNOWN[1338] msg=audit(1700000000.001:43): x=1')).toMatchObject({ ok: true, record: { type: 1338 } });
  });

  it('splits PROCTITLE argv at the NULs', () => {
    const line = fixtureLines('comm-hex').find((l) => l.startsWith('type=PROCTITLE'))!;
    const result = parseLogLine(line);
    if (!result.ok) throw new Error('parse failed');
    expect(proctitleArgv(result.record)).toEqual([expect.stringMatching(/fixture-workload$/), 'comm-hex']);
    const quoted = parseKernelRecord(1327, 'audit(1.000:1): proctitle="sleep"');
    if (quoted.ok) expect(proctitleArgv(quoted.record)).toEqual(['sleep']);
  });

  it('returns typed errors for lines that are not records', () => {
    expect(parseLogLine('hello')).toMatchObject({ ok: false, error: { name: 'RecordParseError', kind: 'no-header' } });
    expect(parseLogLine('type=SYSCALL msg=audit(1.2:3): a=1')).toMatchObject({ ok: false, error: { kind: 'bad-header' } });
    expect(parseLogLine('type=NOPE msg=audit(1.000:3): a=1')).toMatchObject({ ok: false, error: { kind: 'no-type' } });
    expect(parseKernelRecord(1300, 'audit(1.000:99999999999): a=1')).toMatchObject({ ok: false, error: { kind: 'bad-header' } });
  });
});

describe('field bounds', () => {
  const hex = (text: string | Buffer): string => Buffer.from(text).toString('hex').toUpperCase();

  it("keep comm within TASK_COMM_LEN - 1 bytes and exe, cwd within PATH_MAX + 10, quoted or hex", () => {
    expect(fieldValue('comm', 'c'.repeat(100), true)).toBe('c'.repeat(15));
    expect(fieldValue('comm', hex('c'.repeat(100)), false)).toBe('c'.repeat(15));
    expect(fieldValue('comm', hex('fixture-workloa'), false)).toBe('fixture-workloa');
    for (const key of ['exe', 'cwd']) {
      const path = `/${'p'.repeat(9999)}`;
      expect(fieldValue(key, path, true)).toBe(path.slice(0, 4106));
      expect(fieldValue(key, hex(path), false)).toBe(path.slice(0, 4106));
      expect(fieldValue(key, hex(path.slice(0, 4106)), false)).toBe(path.slice(0, 4106));
    }
    // Not hex: the characters, as many as the bound's bytes.
    expect(fieldValue('comm', '(null)', false)).toBe('(null)');
    expect(fieldValue('comm', `Z${'q'.repeat(40)}`, false)).toBe(`Z${'q'.repeat(14)}`);
    // Fields without a bound pass as before.
    expect(fieldValue('key', hex('k'.repeat(5000)), false)).toBe('k'.repeat(5000));
    expect(fieldValue('proctitle', hex('t'.repeat(5000)), false)).toBe('t'.repeat(5000));
  });

  it('cut a hex-encoded value at a UTF-8 character boundary', () => {
    // 'ab' then 4-byte characters: bytes 15.. fall inside the fourth one.
    const text = `ab${'😀'.repeat(10)}`;
    expect(fieldValue('comm', hex(text), false)).toBe(`ab${'😀'.repeat(3)}`);
    expect(Buffer.byteLength(fieldValue('comm', hex(Buffer.from([0x61, ...Array(30).fill(0xff)])), false))).toBeLessThanOrEqual(15 * 3);
  });

  it('apply in the fast path alike: the record view reads a bounded field only as far as its bound', () => {
    const body = Buffer.from(`arch=c000003e comm=${hex(`${'c'.repeat(14)}é${'x'.repeat(1 << 20)}`)} exe="/${'e'.repeat(1 << 20)}" key=(null)`);
    const view = new RecordView();
    expect(view.index(body, 0, body.length)).toBe(true);
    expect(view.value('comm')).toBe('c'.repeat(14));
    expect(view.value('exe')).toBe(`/${'e'.repeat(4105)}`);
    expect(view.value('key')).toBe('(null)');
    const generic = parseFields(body.toString('latin1'), true);
    expect([generic.get('comm'), generic.get('exe')]).toEqual([view.value('comm'), view.value('exe')]);
  });

  it('apply to a whole record: a CWD record with a 1 MiB path', () => {
    const result = parseKernelRecord(1307, Buffer.from(`audit(1795252400.809:711867): cwd=${hex(`/${'d'.repeat(1 << 20)}`)}`));
    expect(result.ok && result.record.fields.get('cwd')).toBe(`/${'d'.repeat(4105)}`);
  });
});
