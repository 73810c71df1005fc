// The daemon's logger: pino JSON lines, one child logger per stage ({"stage":"kernel"}, ...). Logs go to
// stdout (journald under systemd) unless stdout carries the flows (--stdout), then to stderr. Written
// to the journal, each line starts with its syslog priority (journal-priority.ts).
import pino, { type Logger } from 'pino';
import { wantsPriorities, withPriority } from './journal-priority.js';
import type { LogFormat, LogLevel } from './settings.js';

export type { Logger };

export interface DaemonLogger {
  root: Logger;
  /** Writes out what pino still buffers; call before the process exits. */
  flush: () => Promise<void>;
}

export function createLogger(options: { level: LogLevel; fd: number; format: LogFormat; env?: NodeJS.ProcessEnv }): DaemonLogger {
  // Asynchronous writes keep a burst of log lines off the event loop's hot path; flush() before exit.
  // minLength 1: sonic-boom's flush(cb) waits for the writes in flight only when minLength > 0 (at 0
  // it calls back at once, and lines still buffered at process.exit were lost); a line is always
  // longer than one byte, so each is still written as it comes.
  const destination = pino.destination({ fd: options.fd, sync: false, minLength: 1 });
  // A log nobody reads any more (EPIPE when journald or a pipe's reader went away) is not a reason
  // to crash the daemon; its lines are lost, the flows are not.
  let broken = false;
  destination.on('error', () => {
    broken = true;
  });
  // pino's fatal() calls the stream's flushSync(), which sonic-boom runs while an asynchronous write
  // is still in flight: the lines it writes land before that one (measured: a start-up warning after
  // the fatal line, one run in three). pino gets the write alone; every exit awaits flush() instead.
  const stream = { write: (line: string): boolean => destination.write(line) };
  const root = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(wantsPriorities(options.format, options.fd, options.env) ? { hooks: { streamWrite: withPriority } } : {}),
    },
    stream,
  );
  return {
    root,
    flush: () =>
      new Promise((resolve) => {
        if (broken) {
          resolve();
          return;
        }
        destination.flush((error) => {
          // Once written, sonic-boom also fsyncs the fd: a pipe or the journal's socket refuses that
          // (EINVAL), and the lines are out all the same.
          if (error && (error as NodeJS.ErrnoException).syscall !== 'fsync') process.stderr.write(`auditflow: flushing the log failed: ${error.message}\n`);
          resolve();
        });
      }),
  };
}
