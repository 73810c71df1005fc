import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditControl } from '../../../src/audit/control.js';
import {
  applyCommands,
  clearRules,
  compileRule,
  decodeRule,
  encodeRule,
  formatCommand,
  formatRule,
  parseRulesFile,
  readAppliedState,
  RulesApplyError,
  RulesImmutableError,
  stateDirectory,
  writeAppliedState,
  type AppliedState,
  type Command,
} from '../../../src/rules/index.js';
import { FakeKernel } from '../../helpers/fake-kernel.js';
import { x86 } from './context.js';

const AUDIT_SET = 1001;
const AUDIT_ADD_RULE = 1011;
const AUDIT_DEL_RULE = 1012;
const network = readFileSync(new URL('../../../rules/network.rules', import.meta.url), 'utf8');

const R1 = '-a always,exit -F arch=b64 -S connect -F saddr_fam=2 -k one';
const R2 = '-a always,exit -F arch=b64 -S bind -F saddr_fam=2 -k two';
const R3 = '-a always,exit -F arch=b64 -S accept4 -F saddr_fam=2 -k three';
const FOREIGN = '-w /etc/shadow -p wa -k identity';

function commands(text: string, file = 'test.rules'): Command[] {
  const result = parseRulesFile(text, file, x86);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.commands;
}

const listed = (kernel: FakeKernel): string[] => kernel.rules.map((bytes) => formatRule(decodeRule(bytes), x86));
const sent = (kernel: FakeKernel, type: number): number => kernel.requests.filter((r) => r.type === type).length;

