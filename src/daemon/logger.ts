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
  const destination = pino.destination({ fd: options.fd, sync: false });
  // A log nobody reads any more (EPIPE when journald or a pipe's reader went away) is not a reason
  // to crash the daemon; its lines are lost, the flows are not.
  let broken = false;
  destination.on('error', () => {
    broken = true;
  });
  const root = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(wantsPriorities(options.format, options.fd, options.env) ? { hooks: { streamWrite: withPriority } } : {}),
    },
    destination,
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
          if (error) process.stderr.write(`auditflow: flushing the log failed: ${error.message}\n`);
          resolve();
        });
      }),
  };
}
