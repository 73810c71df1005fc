// scripts/install-package.sh, install-service.sh (setup.sh's install steps) and uninstall.sh, into a
// scratch npm prefix and a scratch root (DESTDIR) with a stand-in `systemctl` on PATH that records
// what it is asked (the real one would act on this machine's services). The installed command runs
// as the kernel's audit daemon in between: uninstall refuses while it holds the slot, and after it
// was killed (its rules left loaded) removes those rules. Nothing of the install is left afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { useKernel } from '../helpers/kernel.js';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const scratch = mkdtempSync(join(tmpdir(), 'auditflow-uninstall-'));
const prefix = join(scratch, 'prefix');
const destdir = join(scratch, 'root');
const standIns = join(scratch, 'bin');
const calls = join(scratch, 'systemctl-calls');
const bin = join(prefix, 'bin/auditflow');
const kernel = useKernel();

// is-active answers "inactive" (3): auditd is installed and not running; every other call succeeds.
mkdirSync(standIns);
writeFileSync(join(standIns, 'systemctl'), `#!/bin/sh\necho "$*" >> ${calls}\n[ "$1" = is-active ] && exit 3\nexit 0\n`);
chmodSync(join(standIns, 'systemctl'), 0o755);
const env = {
  ...process.env,
  PATH: `${standIns}:${process.env.PATH ?? ''}`,
  npm_config_prefix: prefix,
  npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr',
  DESTDIR: destdir,
};

let daemonPid: number | undefined;
afterAll(() => {
  if (daemonPid !== undefined) {
    try {
      process.kill(daemonPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

function script(name: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(calls, '');
  const result = spawnSync('bash', [join(root, 'scripts', name), ...args], { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function systemctlCalls(): string[] {
  return readFileSync(calls, 'utf8').split('\n').filter(Boolean);
}

// The account files systemd-sysusers and userdel keep under the root (the scratch root has no others).
const ACCOUNT_FILES = ['etc/passwd', 'etc/group', 'etc/shadow', 'etc/gshadow'];
const isAccountFile = (file: string): boolean => /\/etc\/(passwd|group|shadow|gshadow)-?$|\/etc\/\.pwd\.lock$/.test(file);

/** What the scripts installed under `dir`: its files but the account database's. */
function installed(dir: string): string[] {
  return filesUnder(dir).filter((file) => !isAccountFile(file));
}

/** Every file and symlink under dir (directories left empty do not count). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function ruleCount(): Promise<number> {
  return (await kernel.control.listRules()).length;
}

describe('install, run, uninstall', () => {
  it('leaves nothing behind, and puts the kernel back also after a killed daemon', async () => {
    const install = script('install-package.sh');
    expect(install.status, install.stderr).toBe(0);
    expect(statSync(join(prefix, 'share/man/man8/auditflow.8')).isFile()).toBe(true);
    expect(statSync(join(prefix, 'share/bash-completion/completions/auditflow')).isFile()).toBe(true);
    const rulesBefore = await ruleCount();

    // The installed command as the kernel's audit daemon, its state in the scratch root.
    const state = join(destdir, 'var/lib/auditflow');
    const daemon = spawn(bin, ['run', '--stdout', '--config', '/dev/null'], {
      env: { ...env, AUDITFLOW_STATE_DIR: state, AUDITFLOW_RUNTIME_DIR: join(destdir, 'run/auditflow'), AUDITFLOW_METRICS_LISTEN: 'off' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    daemonPid = daemon.pid;
    const exited = new Promise((resolve) => daemon.once('close', resolve));
    let log = '';
    await new Promise<void>((resolve, reject) => {
      daemon.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (/"msg":"running"/.test(log)) resolve();
      });
      daemon.once('close', () => reject(new Error(`the installed daemon exited:\n${log}`)));
    });
    expect((await kernel.control.status()).pid).toBe(daemon.pid);
    expect(await ruleCount()).toBeGreaterThan(rulesBefore);

    const refused = script('uninstall.sh');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`auditflow (pid ${String(daemon.pid)}) of this install holds the kernel's audit daemon slot`);
    expect(existsSync(bin)).toBe(true);

    // Killed, it neither deletes its rules nor gives up the slot itself.
    daemon.kill('SIGKILL');
    await exited;
    daemonPid = undefined;
    expect(await ruleCount()).toBeGreaterThan(rulesBefore);

    mkdirSync(join(destdir, 'run/systemd/system'), { recursive: true });
    const service = script('install-service.sh');
    expect(service.status, service.stderr).toBe(0);
    expect(service.stdout).toBe('systemd\n');
    expect(systemctlCalls()).toEqual(['daemon-reload', 'enable --now auditflow.service']);
    const unit = join(destdir, 'etc/systemd/system/auditflow.service');
    expect(readFileSync(unit, 'utf8')).toContain(`\nExecStart=${bin} run\n`);
    // The service's own user, and the config readable by its group only.
    const user = readFileSync(join(destdir, 'etc/passwd'), 'utf8').split('\n').find((line) => line.startsWith('auditflow:'));
    const gid = Number(readFileSync(join(destdir, 'etc/group'), 'utf8').split('\n').find((line) => line.startsWith('auditflow:'))?.split(':')[2]);
    expect(user).toMatch(/^auditflow:x:\d+:\d+:[^:]*:\/:\/usr\/sbin\/nologin$/);
    const conf = statSync(join(destdir, 'etc/auditflow/auditflow.conf'));
    expect({ mode: conf.mode & 0o777, uid: conf.uid, gid: conf.gid }).toEqual({ mode: 0o640, uid: 0, gid });

    const removed = script('uninstall.sh');
    expect(removed.status, removed.stderr).toBe(0);
    expect(systemctlCalls()).toEqual([
      'show --property MainPID --value auditflow.service',
      'disable --now auditflow.service',
      'daemon-reload',
      'list-unit-files --quiet auditd.service',
      'is-active --quiet auditd.service',
    ]);
    expect(removed.stdout).toContain('systemctl enable --now auditd');
    expect(await ruleCount()).toBe(rulesBefore);
    expect(filesUnder(prefix)).toEqual([]);
    expect(existsSync(unit)).toBe(false);
    // Without --purge the config and the state stay, and the script says so.
    expect(removed.stdout).toContain('kept /etc/auditflow /var/lib/auditflow');
    expect(installed(destdir).sort()).toEqual([join(destdir, 'etc/auditflow/auditflow.conf'), join(state, 'applied-rules.json')]);
    expect(readFileSync(join(destdir, 'etc/passwd'), 'utf8')).toMatch(/^auditflow:/m);

    const purged = script('uninstall.sh', '--purge');
    expect(purged.status, purged.stderr).toBe(0);
    expect(installed(destdir)).toEqual([]);
    for (const file of ACCOUNT_FILES) expect(readFileSync(join(destdir, file), 'utf8'), file).not.toMatch(/^auditflow:/m);
    expect(filesUnder(prefix)).toEqual([]);
  }, 600_000);
});
