// scripts/free-audit-slot.sh (npm's pretest) against a stand-in `systemctl` on PATH that reports the
// service's state and records what it was asked: the real one would stop this machine's service.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/free-audit-slot.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'auditflow-pretest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(active: boolean): { stderr: string; calls: string[]; code: number | null } {
  const log = join(dir, `calls-${String(active)}`);
  writeFileSync(log, '');
  const systemctl = join(dir, 'systemctl');
  writeFileSync(systemctl, `#!/bin/sh\necho "$*" >> ${log}\nif [ "$1" = is-active ]; then exit ${active ? 0 : 3}; fi\nexit 0\n`);
  chmodSync(systemctl, 0o755);
  const result = spawnSync('bash', [script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` }, encoding: 'utf8' });
  return { stderr: result.stderr, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean), code: result.status };
}

describe('npm test frees the audit daemon slot', () => {
  it('stops a running auditflow service, and says how to start it again', () => {
    const { stderr, calls, code } = run(true);
    expect(code).toBe(0);
    expect(calls).toEqual(['is-active --quiet auditflow.service', 'stop auditflow.service']);
    expect(stderr).toContain('systemctl start auditflow');
  });

  it('does nothing when the service is not running', () => {
    const { stderr, calls, code } = run(false);
    expect(code).toBe(0);
    expect(calls).toEqual(['is-active --quiet auditflow.service']);
    expect(stderr).toBe('');
  });
});
