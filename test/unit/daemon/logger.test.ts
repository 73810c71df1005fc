// The daemon's logger (src/daemon/logger.ts) writes asynchronously: flush() must wait for every line,
// in the order they were logged, also across a write still in flight and a fatal line (the exit path
// logs fatal, awaits flush(), then exits).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/daemon/logger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logFile(): { fd: number; read: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'auditflow-logger-'));
  dirs.push(dir);
  const path = join(dir, 'log');
  const fd = openSync(path, 'w');
  return {
    fd,
    read: () => {
      closeSync(fd);
      return readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
    },
  };
}

describe('the daemon logger', () => {
  it('has written every line, in order, when flush() resolves: lines logged while a write is in flight, then a fatal one', async () => {
    const file = logFile();
    const logger = createLogger({ level: 'info', fd: file.fd, format: 'json' });
    logger.root.info('starting');
    logger.root.warn('a warning');
    // The first write is in flight now, the warning waits behind it.
    await new Promise((resolve) => setImmediate(resolve));
    logger.root.info('stopping');
    logger.root.fatal('cannot start');
    await logger.flush();
    expect(file.read()).toEqual(['starting', 'a warning', 'stopping', 'cannot start']);
  });

  it('writes a burst of lines whole and in order by flush()', async () => {
    const file = logFile();
    const logger = createLogger({ level: 'info', fd: file.fd, format: 'json' });
    const messages = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`);
    for (const [i, message] of messages.entries()) {
      logger.root.info(message);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await logger.flush();
    expect(file.read()).toEqual(messages);
  });
});
