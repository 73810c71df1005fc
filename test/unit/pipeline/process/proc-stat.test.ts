// /proc/<pid>/stat parsing: on this machine's own stat, and on a real line of a process that
// named itself "a) (b c)" with prctl(PR_SET_NAME) (test/fixtures/proc/stat-comm-parens,
// captured from python3 on kernel 6.18).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseProcStat, readBootTimeMs, readProcStat, startTimeMs } from '../../../../src/pipeline/process/proc-stat.js';

const FIXTURE = fileURLToPath(new URL('../../../fixtures/proc/stat-comm-parens', import.meta.url));

describe('/proc/<pid>/stat', () => {
  it('reads a comm with parentheses and spaces up to the last parenthesis', () => {
    expect(parseProcStat(readFileSync(FIXTURE))).toEqual({ pid: 30404, comm: 'a) (b c)', state: 'R', ppid: 30398, startTicks: 189713 });
  });

  it('agrees with Node and /proc/self/comm about this process', () => {
    const stat = readProcStat('/proc', process.pid);
    expect(stat).toMatchObject({ pid: process.pid, ppid: process.ppid, comm: readFileSync('/proc/self/comm', 'utf8').trimEnd(), state: 'R' });
    // Field 22 by position, which is safe for a comm without spaces.
    expect(stat?.startTicks).toBe(Number(readFileSync(`/proc/${process.pid}/stat`, 'latin1').split(' ')[21]));
  });

  it('refuses what is not a stat line, and a process that is not there', () => {
    expect(parseProcStat(Buffer.from(''))).toBeUndefined();
    expect(parseProcStat(Buffer.from('12 (x) S 1'))).toBeUndefined();
    expect(parseProcStat(Buffer.from('(x) S 1 2 3'))).toBeUndefined();
    expect(readProcStat('/proc', 0)).toBeUndefined();
  });

  it('puts this process start within the last hours, before now, from /proc/uptime', () => {
    const now = Date.now();
    const boot = readBootTimeMs('/proc', () => now, true);
    const started = startTimeMs(boot, readProcStat('/proc', process.pid)?.startTicks ?? Number.NaN);
    expect(started).toBeLessThanOrEqual(now + 20);
    expect(started).toBeGreaterThan(now - 6 * 3600_000);
  });

  it('says which uptime file it could not use', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditflow-uptime-'));
    try {
      writeFileSync(join(dir, 'uptime'), 'garbage\n');
      expect(() => readBootTimeMs(dir, () => 0)).toThrow(/uptime: not a number/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
