import { describe, expect, it } from 'vitest';
import { AuditControl } from '../../../src/audit/control.js';
import { AuditRequestError, AuditSlotTakenError, AuditTimeoutError } from '../../../src/audit/errors.js';
import { AuditSocket } from '../../../src/audit/socket.js';
import { restoreAuditState, snapshotAuditState } from '../../../src/audit/state-guard.js';
import { FakeKernel } from '../../helpers/fake-kernel.js';

function controlOn(kernel: FakeKernel, timeoutMs = 1000): AuditControl {
  return AuditControl.open({ binding: kernel.binding(), timeoutMs, staleHolderRetries: 3 });
}

describe('AuditControl against a fake kernel', () => {
  it('reads the status whether the ACK comes before or after the data', async () => {
    for (const dataBeforeAck of [false, true]) {
      const kernel = new FakeKernel();
      kernel.dataBeforeAck = dataBeforeAck;
      kernel.status.backlogLimit = 8192;
      kernel.status.lost = 7;
      const control = controlOn(kernel);
      expect(await control.status()).toMatchObject({ backlogLimit: 8192, lost: 7, enabled: 0 });
      await control.close();
    }
  });

  it('collects a multipart rule list until NLMSG_DONE, keeping the order', async () => {
    const kernel = new FakeKernel();
    kernel.rules = [Buffer.from('first rule'), Buffer.from('second rule')];
    const control = controlOn(kernel);
    expect((await control.listRules()).map(String)).toEqual(['first rule', 'second rule']);
    kernel.rules = [];
    expect(await control.listRules()).toEqual([]);
    await control.close();
  });

  it('matches replies to requests by sequence number when several are in flight', async () => {
    const kernel = new FakeKernel();
    kernel.rules = [Buffer.from('a rule')];
    const control = controlOn(kernel);
    const [status, rules, status2] = await Promise.all([control.status(), control.listRules(), control.status()]);
    expect(status.backlogLimit).toBe(64);
    expect(rules).toHaveLength(1);
    expect(status2.failure).toBe(1);
    await control.close();
  });

  it('turns a negative errno reply into an AuditRequestError with its code', async () => {
    const kernel = new FakeKernel();
    const control = controlOn(kernel);
    const error = await control.deleteRule(Buffer.from('not loaded')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditRequestError);
    expect(error).toMatchObject({ code: 'ENOENT', errno: -2, request: 'AUDIT_DEL_RULE' });
    await control.close();
  });

  it('times out a request the kernel never answers, and closes cleanly afterwards', async () => {
    const kernel = new FakeKernel();
    kernel.silentTypes.add(1000);
    const control = controlOn(kernel, 50);
    await expect(control.status()).rejects.toBeInstanceOf(AuditTimeoutError);
    await control.close();
  });

  it('fails what is pending when closed', async () => {
    const kernel = new FakeKernel();
    kernel.silentTypes.add(1000);
    const control = controlOn(kernel, 10_000);
    const outcome = expect(control.status()).rejects.toThrow(/closed before the reply/);
    await control.close();
    await outcome;
  });

  it('returns the old lost counter when resetting it', async () => {
    const kernel = new FakeKernel();
    kernel.status.lost = 174000;
    const control = controlOn(kernel);
    expect(await control.resetLost()).toBe(174000);
    expect((await control.status()).lost).toBe(0);
    await control.close();
  });

  it('never sends enabled=2 from set(); setImmutable() is the only way', async () => {
    const kernel = new FakeKernel();
    const control = controlOn(kernel);
    await expect(control.set({ enabled: 2 })).rejects.toThrow(RangeError);
    expect(kernel.requests).toHaveLength(0);
    await control.setImmutable();
    expect(kernel.status.enabled).toBe(2);
    await expect(control.set({ backlogLimit: 100 })).rejects.toMatchObject({ code: 'EPERM' });
    await control.close();
  });

  it('names a live holder of the daemon slot', async () => {
    const kernel = new FakeKernel();
    kernel.status.pid = process.ppid;
    const control = controlOn(kernel);
    const error = await control.register().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditSlotTakenError);
    expect((error as AuditSlotTakenError).holderPid).toBe(process.ppid);
    expect((error as AuditSlotTakenError).message).toMatch(new RegExp(`held by pid ${process.ppid} \\(.+\\)`));
    await control.close();
  });

  it('retries while the slot is held by a pid that has exited, and gives up with a clear message', async () => {
    const kernel = new FakeKernel();
    const deadPid = 2 ** 22 + 1;
    kernel.status.pid = deadPid;
    let refusals = 0;
    kernel.overrides.set(1001, (payload) => {
      if (payload.readUInt32LE(0) !== 0x4) return 0;
      refusals++;
      if (refusals === 2) kernel.status.pid = 0;
      if (kernel.status.pid !== 0) return -17;
      kernel.status.pid = payload.readUInt32LE(12);
      return 0;
    });
    const control = controlOn(kernel);
    await control.register();
    expect(kernel.status.pid).toBe(process.pid);
    expect(refusals).toBe(2);

    kernel.status.pid = deadPid;
    kernel.overrides.set(1001, () => -17);
    await expect(control.register()).rejects.toThrow(`held by pid ${deadPid}, which has exited`);
    await control.close();
  });

  it('throws a clear error when sending on a closed socket', async () => {
    const socket = new AuditSocket({ binding: new FakeKernel().binding() });
    const closing = socket.close();
    expect(socket.close()).toBe(closing);
    await closing;
    expect(() => socket.send(1000, Buffer.alloc(0), 0)).toThrow(/cannot send message type 1000: the audit socket is closed/);
  });
});

describe('snapshot and restore of the audit state', () => {
  it('removes added rules, restores removed ones and settings, and gives the slot back', async () => {
    const kernel = new FakeKernel();
    kernel.rules = [Buffer.from('kept'), Buffer.from('removed by the test')];
    kernel.status.backlogLimit = 320;
    const control = controlOn(kernel);
    const snapshot = await snapshotAuditState(control);

    await control.register();
    await control.set({ enabled: 1, backlogLimit: 8192, backlogWaitTime: 0, rateLimit: 100, failure: 0 });
    await control.addRule(Buffer.from('added by the test'));
    await control.deleteRule(Buffer.from('removed by the test'));

    await restoreAuditState(control, snapshot);
    expect(kernel.status).toEqual(snapshot.status);
    expect(kernel.rules.map(String).sort()).toEqual(['kept', 'removed by the test']);
    await control.close();
  });

  it('refuses to snapshot an immutable kernel', async () => {
    const kernel = new FakeKernel();
    kernel.status.enabled = 2;
    const control = controlOn(kernel);
    await expect(snapshotAuditState(control)).rejects.toThrow(/immutable \(enabled=2\) until reboot/);
    await control.close();
  });

  it('runs every restore step even when one fails, and reports the failure', async () => {
    const kernel = new FakeKernel();
    const control = controlOn(kernel);
    const snapshot = await snapshotAuditState(control);
    await control.set({ backlogLimit: 999 });
    await control.addRule(Buffer.from('stuck'));
    kernel.overrides.set(1012, () => -1);
    await expect(restoreAuditState(control, snapshot)).rejects.toMatchObject({ code: 'EPERM' });
    expect(kernel.status.backlogLimit).toBe(64);
    await control.close();
  });
});