describe('applying rules through the control plane', () => {
  let kernel: FakeKernel;
  let control: AuditControl;
  let state: AppliedState;
  let saves: number;

  beforeEach(() => {
    kernel = new FakeKernel();
    control = AuditControl.open({ binding: kernel.binding() });
    state = { rules: [] };
    saves = 0;
  });
  afterEach(async () => {
    await control.close();
  });

  const apply = (text: string, options: { allowImmutable?: boolean; file?: string } = {}) =>
    applyCommands(control, commands(text, options.file), {
      machine: 'x86_64',
      allowImmutable: options.allowImmutable,
      state,
      saveState: (next) => {
        state = next;
        saves++;
      },
    });
  const clear = (all: boolean) => clearRules(control, { all, state, saveState: (next) => (state = next) });
  const load = (text: string) => kernel.rules.push(encodeRule(compileRule(text, x86)));

  it('loads the default ruleset, and a second apply leaves the kernel list exactly as after the first', async () => {
    const first = await apply(network);
    expect(first).toMatchObject({ added: 30, alreadyLoaded: 0, removedStale: 0 });
    const after = kernel.rules.map((bytes) => Buffer.from(bytes));
    const adds = sent(kernel, AUDIT_ADD_RULE);

    const second = await apply(network);
    expect(second).toMatchObject({ added: 0, alreadyLoaded: 30, removedStale: 0, deleted: 0 });
    expect(kernel.rules).toEqual(after);
    expect(sent(kernel, AUDIT_ADD_RULE)).toBe(adds);
    expect(sent(kernel, AUDIT_DEL_RULE)).toBe(0);
    expect(state.rules).toHaveLength(30);
  });

  it('records where each added rule came from and how it reads', async () => {
    await apply(`# a comment\n${R1}\n`, { file: 'net.rules' });
    expect(state.rules).toEqual([{ identity: encodeRule(compileRule(R1, x86)).toString('hex'), source: 'net.rules:2', text: formatRule(compileRule(R1, x86), x86) }]);
  });

  it('removes the rules an earlier apply added that the files no longer contain', async () => {
    await apply(`${R1}\n${R2}\n`);
    const result = await apply(`${R1}\n${R3}\n`);
    expect(result).toMatchObject({ added: 1, alreadyLoaded: 1, removedStale: 1 });
    expect(listed(kernel)).toEqual([formatRule(compileRule(R1, x86), x86), formatRule(compileRule(R3, x86), x86)]);
    expect(state.rules.map((r) => r.text)).toEqual(listed(kernel));
  });

  it('leaves rules it did not add alone, also when its files drop them or contain them', async () => {
    load(FOREIGN);
    await apply(`${R1}\n${FOREIGN}\n`);
    expect(state.rules.map((r) => r.text)).toEqual([formatRule(compileRule(R1, x86), x86)]);
    await apply(`${R2}\n`);
    expect(listed(kernel)).toEqual([FOREIGN, formatRule(compileRule(R2, x86), x86)]);
    expect(await clear(false)).toBe(1);
    expect(listed(kernel)).toEqual([FOREIGN]);
    expect(state.rules).toEqual([]);
  });

  it('honours -D: every rule goes, also foreign ones, and the result is the same on the second apply', async () => {
    load(FOREIGN);
    const text = `-D\n${R1}\n${R2}\n`;
    expect(await apply(text)).toMatchObject({ deleted: 1, added: 2 });
    const after = listed(kernel);
    expect(after).toEqual([R1, R2].map((r) => formatRule(compileRule(r, x86), x86)));
    await apply(text);
    expect(listed(kernel)).toEqual(after);
    expect(state.rules).toHaveLength(2);
  });

  it('honours -D -k key: only rules with that key go', async () => {
    load(FOREIGN);
    load(R2);
    await apply('-D -k identity\n');
    expect(listed(kernel)).toEqual([formatRule(compileRule(R2, x86), x86)]);
  });

  it('deletes with -d and -W, and is quiet when the rule is already gone', async () => {
    load(FOREIGN);
    load(R1);
    expect(await apply(`-W /etc/shadow -p wa -k identity\n-d ${R1.slice(3)}\n`)).toMatchObject({ deleted: 2 });
    expect(kernel.rules).toEqual([]);
    expect(await apply(`-W /etc/shadow -p wa -k identity\n`)).toMatchObject({ deleted: 0 });
  });

  it('refuses an immutable kernel before changing anything', async () => {
    load(FOREIGN);
    kernel.status.enabled = 2;
    state = { rules: [{ identity: encodeRule(compileRule(FOREIGN, x86)).toString('hex'), source: 'x:1', text: FOREIGN }] };
    await expect(apply(`-b 8192\n${R1}\n`)).rejects.toThrow(RulesImmutableError);
    await expect(apply(R1)).rejects.toThrow(/immutable \(enabled=2.*until reboot/);
    await expect(clear(true)).rejects.toThrow(RulesImmutableError);
    expect(kernel.requests.filter((r) => [AUDIT_SET, AUDIT_ADD_RULE, AUDIT_DEL_RULE].includes(r.type))).toEqual([]);
    expect(listed(kernel)).toEqual([FOREIGN]);
    expect(saves).toBe(0);
  });

  it('refuses -e 2 without allowImmutable, naming the line, with nothing changed', async () => {
    await expect(apply(`${R1}\n-e 2\n`, { file: 'lock.rules' })).rejects.toThrow(
      'lock.rules:2: -e 2 would lock the audit configuration until reboot; pass --allow-immutable to apply it (nothing was changed)',
    );
    expect(kernel.requests.map((r) => r.type)).not.toContain(AUDIT_ADD_RULE);
    expect(kernel.status.enabled).toBe(0);
  });

  it('applies -e 2 last when allowed (fake kernel only)', async () => {
    await apply(`-e 2\n${R1}\n-b 8192\n`, { allowImmutable: true });
    expect(kernel.status.enabled).toBe(2);
    expect(kernel.status.backlogLimit).toBe(8192);
    expect(kernel.rules).toHaveLength(1);
    expect(kernel.requests.at(-1)?.type).toBe(AUDIT_SET);
  });

  it('applies settings in file order', async () => {
    await apply('-b 8192\n--backlog_wait_time 0\n-r 100\n-f 2\n-e 1\n');
    expect(kernel.status).toMatchObject({ backlogLimit: 8192, backlogWaitTime: 0, rateLimit: 100, failure: 2, enabled: 1 });
  });

  it('turns the kernel\'s EEXIST into "rule already loaded" naming file and line', async () => {
    kernel.overrides.set(AUDIT_ADD_RULE, () => -17);
    const error = await apply(`\n${R1}\n`, { file: 'dup.rules' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RulesApplyError);
    expect((error as RulesApplyError).message).toBe('dup.rules:2: rule already loaded (the kernel holds an equal rule)');
    expect((error as RulesApplyError).code).toBe('EEXIST');
  });

  it('reports a rule given twice in the files as already loaded, on every apply alike', async () => {
    const text = `${R1}\n${R1}\n`;
    await expect(apply(text)).rejects.toThrow('test.rules:2: rule already loaded');
    await expect(apply(text)).rejects.toThrow('test.rules:2: rule already loaded');
    expect(kernel.rules).toHaveLength(1);
  });

  it('skips the io_uring rules a kernel before 5.16 refuses (EINVAL for the unknown list) and applies the rest', async () => {
    // audit_rule_data starts with its flags word: the filter list (AUDIT_FILTER_URING_EXIT = 7).
    const URING_LIST = 7;
    kernel.overrides.set(AUDIT_ADD_RULE, (payload) => (payload.readUInt32LE(0) === URING_LIST ? -22 : (kernel.rules.push(payload), 0)));
    const result = await apply(network, { file: 'network.rules' });
    const uringLines = network.split('\n').flatMap((line, index) => (line.startsWith('-a always,io_uring') ? [`network.rules:${index + 1}`] : []));
    expect(uringLines.length).toBeGreaterThan(0);
    expect(result.skippedUring).toEqual(uringLines);
    expect(result.errors).toEqual([]);
    expect(kernel.rules.map((bytes) => decodeRule(bytes).list)).not.toContain('io_uring');
    expect(result.added).toBe(kernel.rules.length);
    expect(result.added).toBe(network.split('\n').filter((line) => line.startsWith('-a ')).length - uringLines.length);
  });

  it('still stops on EINVAL for a rule of another list', async () => {
    kernel.overrides.set(AUDIT_ADD_RULE, () => -22);
    await expect(apply(`${R1}\n`)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('turns EPERM into a permission message even under -i', async () => {
    kernel.overrides.set(AUDIT_ADD_RULE, () => -1);
    await expect(apply(`-i\n${R1}\n`)).rejects.toMatchObject({ code: 'EPERM', message: 'test.rules:2: the kernel refused (EPERM): run as root, or with CAP_AUDIT_CONTROL' });
  });

  it('goes on after a kernel refusal with -i, and the run succeeds', async () => {
    load(R1);
    kernel.overrides.set(AUDIT_ADD_RULE, (payload) => (kernel.rules.some((r) => r.equals(payload)) ? -17 : (kernel.rules.push(payload), 0)));
    const result = await apply(`-i\n-D\n${R1}\n${R1}\n${R2}\n`);
    expect(result.errors.map((e) => e.message)).toEqual(['test.rules:4: rule already loaded (the kernel holds an equal rule)']);
    expect(result.failed).toBe(false);
    expect(kernel.rules).toHaveLength(2);
  });

  it('goes on after a kernel refusal with -c, and the run fails at the end', async () => {
    kernel.overrides.set(AUDIT_ADD_RULE, (payload) => (payload.equals(encodeRule(compileRule(R1, x86))) ? -22 : (kernel.rules.push(payload), 0)));
    const result = await apply(`-c\n${R1}\n${R2}\n`);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toMatch(/^test.rules:2: the kernel refused the rule: AUDIT_ADD_RULE failed: EINVAL/);
    expect(result.failed).toBe(true);
    expect(listed(kernel)).toEqual([formatRule(compileRule(R2, x86), x86)]);
  });

  it('stops at the first kernel refusal without -i or -c, keeping the state of what it added', async () => {
    kernel.overrides.set(AUDIT_ADD_RULE, (payload) => (payload.equals(encodeRule(compileRule(R2, x86))) ? -22 : (kernel.rules.push(payload), 0)));
    await expect(apply(`${R1}\n${R2}\n${R3}\n`)).rejects.toThrow(/^test.rules:2: the kernel refused the rule/);
    expect(kernel.rules).toHaveLength(1);
    expect(state.rules.map((r) => r.source)).toEqual(['test.rules:1']);
  });

  it('treats a rule loaded with -A as the same rule on the next apply (the kernel drops the prepend flag)', async () => {
    const text = R1.replace('-a ', '-A ');
    await apply(text);
    const loaded = kernel.rules[0];
    expect(loaded).toBeDefined();
    kernel.rules[0] = encodeRule({ ...decodeRule(loaded as Buffer), prepend: false });
    expect(await apply(text)).toMatchObject({ added: 0, alreadyLoaded: 1 });
  });

  it('clear --all removes every rule and forgets its own', async () => {
    load(FOREIGN);
    await apply(`${R1}\n`);
    expect(await clear(true)).toBe(2);
    expect(kernel.rules).toEqual([]);
    expect(state.rules).toEqual([]);
  });
});

describe('the applied-rules state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditflow-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads as empty when there is none', () => {
    expect(readAppliedState(join(dir, 'missing'))).toEqual({ rules: [] });
  });

  it('is written by rename, leaving no temporary file, and reads back', () => {
    const state = { rules: [{ identity: 'ab01', source: 'a.rules:3', text: '-w /etc/passwd -p wa' }] };
    writeAppliedState(join(dir, 'sub'), state);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['applied-rules.json']);
    expect(readAppliedState(join(dir, 'sub'))).toEqual(state);
  });

  it('refuses a file that is not its own', () => {
    writeFileSync(join(dir, 'applied-rules.json'), '{"rules": 3}');
    expect(() => readAppliedState(dir)).toThrow(/is not an auditflow rules state file/);
  });

  it('lives in the option, else $AUDITFLOW_STATE_DIR, else /var/lib/auditflow', () => {
    expect(stateDirectory('/opt/x', { AUDITFLOW_STATE_DIR: '/env' })).toBe('/opt/x');
    expect(stateDirectory(undefined, { AUDITFLOW_STATE_DIR: '/env' })).toBe('/env');
    expect(stateDirectory(undefined, {})).toBe('/var/lib/auditflow');
  });
});

describe('the canonical form rules check prints', () => {
  it('prints every command kind as a rules file would say it', () => {
    const text = ['-D', '-D -k k', '-b 8192', '--backlog_wait_time 0', '-r 10', '-f 2', '-e 1', '-e 2', '--reset-lost', '-i', '-c',
      '-a exit,always -S connect -k c', '-d always,exit -S connect -k c', '-w /etc/passwd -p wa', '-W /etc/passwd -p wa'].join('\n');
    expect(commands(text).map((c) => formatCommand(c, x86))).toEqual([
      '-D', '-D -k k', '-b 8192', '--backlog_wait_time 0', '-r 10', '-f 2', '-e 1', '-e 2', '--reset-lost', '-i', '-c',
      '-a always,exit -S connect -F key=c', '-d always,exit -S connect -F key=c', '-w /etc/passwd -p wa', '-W /etc/passwd -p wa',
    ]);
  });
});
