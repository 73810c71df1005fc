// `auditflow run` end to end: the real kernel, a real redis-server, the CLI as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRule, ruleKeys, formatRule } from '../../src/rules/index.js';
import { finished, helperPath, run, waitForLine } from '../helpers/child.js';
import { cli, type DaemonChild, readStream, startDaemon, tcpConnects, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { Redis } from 'ioredis';
import type { StatusReport } from '../../src/cli/status.js';
import { readSnapshot } from '../../src/daemon/snapshot.js';
import { until } from '../helpers/until.js';

const kernel = useKernel();
const servers = useDaemonRedis();

async function rulesWithKey(key: string): Promise<string[]> {
  return (await kernel.control.listRules())
    .map((bytes) => decodeRule(bytes))
    .filter((rule) => ruleKeys(rule).includes(key))
    .map((rule) => formatRule(rule, { machine: 'x86_64' }));
}

async function flowsTo(stream: string, port: number, op = 'connect'): Promise<Array<Record<string, string>>> {
  return (await readStream(servers.redis.url, stream)).map((e) => e.fields).filter((f) => f.kind === 'flow' && f.op === op && f.remote_port === String(port));
}

async function waitForFlows(stream: string, port: number, count: number, op = 'connect'): Promise<Array<Record<string, string>>> {
  let flows: Array<Record<string, string>> = [];
  const deadline = Date.now() + 20_000;
  while ((flows = await flowsTo(stream, port, op)).length < count) {
    if (Date.now() > deadline) throw new Error(`only ${flows.length} of ${count} ${op} flows to port ${port} in ${stream}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return flows;
}

describe('auditflow run', () => {
  it('publishes the flows of connects to Redis, and on SIGTERM puts the kernel back and exits 0', async () => {
    const before = await kernel.control.status();
    const rulesBefore = (await kernel.control.listRules()).length;
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'run:basic', '--set', 'labels=key:auditflow-connect=net-client'] });
    try {
      await daemon.waitForLog('running');
      const status = await kernel.control.status();
      expect(status.pid).toBe(daemon.pid);
      expect(status.enabled).toBe(1);
      expect(status.backlogLimit).toBe(8192);
      const self = await rulesWithKey('auditflow-self');
      expect(self).toHaveLength(1);
      expect(self[0]).toMatch(new RegExp(`never.* -F pid=${daemon.pid} `));
      expect(await rulesWithKey('auditflow-connect')).toHaveLength(4);

      const { port, close } = await tcpConnects(3);
      const flows = await waitForFlows('run:basic', port, 3);
      await close();
      for (const flow of flows) {
        expect(flow).toMatchObject({ kind: 'flow', v: '1', direction: 'egress', result: 'inprogress', family: 'inet', proto: 'tcp', proto_num: '6', remote_addr: '127.0.0.1', local_addr: '127.0.0.1', pid: String(process.pid), exe: process.execPath, key: 'auditflow-connect' });
        expect(Number(flow.local_port)).toBeGreaterThan(0);
        // The process context: names, parent, labels.
        expect(flow).toMatchObject({ user: 'root', euser: 'root', group: 'root', ppid: String(process.ppid), labels: '["net-client"]' });
        expect(flow.parent_exe).toBeTruthy();
        expect(Number(flow.proc_start)).toBeGreaterThan(0);
        expect(flow.community_id).toMatch(/^1:/);
        expect(flow.host).toBeTruthy();
        expect(flow.boot_id).toMatch(/^[0-9a-f-]{36}$/);
      }
      // `auditflow status` sees the daemon, its ruleset, and the stream with a consumer group's lag.
      const admin = new Redis(servers.redis.url);
      await admin.xgroup('CREATE', 'run:basic', 'readers', '0');
      await admin.quit();
      const env = { ...process.env, AUDITFLOW_RUNTIME_DIR: daemon.dirs.runtime, AUDITFLOW_REDIS_URL: servers.redis.url, AUDITFLOW_STREAM: 'run:basic' };
      await until(() => (readSnapshot(daemon.dirs.runtime)?.pipeline.flows ?? 0) >= 3, 5000, 'the status file');
      const shown = await run(process.execPath, [cli, 'status', '--json'], { env });
      expect(shown.code).toBe(0);
      const report = JSON.parse(shown.stdout) as StatusReport;
      expect(report.auditflow?.running).toBe(true);
      expect(report.auditflow?.snapshot.pid).toBe(daemon.pid);
      expect(report.auditflow?.snapshot.sinkHealth.state).toBe('ready');
      expect(report.ruleset).toMatchObject({ error: null, configured: 30, missing: 0, matches: true });
      expect(report.redis).toMatchObject({ reachable: true, stream: 'run:basic' });
      expect(report.redis?.length).toBeGreaterThanOrEqual(4);
      expect(report.redis?.groups).toEqual([{ name: 'readers', consumers: 0, pending: 0, lag: report.redis?.length, lastDeliveredId: '0-0' }]);
      const text = await run(process.execPath, [cli, 'status'], { env });
      expect(text.stdout).toMatch(new RegExp(`^auditflow +running, pid ${daemon.pid}, unicast`, 'm'));
      expect(text.stdout).toMatch(/^configured ruleset +30 rules \(.*network\.rules\), all loaded$/m);
      expect(text.stdout).toMatch(/^ +group readers +0 consumers, 0 pending, lag \d+, last delivered 0-0$/m);

      // The daemon's own Redis connection is never a flow.
      const entries = await readStream(servers.redis.url, 'run:basic');
      expect(entries.filter((e) => e.fields.kind === 'flow' && e.fields.pid === String(daemon.pid))).toEqual([]);
    } finally {
      const exit = await daemon.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
    }
    const after = await kernel.control.status();
    expect(after.pid).toBe(0);
    expect(after.enabled).toBe(before.enabled);
    expect((await kernel.control.listRules()).length).toBe(rulesBefore);
    const entries = await readStream(servers.redis.url, 'run:basic');
    expect(entries[0]?.fields).toMatchObject({ kind: 'lifecycle', event: 'start', pid: String(daemon.pid) });
    expect(entries.at(-1)?.fields).toMatchObject({ kind: 'lifecycle', event: 'stop', reason: 'SIGTERM' });
    expect(entries.filter((e) => e.fields.kind === 'loss')).toEqual([]);
  });

  it('refuses to start while another daemon holds the slot, naming it; --force takes the slot', async () => {
    const holder = spawn(process.execPath, ['--import', 'tsx', helperPath('hold-daemon-slot.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const holderDone = finished(holder);
    const rulesBefore = (await kernel.control.listRules()).length;
    let forced: DaemonChild | undefined;
    try {
      await waitForLine(holder, /^registered/);
      const refused = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'run:slot'] });
      const exit = await refused.exited;
      expect(exit.code).toBe(5);
      expect(refused.stderr()).toContain(`held by pid ${holder.pid}`);
      expect(refused.stderr()).toContain('systemctl stop auditd');
      expect(refused.stderr()).toContain('--mode multicast');
      expect((await kernel.control.status()).pid).toBe(holder.pid);
      expect((await kernel.control.listRules()).length).toBe(rulesBefore);

      forced = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'run:slot', '--force'] });
      await forced.waitForLog('running');
      expect(forced.logs.some((line) => line.msg.startsWith('taking the audit daemon slot by force') && line.holder === holder.pid)).toBe(true);
      expect((await holderDone).code).toBe(0);
      expect((await kernel.control.status()).pid).toBe(forced.pid);
    } finally {
      if (holder.exitCode === null) holder.kill('SIGTERM');
      await holderDone;
      expect((await forced?.stop())?.code).toBe(0);
    }
  });

  it('reads beside a unicast daemon in multicast mode without disturbing it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'auditflow-rules-'));
    const applied = await run(process.execPath, [cli, 'rules', 'apply', '--state-dir', stateDir]);
    expect(applied.code).toBe(0);
    // auditd turns auditing on with its rules (-e 1); `rules apply` alone does not.
    await kernel.control.set({ enabled: 1 });
    const holder = spawn(process.execPath, ['--import', 'tsx', helperPath('hold-daemon-slot.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const holderDone = finished(holder);
    try {
      await waitForLine(holder, /^registered/);
      const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'run:multicast', '--mode', 'multicast'] });
      let rules: number;
      try {
        await daemon.waitForLog('running');
        expect(daemon.logs.some((line) => line.msg.startsWith('auditing is off'))).toBe(false);
        rules = (await kernel.control.listRules()).length;
        const { port, close } = await tcpConnects(2);
        await waitForFlows('run:multicast', port, 2);
        await close();
      } finally {
        expect((await daemon.stop()).code).toBe(0);
      }
      expect((await kernel.control.status()).pid).toBe(holder.pid);
      expect((await kernel.control.listRules()).length).toBe(rules);
      holder.kill('SIGTERM');
      const held = await holderDone;
      expect(Number(/records (\d+)/.exec(held.stdout)?.[1])).toBeGreaterThan(0);
    } finally {
      if (holder.exitCode === null) holder.kill('SIGTERM');
      await holderDone;
      expect((await run(process.execPath, [cli, 'rules', 'clear', '--state-dir', stateDir])).code).toBe(0);
    }
  });

  it('applies a changed ruleset on SIGHUP while it keeps reading: no serial gap, every connect a flow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditflow-hup-'));
    const rules = join(dir, 'net.rules');
    const connectRules = ['-a always,exit -F arch=b64 -S socket -F a0=2 -F success=1 -k hup-socket', '-a always,exit -F arch=b64 -S connect -F saddr_fam=2 -k hup-connect'];
    writeFileSync(rules, [...connectRules, '-a always,exit -F arch=b64 -S bind -F saddr_fam=2 -k hup-bind', ''].join('\n'));
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'run:hup', '--rules', rules] });
    try {
      await daemon.waitForLog('running');
      expect(await rulesWithKey('hup-bind')).toHaveLength(1);

      // Connects go on, one after another, while the ruleset changes underneath.
      const server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      let made = 0;
      let going = true;
      const load = (async () => {
        while (going) {
          await new Promise<void>((resolve, reject) => {
            const socket = connect(port, '127.0.0.1', () => {
              socket.destroy();
              resolve();
            });
            socket.on('error', reject);
          });
          made++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await until(() => made >= 20, 10_000, 'connects before the reload');
      writeFileSync(rules, [...connectRules, '-a always,exit -F arch=b64 -S sendto,sendmsg -F saddr_fam=2 -k hup-send', ''].join('\n'));
      daemon.child.kill('SIGHUP');
      await daemon.waitForLog('reloaded');
      const atReload = made;
      await until(() => made >= atReload + 20, 10_000, 'connects after the reload');
      going = false;
      await load;
      await new Promise<void>((resolve) => server.close(() => resolve()));

      expect(await rulesWithKey('hup-bind')).toEqual([]);
      expect(await rulesWithKey('hup-send')).toHaveLength(1);
      expect(await rulesWithKey('hup-connect')).toHaveLength(1);
      const flows = await waitForFlows('run:hup', port, made);
      expect(flows).toHaveLength(made);
      const serials = flows.map((f) => Number(f.serial));
      expect(new Set(serials).size).toBe(made);
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    const losses = (await readStream(servers.redis.url, 'run:hup')).filter((e) => e.fields.kind === 'loss');
    expect(losses).toEqual([]);
    expect(await rulesWithKey('hup-connect')).toEqual([]);
  });
});
