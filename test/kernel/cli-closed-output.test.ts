// `auditflow status | head -1` and `auditflow rules list | head -1` end quietly when the reader has
// left before they print (their output is one small block, written at once): exit 0, nothing on
// stderr. Both only read the kernel, so they take no lock. The commands that print more are in
// test/unit/cli/closed-output.test.ts.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leftAfterFirstLine } from '../helpers/closing-reader.js';

const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('kernel-reading commands printing into a closed pipe', () => {
  for (const args of [['status'], ['status', '--json'], ['rules', 'list'], ['rules', 'list', '--json']]) {
    it(`auditflow ${args.join(' ')} exits 0 with a silent stderr`, async () => {
      const result = await leftAfterFirstLine(process.execPath, [cli, ...args], 'at-start');
      expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    });
  }
});
