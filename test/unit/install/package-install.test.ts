// scripts/install-package.sh, which setup.sh runs: the installed command is a real copy under npm's
// global prefix (here a scratch prefix, never this machine's), so it runs where the service's
// ProtectHome=yes hides /root and /home, and where the clone itself is gone. Installing again (a
// rebuild) replaces the copy, and also replaces the link an earlier `npm install --global .` left.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const fixture = readFileSync(join(root, 'test/fixtures/connect-tcp4-refused.log'), 'utf8');
const golden = (JSON.parse(readFileSync(join(root, 'test/fixtures/connect-tcp4-refused.flows.json'), 'utf8')) as { flows: unknown[] }).flows;
const prefix = mkdtempSync(join(tmpdir(), 'auditflow-prefix-'));
afterAll(() => rmSync(prefix, { recursive: true, force: true }));

const installed = join(prefix, 'lib/node_modules/auditflow');
const env = { ...process.env, npm_config_prefix: prefix, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' };

function sh(command: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: root, env, input, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Symlinks under `dir` that resolve outside `within`. */
function linksOutside(dir: string, within: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      if (!realpathSync(path).startsWith(within + sep)) out.push(path);
    } else if (entry.isDirectory()) out.push(...linksOutside(path, within));
  }
  return out;
}

/**
 * Runs the installed command in a mount namespace where /root, /home and this clone are empty
 * tmpfs mounts: what ProtectHome=yes does to a service, and more (the clone may live anywhere).
 */
function hiddenClone(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const script = 'for d in /root /home "$1"; do mount -t tmpfs none "$d" || exit 99; done; shift; cd / && exec "$@"';
  const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root, join(prefix, 'bin/auditflow'), ...args], {
    cwd: '/',
    env,
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('scripts/install-package.sh', () => {
  it('installs a packed copy that runs with the clone, /root and /home hidden, and replaces it on a rebuild', () => {
    // What an earlier setup.sh left (`npm install --global .`): a link into the clone.
    mkdirSync(dirname(installed), { recursive: true });
    symlinkSync(root, installed);

    for (const round of ['first', 'again']) {
      const result = sh('bash', ['scripts/install-package.sh']);
      expect(result.status, `${round}: ${result.stderr}`).toBe(0);
      expect(lstatSync(installed).isDirectory()).toBe(true);
      expect(linksOutside(prefix, prefix)).toEqual([]);
      expect(readFileSync(join(installed, 'dist/src/cli/main.js'), 'utf8')).toBe(readFileSync(join(root, 'dist/src/cli/main.js'), 'utf8'));
    }
    // The dependencies are the locked ones (bundled), not the newest the ranges allow.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies)) {
      const version = (JSON.parse(readFileSync(join(installed, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      expect(version, name).toBe(lock.packages[`node_modules/${name}`]?.version);
    }
    for (const shipped of ['LICENSE', 'config/auditflow.conf', 'systemd/auditflow.service', 'docs/install.md', 'rules/network.rules', 'build/Release/auditflow.node']) {
      expect(lstatSync(join(installed, shipped)).isFile(), shipped).toBe(true);
    }

    expect(hiddenClone(['--version'])).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
    const check = hiddenClone(['rules', 'check', join(installed, 'rules/network.rules')]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^-a always,exit -F arch=b64 -S socket /);
    const replay = hiddenClone(['replay', '-'], fixture);
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown)).toEqual(golden);
    // status opens the kernel's audit socket through the addon: the installed copy's own build.
    const status = hiddenClone(['status', '--json']);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveProperty('status.backlogLimit');
  }, 600_000);
});
