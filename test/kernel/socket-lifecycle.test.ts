import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AuditControl } from '../../src/audit/control.js';
import { AuditSocket } from '../../src/audit/socket.js';
import { AUDIT_GET } from '../../src/audit/constants.js';
import { nativeBinding } from '../../src/native/binding.js';
import { finished, helperPath, run, waitForLine } from '../helpers/child.js';

describe('audit socket lifecycle', () => {
  it('closes twice harmlessly and refuses to send afterwards with a clear error', async () => {
    const socket = new AuditSocket();
    expect(socket.portId).toBeGreaterThan(0);
    const first = socket.close();
    expect(socket.close()).toBe(first);
    await first;
    expect(() => socket.send(AUDIT_GET, Buffer.alloc(0), 0)).toThrow(/the audit socket is closed/);
  });

  it('throws a Node-style EBADF from the native socket after close', () => {
    const native = new (nativeBinding().AuditSocket)({ mode: 'unicast', rcvbuf: 0, maxBatchRecords: 16, maxQueueBytes: 1 << 20 }, () => {}, () => {});
    native.close();
    native.close();
    expect(() => native.send(AUDIT_GET, Buffer.alloc(0), 0)).toThrow(expect.objectContaining({ code: 'EBADF', errno: -9, syscall: 'sendto' }));
  });

  it('delivers replies whose payload is empty (an NLMSG_DONE alone in its batch) every time', async () => {
    // Regression: a batch of only empty payloads was once handed over as a zero-length
    // external buffer, which V8 treats as detached; the reply was lost and the request timed out.
    const control = AuditControl.open({ timeoutMs: 2000 });
    try {
      for (let i = 0; i < 300; i++) await control.listRules();
    } finally {
      await control.close();
    }
  });

  it('raises the receive buffer past rmem_max with SO_RCVBUFFORCE', async () => {
    const socket = new AuditSocket({ rcvbuf: 64 * 1024 * 1024 });
    // The kernel reports double what was set (socket(7)).
    expect(socket.receiveBufferSize).toBe(128 * 1024 * 1024);
    await socket.close();
  });

  it('keeps the process alive while referenced, and lets it exit when unref()d', async () => {
    const unref = await run(process.execPath, ['--import', 'tsx', helperPath('open-socket.ts'), 'unicast', 'unref']);
    expect(unref.code).toBe(0);
    expect(unref.stdout).toBe('opened\n');

    const referenced = spawn(process.execPath, ['--import', 'tsx', helperPath('open-socket.ts'), 'unicast', 'ref'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(referenced);
    await waitForLine(referenced, /^opened/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(referenced.exitCode).toBeNull();
    referenced.kill('SIGTERM');
    expect((await done).signal).toBe('SIGTERM');
  });

  it('reports a refused multicast bind without CAP_AUDIT_READ as a Node-style error', async () => {
    const result = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=-all',
      process.execPath,
      '--import',
      'tsx',
      helperPath('open-socket.ts'),
      'multicast',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ code: 'EPERM', errno: -1, syscall: 'bind', message: 'EPERM: Operation not permitted, bind' });
  });
});
