import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInetDiag, type InetDiagSocket } from '../../../src/linux/inet-diag.js';

const text = readFileSync(new URL('../../fixtures/sockdiag/destroy-lo.hex', import.meta.url), 'utf8').split('\n');
const messages = text.filter((line) => line !== '' && !line.startsWith('#')).map((line) => Buffer.from(line, 'hex'));
/** `# workload: tcp v4 client 47216 server 55259 ...`: the ports the workload printed. */
const workload = text.filter((line) => line.startsWith('# workload: ')).map((line) => line.split(' ').slice(2));

function socket(message: Buffer): InetDiagSocket {
  const result = parseInetDiag(message);
  if (!result.ok) throw new Error(result.reason);
  return result.socket;
}

const [tcp4Client, tcp4Server, tcp4Listener, tcp6Client, tcp6Server, , udp4Sender, , udp6Sender] = messages.map(socket) as InetDiagSocket[];
const port = (line: number, word: string): number => Number(workload[line]?.[(workload[line]?.indexOf(word) ?? -2) + 1]);

describe('sock_diag destroy messages captured on lo', () => {
  it('holds the ten sockets of the workload', () => {
    expect(messages).toHaveLength(10);
  });

  it('gives both ends of a TCP connection, its protocol and its owner', () => {
    expect(tcp4Client).toMatchObject({ family: 2, state: 7, protocol: 6, localAddr: '127.0.0.1', localPort: port(0, 'client'), remoteAddr: '127.0.0.1', remotePort: port(0, 'server'), uid: 0, inode: 0 });
    expect(tcp4Server).toMatchObject({ localPort: port(0, 'server'), remotePort: port(0, 'client') });
    expect(tcp6Client).toMatchObject({ family: 10, localAddr: '::1', localPort: port(1, 'client'), remoteAddr: '::1', remotePort: port(1, 'server') });
    expect(tcp4Client?.cookie).toMatch(/^[0-9a-f]{16}$/);
  });

  it('counts the payload each side sent exactly in bytesSent, and SYN/FIN in the acked and received counters', () => {
    // 123,457 bytes client → server, 54,321 back; the client closed first.
    expect(tcp4Client?.tcp).toMatchObject({ bytesSent: 123_457, bytesRetrans: 0, bytesAcked: 123_457 + 2, bytesReceived: 54_321 });
    expect(tcp4Server?.tcp).toMatchObject({ bytesSent: 54_321, bytesAcked: 54_321 + 1, bytesReceived: 123_457 + 1 });
    expect(tcp4Client?.tcp?.dataSegsOut).toBeGreaterThan(0);
    expect(tcp4Client?.tcp?.rttUs).toBeGreaterThan(0);
    expect(tcp6Server?.tcp).toMatchObject({ bytesSent: 2000, bytesReceived: 1001 });
  });

  it('gives a listener its local end and zero counters', () => {
    expect(tcp4Listener).toMatchObject({ localAddr: '127.0.0.1', localPort: port(0, 'server'), remoteAddr: '0.0.0.0', remotePort: 0 });
    expect(tcp4Listener?.tcp).toMatchObject({ bytesSent: 0, bytesReceived: 0, segsOut: 0 });
  });

  it('gives an unconnected UDP socket its local end only, and no TCP counters', () => {
    expect(udp4Sender).toMatchObject({ protocol: 17, localPort: port(2, 'sender'), remoteAddr: '0.0.0.0', remotePort: 0, tcp: null });
    expect(udp6Sender).toMatchObject({ protocol: 17, localAddr: '::', localPort: port(3, 'sender'), remoteAddr: '::', tcp: null });
  });

  it('refuses what is not a whole inet sock_diag message, and never throws', () => {
    const first = messages[0] as Buffer;
    expect(parseInetDiag(first.subarray(0, 60))).toEqual({ ok: false, reason: 'truncated' });
    const other = Buffer.from(first);
    other.writeUInt16LE(3, 4); // NLMSG_DONE
    expect(parseInetDiag(other)).toEqual({ ok: false, reason: 'not-sock-diag' });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 400 }), fc.uint8Array({ maxLength: 64 }), (which, cut, noise) => {
        const message = Buffer.concat([(messages[which] as Buffer).subarray(0, cut), Buffer.from(noise)]);
        parseInetDiag(message);
      }),
    );
  });
});
