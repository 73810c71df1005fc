// auditflow(8) and the bash completion (src/cli/manual.ts): the committed files are what the
// generator makes from the command line's definitions now (regenerate: npx tsx
// scripts/generate-manual.ts), the page is valid roff that names every option the command's
// --help lists, and the completion completes commands, options and paths in a real bash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { packageVersion, program } from '../../../src/cli/main.js';
import { bashCompletion, manPage } from '../../../src/cli/manual.js';
import { SETTINGS } from '../../../src/daemon/settings.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pagePath = join(root, 'man/auditflow.8');
const completionPath = join(root, 'completion/auditflow.bash');
const inputs = { program, version: packageVersion() };
const scratch = mkdtempSync(join(tmpdir(), 'auditflow-manual-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The page as man(1) shows it, plain text. */
function rendered(): string {
  const result = spawnSync('groff', ['-man', '-Tutf8', '-P', '-cbou', '-ww', pagePath], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  return result.stdout.replace(/\u2010|\u2212/g, '-').replace(/\s+/g, ' ');
}

/** What the completion offers for the words typed so far (the last one being completed). */
function complete(words: string[]): string[] {
  const script = `source ${JSON.stringify(completionPath)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _auditflow; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['--norc', '-c', script], { cwd: scratch, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split('\n').filter(Boolean).sort();
}

describe('auditflow(8)', () => {
  it('is what the generator makes from the command definitions', () => {
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(pagePath, manPage(inputs));
    expect(readFileSync(pagePath, 'utf8')).toBe(manPage(inputs));
  });

  it('is valid roff that names every command and every option of the built command, every setting and every exit code', () => {
    const page = rendered();
    for (const command of ['run', 'status', 'replay', 'tail', 'top', 'rules check', 'rules apply', 'rules list', 'rules clear']) {
      expect(page).toContain(`auditflow ${command} [options]`);
      // The help commander prints for `auditflow <command> --help`, in this process.
      const words = command.split(' ');
      const sub = words.reduce((parent, word) => parent.commands.find((c) => c.name() === word) ?? parent, program);
      expect(sub.name()).toBe(words.at(-1));
      const flags = [...sub.helpInformation().matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1] ?? '').filter((flag) => flag !== '--help');
      expect(flags.length, command).toBeGreaterThan(0);
      for (const flag of flags) expect(page, `${command} ${flag}`).toContain(flag);
    }
    for (const s of SETTINGS) expect(page).toContain(`${s.key} = ${s.defaultText === '' ? '(empty)' : s.defaultText}`);
    for (const code of ['0', '2', '5', '10']) expect(page).toMatch(new RegExp(`EXIT STATUS.* ${code} `));
  });
});

describe('bash completion', () => {
  it('is what the generator makes from the command definitions', () => {
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(completionPath, bashCompletion(inputs));
    expect(readFileSync(completionPath, 'utf8')).toBe(bashCompletion(inputs));
  });

  it('completes commands, subcommands, options and paths', () => {
    writeFileSync(join(scratch, 'ca.pem'), '');
    writeFileSync(join(scratch, 'network.rules'), '');
    expect(complete(['auditflow', ''])).toEqual(['--help', '--version', 'replay', 'rules', 'run', 'status', 'tail', 'top']);
    expect(complete(['auditflow', 'rules', 'c'])).toEqual(['check', 'clear']);
    expect(complete(['auditflow', 'run', '--m'])).toEqual(['--metrics', '--mode']);
    expect(complete(['auditflow', 'rules', 'apply', '--rules-dir', 'scratch', '--a'])).toEqual(['--allow-immutable']);
    expect(complete(['auditflow', 'tail', '--tls-ca', 'c'])).toEqual(['ca.pem']);
    expect(complete(['auditflow', 'replay', '--format', ''])).toEqual(['ecs', 'native', 'ocsf']);
    expect(complete(['auditflow', 'rules', 'check', 'n'])).toEqual(['network.rules']);
    // A value that is not a path completes to nothing rather than to file names.
    expect(complete(['auditflow', 'tail', '--count', ''])).toEqual([]);
  });
});
