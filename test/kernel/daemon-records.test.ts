import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { AuditSocket, batchRecords, type AuditMessage } from '../../src/audit/socket.js';
import { finished, helperPath } from '../helpers/child.js';
import { useKernel } from '../helpers/kernel.js';
import { until } from '../helpers/until.js';
import { connectRuleForChildrenOf, nativeConnectSyscall } from '../helpers/raw-rule.js';
import { AUDIT_EOE, AUDIT_SOCKADDR, AUDIT_SYSCALL, field, simpleRecord } from '../helpers/records.js';

const kernel = useKernel();


describe('the audit daemon socket on the real kernel', () => {
  it('receives the SYSCALL, SOCKADDR and EOE records of a child TCP connect, then leaves the kernel as it was', async () => {
    const batches: AuditMessage[][] = [];
    const socket = new AuditSocket({ onBatch: (batch) => batches.push(batchRecords(batch)) });
    const control = new AuditControl(socket);
    const rule = connectRuleForChildrenOf(process.pid, 'auditflow-test-records');
    try {
      await control.register();
      await control.set({ enabled: 1 });
      await control.addRule(rule);
      expect((await kernel.control.status()).pid).toBe(process.pid);

      const child = await finished(spawn(process.execPath, [helperPath('connect-burst.mjs'), '1']));
      expect(child.code).toBe(0);
      const port = Number(/port (\d+)/.exec(child.stdout)?.[1]);

      const records = () => batches.flat().map(simpleRecord);
      const connect = () =>
        records().find((r) => r.type === AUDIT_SYSCALL && field(r.text, 'syscall') === String(nativeConnectSyscall()) && r.text.includes('key="auditflow-test-records"'));
      await until(() => {
        const syscall = connect();
        return syscall !== undefined && records().some((r) => r.type === AUDIT_EOE && r.serial === syscall.serial);
      });
      const syscall = connect()!;
      const event = records().filter((r) => r.serial === syscall.serial);
      expect(event.map((r) => r.type)).toEqual(expect.arrayContaining([AUDIT_SYSCALL, AUDIT_SOCKADDR, AUDIT_EOE]));
      // Framed by datagram length: the record's text is whole, up to its last field.
      expect(syscall.text).toMatch(/ key="auditflow-test-records"$/);
      const sockaddr = event.find((r) => r.type === AUDIT_SOCKADDR)!;
      const hexPort = port.toString(16).padStart(4, '0').toUpperCase();
      // AF_INET (0x0002, host order), the port (network order), 127.0.0.1.
      expect(field(sockaddr.text, 'saddr')).toMatch(new RegExp(`^0200${hexPort}7F000001`));
      expect(field(syscall.text, 'ppid')).toBe(String(process.pid));
    } finally {
      await control.unregister().catch(() => {});
      await kernel.control.deleteRule(rule).catch(() => {});
      await socket.close();
    }
    const after = await kernel.control.status();
    expect(after.pid).toBe(kernel.snapshot.status.pid);
    expect(await kernel.control.listRules()).toEqual(kernel.snapshot.rules);
  });

  it('round-trips a set of backlog_limit and backlog_wait_time through status', async () => {
    await kernel.control.set({ backlogLimit: 8191, backlogWaitTime: 1234 });
    const status = await kernel.control.status();
    expect(status.backlogLimit).toBe(8191);
    expect(status.backlogWaitTime).toBe(1234);
    await kernel.control.set({ backlogLimit: kernel.snapshot.status.backlogLimit, backlogWaitTime: kernel.snapshot.status.backlogWaitTime });
    const restored = await kernel.control.status();
    expect(restored.backlogLimit).toBe(kernel.snapshot.status.backlogLimit);
    expect(restored.backlogWaitTime).toBe(kernel.snapshot.status.backlogWaitTime);
  });

  it('lists a loaded rule with the exact bytes it was added with', async () => {
    const rule = connectRuleForChildrenOf(1, 'auditflow-test-list');
    await kernel.control.addRule(rule);
    try {
      const rules = await kernel.control.listRules();
      expect(rules.some((listed) => listed.equals(rule))).toBe(true);
    } finally {
      await kernel.control.deleteRule(rule);
    }
    expect((await kernel.control.listRules()).some((listed) => listed.equals(rule))).toBe(false);
  });

  it('reads AUDIT_SIGNAL_INFO: the pid and uid that last signalled the registered daemon', async () => {
    const socket = new AuditSocket();
    const control = new AuditControl(socket);
    const signalled = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
    try {
      await control.register();
      // kernel/audit.c audit_signal_info(): SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to
      // the audit daemon record the sender.
      const sender = spawn('kill', ['-USR2', String(process.pid)]);
      const exit = await finished(sender);
      expect(exit.code).toBe(0);
      await signalled;
      const info = await control.signalInfo();
      expect(info.pid).toBe(sender.pid);
      expect(info.uid).toBe(process.getuid!());
    } finally {
      await control.unregister().catch(() => {});
      await socket.close();
    }
  });

  it('names the errno when the kernel refuses a request', async () => {
    const rule = connectRuleForChildrenOf(1, 'auditflow-test-missing');
    await expect(kernel.control.deleteRule(rule)).rejects.toMatchObject({ name: 'AuditRequestError', code: 'ENOENT' });
  });
});
