// Every command that prints ends quietly when its reader leaves (`auditflow rules check F | head -1`):
// exit code 0 and nothing on stderr, instead of an EPIPE stack trace. Runs the built command
// (`npm test` builds first); `status` and `rules list` read the kernel and are in test/kernel.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../helpers/child.js';
import { leftAfterFirstLine, scratchFile } from '../../helpers/closing-reader.js';

const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const fixture = fileURLToPath(new URL('../../fixtures/connect-tcp4-refused.log', import.meta.url));

// More output than a pipe holds (64 KiB), so the command is still writing when the reader leaves.
const MANY = 3000;

describe('printing into a reader that leaves', () => {
  it('rules check ends with 0 and a silent stderr', async () => {
    const file = scratchFile('many.rules');
    writeFileSync(file, Array.from({ length: MANY }, (_, i) => `-a always,exit -F arch=b64 -S connect -F key=k${i}\n`).join(''));
    const result = await leftAfterFirstLine(process.execPath, [cli, 'rules', 'check', file]);
    expect(result.firstLine).toBe('-a always,exit -F arch=b64 -S connect -F key=k0');
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
  });

  it('replay ends with 0 and a silent stderr (no summary for output nobody read)', async () => {
    // The fixture's refused connect, repeated under fresh serial numbers: one flow each.
    const lines = readFileSync(fixture, 'utf8').split('\n').filter((line) => line.includes(':711768)'));
    const file = scratchFile('many.log');
    writeFileSync(file, Array.from({ length: MANY }, (_, i) => lines.map((line) => line.replace(':711768)', `:${711768 + i})`)).join('\n') + '\n').join(''));
    const result = await leftAfterFirstLine(process.execPath, [cli, 'replay', file]);
    expect(JSON.parse(result.firstLine)).toMatchObject({ kind: 'flow', op: 'connect', serial: 711768, remote_port: 9 });
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
  });

  it('a write error other than EPIPE (a full disk) is one line on stderr and exit 1', async () => {
    const file = scratchFile('some.rules');
    writeFileSync(file, '-a always,exit -F arch=b64 -S connect -F key=k\n');
    const result = await run('sh', ['-c', `exec "$0" "$1" rules check "$2" > /dev/full`, process.execPath, cli, file]);
    expect(result).toMatchObject({ code: 1, stderr: 'auditflow: cannot write the output (ENOSPC)\n' });
  });
});
