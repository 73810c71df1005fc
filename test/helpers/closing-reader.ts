// A reader that leaves early, like `head -1` or a consumer that hangs up: it reads the first line
// (or nothing) of a child's stdout and then closes its end of the pipe.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Finished } from './child.js';

export interface LeftEarly extends Omit<Finished, 'stdout'> {
  /** The line read before the reader left ('' when it left before any output). */
  firstLine: string;
}

/**
 * Runs the command and closes its stdout after the first line, or at once when `when` is 'at-start'
 * (before a command that prints one small block has written anything).
 */
export function leftAfterFirstLine(command: string, args: string[], when: 'first-line' | 'at-start' = 'first-line'): Promise<LeftEarly> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (when === 'at-start') child.stdout.destroy();
  else {
    const onData = (chunk: Buffer): void => {
      stdout += chunk.toString();
      if (!stdout.includes('\n')) return;
      child.stdout.off('data', onData);
      child.stdout.destroy();
    };
    child.stdout.on('data', onData);
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, firstLine: stdout.split('\n')[0] ?? '' }));
  });
}

let scratch: string | undefined;
/** A path in a directory removed after the test file. */
export function scratchFile(name: string): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'auditflow-closing-'));
    scratch = dir;
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
  }
  return join(scratch, name);
}
