// Log lines for the journal: a syslog priority prefix (sd-daemon(3)) when the log goes to the journal
// or log_format = journald, plain JSON lines otherwise. The last tests run the built daemon up to a
// start-up failure that comes before the kernel (Redis required but unreachable), so its log lines
// are real ones: info, a warning, the fatal one.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wantsPriorities, withPriority, writesToJournal } from '../../../src/daemon/journal-priority.js';
import { run } from '../../helpers/child.js';
import { cli } from '../../helpers/daemon.js';

const scratch = mkdtempSync(join(tmpdir(), 'auditflow-journal-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const streamOf = (path: string): string => {
  const stat = statSync(path);
  return `${stat.dev}:${stat.ino}`;
};

describe('withPriority', () => {
  it('prefixes each pino level with its syslog priority', () => {
    const line = (level: string): string => `{"level":"${level}","time":"2026-12-05T19:21:19.858Z","pid":1,"msg":"m"}\n`;
    expect(['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((level) => withPriority(line(level)).slice(0, 3))).toEqual(['<2>', '<3>', '<4>', '<6>', '<7>', '<7>']);
    expect(withPriority(line('warn'))).toBe(`<4>${line('warn')}`);
  });

  it('leaves a line of another shape as it is', () => {
    expect(withPriority('{"time":1,"level":"warn"}\n')).toBe('{"time":1,"level":"warn"}\n');
    expect(withPriority('{"level":"custom","msg":"m"}\n')).toBe('{"level":"custom","msg":"m"}\n');
  });
});

describe('writesToJournal', () => {
  it('matches JOURNAL_STREAM against the device and inode of the very descriptor', () => {
    const journal = join(scratch, 'journal');
    const other = join(scratch, 'other');
    writeFileSync(journal, '');
    writeFileSync(other, '');
    const fd = openSync(journal, 'a');
    const otherFd = openSync(other, 'a');
    try {
      const env = { JOURNAL_STREAM: streamOf(journal) };
      expect(writesToJournal(fd, env)).toBe(true);
      expect(writesToJournal(otherFd, env)).toBe(false);
      expect(writesToJournal(fd, {})).toBe(false);
      expect(writesToJournal(fd, { JOURNAL_STREAM: 'garbage' })).toBe(false);
      expect(wantsPriorities('auto', fd, env)).toBe(true);
      expect(wantsPriorities('json', fd, env)).toBe(false);
      expect(wantsPriorities('journald', otherFd, {})).toBe(true);
    } finally {
      closeSync(fd);
      closeSync(otherFd);
    }
  });
});

describe('the daemon log on the journal', () => {
  // Only a shell can point the daemon's stdout at a file while the test knows that file's inode.
  async function startUpFailure(setting: string, journalIsStdout: boolean): Promise<string[]> {
    const out = join(scratch, `out-${setting}-${journalIsStdout}`);
    writeFileSync(out, '');
    const env = {
      ...process.env,
      JOURNAL_STREAM: journalIsStdout ? streamOf(out) : streamOf(scratch),
      AUDITFLOW_NOT_A_SETTING: '1',
      AUDITFLOW_STATE_DIR: join(scratch, 'state'),
      AUDITFLOW_RUNTIME_DIR: join(scratch, 'run'),
    };
    const result = await run('sh', ['-c', 'exec "$@" >>"$OUT"', 'sh', process.execPath, cli, 'run', '--redis', 'redis://127.0.0.1:1', '--metrics', 'off', '--set', 'redis_required=true', '--set', `log_format=${setting}`], { env: { ...env, OUT: out } });
    expect(result.code).toBe(10);
    return readFileSync(out, 'utf8').split('\n').filter(Boolean);
  }

  it('auto: a warning starts with <4> on the journal, and the JSON after the prefix parses', async () => {
    const lines = await startUpFailure('auto', true);
    const warning = lines.find((line) => line.includes('"AUDITFLOW_NOT_A_SETTING"'));
    expect(warning).toMatch(/^<4>\{"level":"warn",/);
    expect(lines.at(-1)).toMatch(/^<2>\{"level":"fatal",/);
    for (const line of lines) {
      const match = /^<([0-7])>(\{.*\})$/.exec(line);
      expect(match, line).not.toBeNull();
      expect(JSON.parse(match?.[2] ?? '')).toHaveProperty('msg');
    }
  });

  it('auto: plain JSON lines when stdout is not the journal the variable names', async () => {
    const lines = await startUpFailure('auto', false);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect((JSON.parse(line) as { level: string }).level).toMatch(/^(info|warn|fatal)$/);
  });

  it('json keeps plain lines on the journal; journald prefixes them anywhere', async () => {
    for (const line of await startUpFailure('json', true)) expect(line.startsWith('{')).toBe(true);
    expect((await startUpFailure('journald', false)).find((line) => line.includes('"AUDITFLOW_NOT_A_SETTING"'))).toMatch(/^<4>\{/);
  });
});
