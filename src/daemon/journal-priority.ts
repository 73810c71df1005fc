// Syslog priorities for the journal. systemd reads a `<N>` at the start of each line a service writes
// to its journal stream as the line's priority and strips it (sd-daemon(3): SD_WARNING is "<4>";
// systemd.exec(5): SyslogLevelPrefix=, on by default), so `journalctl -p warning` finds the warnings.
// The rest of the line stays the pino JSON.
import { fstatSync } from 'node:fs';
import type { LogFormat } from './settings.js';

/** pino's levels as syslog priorities (sd-daemon.h: SD_CRIT 2, SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7). */
const PRIORITY: Record<string, string> = { fatal: '<2>', error: '<3>', warn: '<4>', info: '<6>', debug: '<7>', trace: '<7>' };

const LEVEL_FIELD = '{"level":"';

/**
 * Prefixes one pino line with its priority. The logger's level formatter puts the level label first,
 * so it is read from the line's start without parsing the JSON; a line of another shape goes as it is
 * (journald then gives it its default priority, info).
 */
export function withPriority(line: string): string {
  if (!line.startsWith(LEVEL_FIELD)) return line;
  const end = line.indexOf('"', LEVEL_FIELD.length);
  const prefix = PRIORITY[line.slice(LEVEL_FIELD.length, end)];
  return prefix === undefined ? line : prefix + line;
}

/**
 * Whether `fd` is the journal's stream: systemd sets JOURNAL_STREAM to "<device>:<inode>" of the
 * stream it connects to stdout/stderr (systemd.exec(5)); a child that inherited the variable but
 * writes elsewhere (a pipe, a file) does not match.
 */
export function writesToJournal(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (match === null) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] ?? '') && stat.ino === BigInt(match[2] ?? '');
  } catch {
    return false;
  }
}

/** Whether log lines on `fd` get priority prefixes under the `log_format` setting. */
export function wantsPriorities(format: LogFormat, fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  return format === 'journald' || (format === 'auto' && writesToJournal(fd, env));
}
