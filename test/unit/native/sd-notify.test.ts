import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeBinding } from '../../../src/native/binding.js';
import { finished, waitForLine } from '../../helpers/child.js';

// A real AF_UNIX datagram receiver (Node's dgram cannot open one): python3 binds the
// address, prints "ready", and prints the one datagram it receives.
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
address = sys.argv[1]
s.bind("\\0" + address[1:] if address.startswith("@") else address)
print("ready", flush=True)
print(s.recv(4096).decode(), flush=True)
`;

const saved = process.env.NOTIFY_SOCKET;
afterEach(() => {
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
});

async function notifyThrough(address: string, state: string): Promise<string> {
  const receiver = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = finished(receiver);
  await waitForLine(receiver, /^ready/);
  process.env.NOTIFY_SOCKET = address;
  expect(nativeBinding().sdNotify(state)).toBe(true);
  const { stdout } = await done;
  return stdout.split('\n')[1] ?? '';
}

describe('sdNotify', () => {
  it('returns false when NOTIFY_SOCKET is not set', () => {
    delete process.env.NOTIFY_SOCKET;
    expect(nativeBinding().sdNotify('READY=1')).toBe(false);
  });

  it('sends the state as one datagram to a socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditflow-notify-'));
    try {
      expect(await notifyThrough(join(dir, 'notify'), 'READY=1\nSTATUS=reading')).toBe('READY=1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends to an abstract socket named with a leading @', async () => {
    expect(await notifyThrough(`@auditflow-test-${process.pid}`, 'WATCHDOG=1')).toBe('WATCHDOG=1');
  });

  it('throws a Node-style error when nobody listens', () => {
    process.env.NOTIFY_SOCKET = `@auditflow-nobody-${process.pid}`;
    expect(() => nativeBinding().sdNotify('READY=1')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'sendto', errno: -111 }));
  });
});
