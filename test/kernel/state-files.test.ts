// The daemon's state files on the real kernel: a status file someone replaced by a symbolic link
// before the start is neither trusted (no downtime is counted from it) nor written through; a
// runtime directory that is a symbolic link is refused.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killLeftoverDaemons, startDaemon } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';

useKernel();

afterAll(async () => {
  await killLeftoverDaemons();
});

describe('state files', () => {
  it('ignores a status file that is a symbolic link, and replaces the link rather than writing through it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'auditflow-statefiles-'));
    const dirs = { state: join(base, 'state'), runtime: join(base, 'run') };
    mkdirSync(dirs.state, { mode: 0o700 });
    mkdirSync(dirs.runtime, { mode: 0o755 });
    // A "crashed predecessor" that would make the daemon report a downtime loss, placed by someone else.
    const target = join(base, 'forged.json');
    const forged = JSON.stringify({ pid: 1, stopped: false, started: 1, updated: 2, lastSerial: 5, firstSerial: 1, safeSerial: 4, lastRecordTs: null, kernel: { enabled: 1, lost: 0, backlog: 0 }, pipeline: {}, sinkHealth: {}, losses: {} });
    writeFileSync(target, forged);
    symlinkSync(target, join(dirs.runtime, 'status.json'));

    const daemon = startDaemon({ args: ['--stdout'], dirs });
    try {
      const ignored = await daemon.waitForLog('ignoring the status file left there: the previous run is not known');
      expect(ignored.reason).toBe(`${join(dirs.runtime, 'status.json')} is a symbolic link`);
      await daemon.waitForLog('running');
      expect(daemon.logs.some((line) => /did not stop cleanly/.test(line.msg))).toBe(false);
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    expect(readFileSync(target, 'utf8')).toBe(forged);
    const written = join(dirs.runtime, 'status.json');
    expect(lstatSync(written).isSymbolicLink()).toBe(false);
    expect(statSync(written).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(written, 'utf8'))).toMatchObject({ pid: daemon.pid, stopped: true });
  });

  it('refuses a runtime directory that is a symbolic link (exit 9), before touching the kernel', async () => {
    const base = mkdtempSync(join(tmpdir(), 'auditflow-statefiles-'));
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o755 });
    const link = join(base, 'run');
    symlinkSync(real, link);
    const state = join(base, 'state');
    mkdirSync(state, { mode: 0o700 });
    const daemon = startDaemon({ args: ['--stdout'], dirs: { state, runtime: link } });
    const { code } = await daemon.exited;
    expect(code).toBe(9);
    expect(daemon.stderr()).toContain(`auditflow: runtime_dir: ${link} is a symbolic link; give the real directory`);
  });
});
