// KernelSession against the protocol fake: the cases the real kernel must never be put in here
// (immutable), and the order of what start and stop change.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../../src/daemon/config.js';
import { KernelSession, logReceiveBuffer, SELF_RULE_KEY } from '../../../src/daemon/kernel-session.js';
import { decodeRule, ruleKeys } from '../../../src/rules/index.js';
import { FakeKernel } from '../../helpers/fake-kernel.js';
import { AUDIT_GET } from '../../../src/audit/constants.js';

function session(kernel: FakeKernel, set: Record<string, string> = {}) {
  const env = { AUDITFLOW_STATE_DIR: mkdtempSync(join(tmpdir(), 'auditflow-ks-')), ...set };
  const settings = loadConfig({ env, file: '/dev/null' }).settings;
  const lines: Array<{ msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
  const ks = new KernelSession({ settings, log, onBatch: () => {}, onReadError: () => {}, force: false, binding: kernel.binding(), pid: 4242 });
  return { ks, lines };
}

const keys = (kernel: FakeKernel): string[] => kernel.rules.flatMap((bytes) => ruleKeys(decodeRule(bytes)));

describe('KernelSession', () => {
  it('on an immutable kernel registers and runs with the rules already loaded, changing nothing else', async () => {
    const kernel = new FakeKernel();
    kernel.status.enabled = 2;
    kernel.rules = [];
    const { ks, lines } = session(kernel);
    const report = await ks.start();
    expect(report.immutable).toBe(true);
    expect(report.rules).toBeUndefined();
    expect(kernel.status.pid).toBe(process.pid);
    expect(kernel.status.backlogLimit).toBe(64);
    expect(kernel.rules).toEqual([]);
    expect(lines.some((line) => line.msg.startsWith('the kernel audit configuration is immutable (enabled=2): running with the rules already loaded'))).toBe(true);
    expect(await ks.stop()).toEqual([]);
    expect(kernel.status.pid).toBe(0);
    expect(kernel.status.enabled).toBe(2);
    await ks.close();
  });

  it('sets the backlog, applies the ruleset, excludes its pid first in the list, and turns auditing on', async () => {
    const kernel = new FakeKernel();
    const { ks } = session(kernel, { AUDITFLOW_BACKLOG_LIMIT: '1234', AUDITFLOW_BACKLOG_WAIT_TIME: '0' });
    await ks.start();
    expect(kernel.status).toMatchObject({ pid: process.pid, enabled: 1, backlogLimit: 1234, backlogWaitTime: 0 });
    expect(keys(kernel).filter((key) => key === SELF_RULE_KEY)).toHaveLength(1);
    expect(keys(kernel).filter((key) => key.startsWith('auditflow-')).length).toBe(31);
    const self = kernel.rules.find((bytes) => ruleKeys(decodeRule(bytes)).includes(SELF_RULE_KEY));
    expect(decodeRule(self!).fields).toContainEqual({ kind: 'number', field: 'pid', op: '=', value: 4242 });
    expect(await ks.stop()).toEqual([]);
    expect(kernel.rules).toEqual([]);
    expect(kernel.status).toMatchObject({ pid: 0, enabled: 0 });
    await ks.close();
  });

  it('removes the self-exclusion rules a killed daemon left behind', async () => {
    const kernel = new FakeKernel();
    const first = session(kernel).ks;
    await first.start();
    kernel.status.pid = 0;
    const stale = kernel.rules.filter((bytes) => ruleKeys(decodeRule(bytes)).includes(SELF_RULE_KEY));
    expect(stale).toHaveLength(1);
    const { ks, lines } = session(kernel);
    await ks.start();
    expect(lines.some((line) => line.msg === 'removed the self-exclusion rule of an earlier auditflow')).toBe(true);
    expect(keys(kernel).filter((key) => key === SELF_RULE_KEY)).toHaveLength(1);
    await ks.stop();
    await Promise.all([ks.close(), first.close()]);
  });

  it('reads the multicast group without the status where the kernel refuses it (a container), and changes nothing', async () => {
    const kernel = new FakeKernel();
    kernel.overrides.set(AUDIT_GET, () => -1);
    const { ks, lines } = session(kernel, { AUDITFLOW_MODE: 'multicast' });
    const report = await ks.start();
    expect(report).toEqual({ immutable: false, rules: undefined, status: undefined });
    expect(lines.map((line) => line.msg)).toContainEqual(expect.stringContaining('reading the multicast group without it'));
    expect(kernel.requests.map((request) => request.type)).toEqual([AUDIT_GET]);
    // Unicast needs the status: the same refusal stops its start.
    await expect(session(kernel).ks.start()).rejects.toMatchObject({ code: 'EPERM' });
  });

  it('refuses a ruleset with an error before it changes anything', async () => {
    const kernel = new FakeKernel();
    const dir = mkdtempSync(join(tmpdir(), 'auditflow-bad-'));
    const file = join(dir, 'bad.rules');
    writeFileSync(file, '-a always,exit -S connect -F nosuchfield=1\n');
    const { ks } = session(kernel, { AUDITFLOW_RULES: file });
    await expect(ks.start()).rejects.toThrow(/bad\.rules:1: .*nothing was applied/);
    expect(kernel.status.pid).toBe(0);
    expect(kernel.requests.map((r) => r.type)).toEqual([1000]);
    await ks.close();
  });
});

describe('logReceiveBuffer', () => {
  const logged = (obtained: number): Array<{ level: number; msg: string; asked: number; obtained: number }> => {
    const lines: Array<{ level: number; msg: string; asked: number; obtained: number }> = [];
    logReceiveBuffer(pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) }), obtained, 16 * 1024 * 1024);
    return lines;
  };

  it('logs the size obtained with the size asked for', () => {
    // SO_RCVBUFFORCE took: getsockopt answers twice the size set (socket(7)).
    expect(logged(32 * 1024 * 1024)).toMatchObject([{ level: 30, msg: 'audit socket receive buffer', asked: 16 * 1024 * 1024, obtained: 32 * 1024 * 1024 }]);
  });

  it('warns when the kernel capped it (no CAP_NET_ADMIN: SO_RCVBUF up to net.core.rmem_max)', () => {
    const [line] = logged(2 * 212_992);
    expect(line).toMatchObject({ level: 40, asked: 16 * 1024 * 1024, obtained: 425_984 });
    expect(line?.msg).toContain('set sysctl net.core.rmem_max=16777216 or grant CAP_NET_ADMIN');
  });
});
