import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { formatRule, machineFromNodeArch, parseRulesFile, type Rule } from '../../src/rules/index.js';
import { run } from '../helpers/child.js';
import { useKernel } from '../helpers/kernel.js';

// The built command, as a user runs it (npm test builds first).
const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const networkRules = fileURLToPath(new URL('../../rules/network.rules', import.meta.url));
const kernel = useKernel();
const stateDir = mkdtempSync(join(tmpdir(), 'auditflow-rules-state-'));
const env = { ...process.env, AUDITFLOW_STATE_DIR: stateDir };
const auditflow = (...args: string[]) => run(process.execPath, [cli, ...args], { env });
const machine = machineFromNodeArch();

function rulesOf(file: string): Rule[] {
  const result = parseRulesFile(readFileSync(file, 'utf8'), file);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.commands.flatMap((c) => (c.kind === 'add_rule' ? [c.rule] : []));
}

const hex = (rules: Buffer[]): string[] => rules.map((r) => r.toString('hex'));

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('auditflow rules on the real kernel', () => {
  beforeEach(async () => {
    // Each test starts from the rules the machine had; useKernel() restores them at the end too.
    const clear = await auditflow('rules', 'clear');
    expect(clear.code).toBe(0);
    expect(hex(await kernel.control.listRules())).toEqual(hex(kernel.snapshot.rules));
  });

  it('applies the packaged default ruleset and lists it back as auditctl -l prints it', async () => {
    const apply = await auditflow('rules', 'apply');
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toBe('added 30, already loaded 0, removed 0 stale, deleted 0, settings 0\n');

    const list = await auditflow('rules', 'list');
    expect(list.code).toBe(0);
    // The kernel lists its filter lists in turn (kernel/auditfilter.c audit_list_rules): the exit
    // list's rules, then the io_uring list's, each in file order.
    const rules = rulesOf(networkRules);
    const expected = [...rules.filter((rule) => rule.list !== 'io_uring'), ...rules.filter((rule) => rule.list === 'io_uring')].map((rule) => formatRule(rule, { machine }));
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines.slice(-30)).toEqual(expected);
    expect(lines).toHaveLength(kernel.snapshot.rules.length + 30);
  });

  it('leaves the kernel list byte for byte as it was when the same files are applied twice', async () => {
    expect((await auditflow('rules', 'apply', networkRules)).code).toBe(0);
    const once = hex(await kernel.control.listRules());
    const listOnce = (await auditflow('rules', 'list')).stdout;
    const again = await auditflow('rules', 'apply', networkRules);
    expect(again.stdout).toBe('added 0, already loaded 30, removed 0 stale, deleted 0, settings 0\n');
    expect(hex(await kernel.control.listRules())).toEqual(once);
    expect((await auditflow('rules', 'list')).stdout).toBe(listOnce);
  });

  it('clear removes exactly the rules it added and leaves a rule another tool loaded', async () => {
    const foreign = join(stateDir, 'foreign.rules');
    writeFileSync(foreign, '-a always,exit -F arch=b64 -S connect -F saddr_fam=2 -k auditflow-test-foreign\n');
    // Loaded with another state directory: to this one it is someone else's rule.
    const other = mkdtempSync(join(tmpdir(), 'auditflow-rules-other-'));
    try {
      expect((await run(process.execPath, [cli, 'rules', 'apply', foreign], { env: { ...env, AUDITFLOW_STATE_DIR: other } })).code).toBe(0);
      const withForeign = hex(await kernel.control.listRules());
      expect((await auditflow('rules', 'apply', networkRules)).code).toBe(0);
      const clear = await auditflow('rules', 'clear');
      expect(clear.stdout).toBe('deleted 30 rule(s)\n');
      expect(hex(await kernel.control.listRules())).toEqual(withForeign);
    } finally {
      await run(process.execPath, [cli, 'rules', 'clear'], { env: { ...env, AUDITFLOW_STATE_DIR: other } });
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('removes the rules an earlier apply added when the files no longer contain them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditflow-rules-dir-'));
    try {
      writeFileSync(join(dir, '10-connect.rules'), '-a always,exit -F arch=b64 -S connect -F saddr_fam=2 -k auditflow-test-a\n');
      writeFileSync(join(dir, '20-bind.rules'), '-a always,exit -F arch=b64 -S bind -F saddr_fam=2 -k auditflow-test-b\n');
      writeFileSync(join(dir, 'README'), 'not a rules file\n');
      expect((await auditflow('rules', 'apply', '--rules-dir', dir)).code).toBe(0);
      let lines = (await auditflow('rules', 'list')).stdout.trimEnd().split('\n');
      expect(lines.slice(-2)).toEqual([
        '-a always,exit -F arch=b64 -S connect -F saddr_fam=2 -F key=auditflow-test-a',
        '-a always,exit -F arch=b64 -S bind -F saddr_fam=2 -F key=auditflow-test-b',
      ]);
      rmSync(join(dir, '10-connect.rules'));
      const apply = await auditflow('rules', 'apply', '--rules-dir', dir);
      expect(apply.stdout).toBe('added 0, already loaded 1, removed 1 stale, deleted 0, settings 0\n');
      lines = (await auditflow('rules', 'list')).stdout.trimEnd().split('\n');
      expect(lines.filter((line) => line.includes('auditflow-test-'))).toEqual(['-a always,exit -F arch=b64 -S bind -F saddr_fam=2 -F key=auditflow-test-b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns a rule the kernel already holds into FILE:LINE: rule already loaded, exit 7', async () => {
    const file = join(stateDir, 'twice.rules');
    writeFileSync(file, '# twice\n-a always,exit -F arch=b64 -S bind -F saddr_fam=10 -k auditflow-test-twice\n-a always,exit -F arch=b64 -S bind -F saddr_fam=10 -k auditflow-test-twice\n');
    const apply = await auditflow('rules', 'apply', file);
    expect(apply.code).toBe(7);
    expect(apply.stderr).toBe(`auditflow: ${file}:3: rule already loaded (the kernel holds an equal rule)\n`);
  });

  it('loads an io_uring rule onto the kernel io_uring list and lists it back by operation name', async () => {
    const file = join(stateDir, 'uring.rules');
    const text = '-a always,io_uring -S sendmsg,accept,connect,bind -F ppid>=1 -F key=auditflow-test-uring';
    writeFileSync(file, `${text}\n`);
    const apply = await auditflow('rules', 'apply', file);
    expect(apply.stderr).toBe('');
    expect(apply.stdout).toBe('added 1, already loaded 0, removed 0 stale, deleted 0, settings 0\n');
    const list = await auditflow('rules', 'list', '--json');
    const rules = JSON.parse(list.stdout) as Array<{ text: string; list: string }>;
    expect(rules.filter((rule) => rule.list === 'io_uring')).toEqual([expect.objectContaining({ text, list: 'io_uring' })]);
  });

  it('lists the rules as JSON for scripts', async () => {
    expect((await auditflow('rules', 'apply')).code).toBe(0);
    const list = await auditflow('rules', 'list', '--json');
    const rules = JSON.parse(list.stdout) as Array<{ text: string; list: string; action: string; keys: string[] }>;
    expect(rules.filter((rule) => rule.list === 'exit').slice(-1)).toEqual([
      { text: expect.stringContaining('-S socketcall') as string, list: 'exit', action: 'always', keys: ['auditflow-socketcall'] },
    ]);
    expect(rules.filter((rule) => rule.list === 'io_uring').slice(0, 1)).toEqual([{ text: '-a always,io_uring -S accept,connect,bind -F key=auditflow-uring', list: 'io_uring', action: 'always', keys: ['auditflow-uring'] }]);
  });
});

describe('auditflow rules check', () => {
  it('prints the canonical form and exits 0', async () => {
    const check = await auditflow('rules', 'check', networkRules);
    expect(check.code).toBe(0);
    expect(check.stdout.trimEnd().split('\n')).toEqual(rulesOf(networkRules).map((rule) => formatRule(rule, { machine })));
  });

  it('names FILE:LINE for every error, exits 7 and touches nothing', async () => {
    const before = hex(await kernel.control.listRules());
    const file = join(stateDir, 'bad.rules');
    writeFileSync(file, '-a always,exit -S conect\n\n-w /etc/passwd -p rwq\n');
    const check = await auditflow('rules', 'check', file);
    expect(check.code).toBe(7);
    expect(check.stderr).toBe(
      `${file}:1: unknown syscall "conect" for arch b64\n${file}:3: permission "rwq" may only contain r, w, x and a\nauditflow: 2 error(s) in ${file}\n`,
    );
    const apply = await auditflow('rules', 'apply', networkRules, file);
    expect(apply.code).toBe(7);
    expect(apply.stderr).toMatch(/; nothing was applied\n$/);
    expect(hex(await kernel.control.listRules())).toEqual(before);
  });

  it('reports as JSON with --json', async () => {
    const file = join(stateDir, 'json.rules');
    writeFileSync(file, '-b 8192\n-a always,exit -F arch=b64 -S connect -k c\n');
    const check = await auditflow('rules', 'check', '--json', file);
    expect(JSON.parse(check.stdout)).toEqual({
      ok: true,
      files: [
        {
          file,
          ok: true,
          commands: [
            { line: 1, kind: 'set_backlog_limit', text: '-b 8192' },
            { line: 2, kind: 'add_rule', text: '-a always,exit -F arch=b64 -S connect -F key=c' },
          ],
          errors: [],
          warnings: [],
        },
      ],
    });
  });
});
