// auditflow on the other supported Node majors (22 and 24; the machine's own runs every other test):
// the built CLI replays captured fixtures into their golden flows, and the addon built by this
// machine's Node loads and works unchanged (it uses N-API only, whose ABI is stable across majors).
// scripts/install-nodes.sh puts the binaries in the cache; .ci/run installs them and sets
// AUDITFLOW_NODE_REQUIRED so a missing one fails there instead of being skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const fixtures = join(root, 'test/fixtures');
const cache = process.env.AUDITFLOW_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'auditflow/node');
const required = new Set((process.env.AUDITFLOW_NODE_REQUIRED ?? '').split(/[\s,]+/).filter(Boolean));

const scratch = mkdtempSync(join(tmpdir(), 'auditflow-node-versions-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runWith(node: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(node, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Loads the addon through the package's own loader and takes a flock(2) twice on one file: the
// second open file description must be refused while the first holds the lock.
const ADDON_PROBE = `
import { openSync } from 'node:fs';
import { nativeBinding } from './dist/src/native/binding.js';
const binding = nativeBinding();
const file = process.argv[1];
console.log(JSON.stringify({ first: binding.flock(openSync(file, 'w'), true), second: binding.flock(openSync(file, 'r'), true), napi: process.versions.napi }));
`;

for (const major of ['22', '24']) {
  const node = join(cache, major, 'node_modules/node/bin/node');
  const present = existsSync(node);
  describe.skipIf(!present && !required.has(major))(`Node ${major} (${node})`, () => {
    it('is the major it is filed under', () => {
      expect(runWith(node, ['-p', 'process.versions.node']).stdout.split('.')[0]).toBe(major);
    });

    it('replays captured fixtures into their golden flows with the built CLI', () => {
      for (const name of ['connect-tcp4-refused', 'accept-peer', 'sendto-udp6']) {
        const result = runWith(node, [cli, 'replay', join(fixtures, `${name}.log`)]);
        expect(result.status, result.stderr).toBe(0);
        const flows = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
        const golden = JSON.parse(readFileSync(join(fixtures, `${name}.flows.json`), 'utf8')) as { flows: unknown[] };
        expect(flows).toEqual(golden.flows);
      }
    }, 60_000);

    it('loads the addon built on this machine and calls into it', () => {
      const lockFile = join(scratch, `lock-${major}`);
      writeFileSync(lockFile, '');
      const result = runWith(node, ['--input-type=module', '-e', ADDON_PROBE, lockFile]);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ first: true, second: false });
    }, 30_000);
  });
}
