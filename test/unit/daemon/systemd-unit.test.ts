// systemd/auditflow.service: systemd itself checks it, and its exit-code list follows the CLI's.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/cli/exit-codes.js';

const unitPath = fileURLToPath(new URL('../../../systemd/auditflow.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');
const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const setting = (name: string): string => new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1] ?? '';

describe('systemd/auditflow.service', () => {
  it('passes systemd-analyze verify (with ExecStart pointing at this build)', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'auditflow-unit-')), 'auditflow.service');
    writeFileSync(copy, unit.replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath} ${cli} run`));
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stderr.split('\n').filter((line) => line.includes('auditflow.service'))).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('runs the built command directly: npm run build leaves it executable (npm\'s bin link and ExecStart exec it)', () => {
    expect(() => accessSync(cli, constants.X_OK)).not.toThrow();
  });

  it('does not restart after the refusals a restart cannot fix, and does after other failures', () => {
    const prevented = setting('RestartPreventExitStatus').split(' ').map(Number);
    expect(prevented).toEqual([ExitCode.usage, ExitCode.permission, ExitCode.noAudit, ExitCode.slotTaken, ExitCode.badRules, ExitCode.immutable, ExitCode.badConfig]);
    expect(prevented).not.toContain(ExitCode.failure);
    expect(prevented).not.toContain(ExitCode.redisUnavailable);
    expect(setting('Restart')).toBe('on-failure');
  });

  it('is a notify service with a watchdog, beside nothing that holds the audit slot', () => {
    expect(setting('Type')).toBe('notify');
    expect(Number(setting('WatchdogSec'))).toBeGreaterThan(0);
    expect(setting('Conflicts')).toBe('auditd.service');
    expect(setting('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('grants the audit capabilities and /proc reading, nothing else, and no new namespaces', () => {
    expect(setting('CapabilityBoundingSet').split(' ').sort()).toEqual(['CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE']);
    expect(setting('NoNewPrivileges')).toBe('yes');
    expect(setting('ProtectSystem')).toBe('strict');
    for (const forbidden of ['MemoryDenyWriteExecute', 'PrivateUsers', 'PrivateNetwork', 'PrivatePIDs']) expect(setting(forbidden)).toBe('');
  });

});
