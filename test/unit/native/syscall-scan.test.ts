// The lookup thread's byte scan of SYSCALL records (native/syscall_scan.cc) against the pipeline's own
// parser, on every SYSCALL line captured from the kernel in test/fixtures.
import { describe, expect, it } from 'vitest';
import { nativeBinding } from '../../../src/native/binding.js';
import { numberField, parseLogLine } from '../../../src/pipeline/record.js';
import { AUDIT_SYSCALL } from '../../../src/linux/record-types.js';
import { fixtureLines, fixtureNames } from '../pipeline/fixtures.js';

/** The payload the kernel sends for a log line: the line without auditd's `type=NAME msg=` prefix. */
const payloadOf = (line: string): Buffer => Buffer.from(line.replace(/^type=\S+ msg=/, ''), 'latin1');

const syscallLines = fixtureNames().flatMap((name) => fixtureLines(name).filter((line) => line.startsWith('type=SYSCALL ')));

describe('the SYSCALL scan of the lookup thread', () => {
  it(`reads the same arch, syscall, success, exit, a0-a2, pid and time as the pipeline on ${syscallLines.length} captured records`, () => {
    expect(syscallLines.length).toBeGreaterThan(50);
    const scan = nativeBinding().scanSyscall;
    for (const line of syscallLines) {
      const parsed = parseLogLine(line);
      if (!parsed.ok) throw new Error(`fixture line does not parse: ${line}`);
      const record = parsed.record;
      expect(record.type).toBe(AUDIT_SYSCALL);
      const hex = (key: string): bigint | null => {
        const value = record.fields.get(key);
        return value === undefined ? null : BigInt(`0x${value}`);
      };
      const success = record.fields.get('success');
      expect(scan(payloadOf(line)), line).toEqual({
        arch: numberField(record, 'arch', 16),
        syscall: numberField(record, 'syscall'),
        success: success === undefined ? null : success === 'yes',
        exit: numberField(record, 'exit') ?? null,
        a0: hex('a0'),
        a1: hex('a1'),
        a2: hex('a2'),
        pid: numberField(record, 'pid'),
        timeMs: record.time,
      });
    }
  });

  it('does not take ppid= for pid=, nor anything after comm=, whose value the process chooses', () => {
    const scan = nativeBinding().scanSyscall;
    const line = syscallLines.find((candidate) => / ppid=\d+ pid=\d+ /.test(candidate));
    if (line === undefined) throw new Error('no fixture line with ppid and pid');
    const withoutPid = line.replace(/ pid=\d+ /, ' ').replace(/ comm="[^"]*"/, ' comm="x pid=4242"');
    expect(scan(payloadOf(withoutPid))).toBeNull();
  });

  it("reads the event's time from the header only when it has seconds, a dot, three digits of ms and a colon", () => {
    const scan = nativeBinding().scanSyscall;
    const fields = 'arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=0 a2=0 ppid=1 pid=7';
    expect(scan(Buffer.from(`audit(1764900000.042:17): ${fields}`))?.timeMs).toBe(1764900000042);
    for (const header of ['audit(1764900000.42:17)', 'audit(1764900000:17)', 'audit(.042:17)', 'audit(1764900000.0421:17)', 'audit(1764900000.-42:17)', 'x(1764900000.042:17)']) {
      expect(scan(Buffer.from(`${header}: ${fields}`))?.timeMs ?? null, header).toBeNull();
    }
  });

  it('gives null for records without a header or the fields a lookup needs', () => {
    const scan = nativeBinding().scanSyscall;
    for (const text of ['', 'audit(', 'audit(1.2:3): ', 'audit(1.2:3): arch=zz syscall=42 pid=1', 'audit(1.2:3): arch=c000003e syscall=-1 pid=1']) {
      expect(scan(Buffer.from(text)), text).toBeNull();
    }
  });
});
