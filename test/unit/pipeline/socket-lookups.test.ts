// When the pipeline asks its resolver (/proc, or the socket itself) about a socket, and what it keeps
// from the answer: the captured scenarios fed with a resolver that counts its calls.
import { describe, expect, it } from 'vitest';
import { type SocketInfo, type SocketResolver } from '../../../src/pipeline/sockets.js';
import { fixtureLines, runLogLines } from './fixtures.js';
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from '../../../src/linux/socket.js';

const LOCAL: SocketInfo['local'] = { addr: '127.0.0.1', port: 40001, bytes: Buffer.from([127, 0, 0, 1]) };

function counting(answer: (pid: number, fd: number) => SocketInfo | undefined): { resolver: SocketResolver; calls: Array<[number, number]> } {
  const calls: Array<[number, number]> = [];
  return {
    calls,
    resolver: (pid, fd) => {
      calls.push([pid, fd]);
      return answer(pid, fd);
    },
  };
}

const udp = (): SocketInfo => ({ family: AF_INET, type: SOCK_DGRAM, protocol: 17, local: { ...LOCAL }, remote: undefined, source: 'proc' });

/** The fixture's records, without the events of one syscall number (41: socket). */
function without(name: string, syscall: number): string[] {
  const lines = fixtureLines(name);
  const serialOf = (line: string): string | undefined => /msg=audit\([\d.]+:(\d+)\)/.exec(line)?.[1];
  const dropped = new Set(lines.filter((line) => line.startsWith('type=SYSCALL') && line.includes(` syscall=${syscall} `)).map(serialOf));
  return lines.filter((line) => !dropped.has(serialOf(line)));
}

describe('socket lookups', () => {
  it('asks once for a socket that sends again and again, and gives every send its local port', () => {
    const { resolver, calls } = counting(udp);
    const sends = runLogLines(fixtureLines('sendto-repeat'), { resolver, aggregateWindowMs: 0 }).flows.filter((flow) => flow.op === 'sendto');
    expect(sends).toHaveLength(5);
    expect(sends.every((flow) => flow.local_port === 40001 && flow.local_addr === '127.0.0.1')).toBe(true);
    expect(new Set(calls.map(([, fd]) => fd)).size).toBe(calls.length);
  });

  it('learns a socket whose socket() it never saw, and asks about it only once', () => {
    const { resolver, calls } = counting(udp);
    const sends = runLogLines(without('sendto-repeat', 41), { resolver, aggregateWindowMs: 0 }).flows.filter((flow) => flow.op === 'sendto');
    expect(sends).toHaveLength(5);
    expect(sends.every((flow) => flow.proto === 'udp' && flow.local_port === 40001)).toBe(true);
    const sendFd = sends[0]!.fd;
    expect(calls.filter(([, fd]) => fd === sendFd)).toHaveLength(1);
  });

  it('does not ask about a connect that failed', () => {
    const { resolver, calls } = counting(() => ({ family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { ...LOCAL }, remote: undefined, source: 'proc' }));
    const connect = runLogLines(fixtureLines('connect-tcp4-refused'), { resolver }).flows.find((flow) => flow.op === 'connect');
    expect(connect).toMatchObject({ result: 'ECONNREFUSED', local_port: null, proto: 'tcp' });
    expect(calls).toEqual([]);
  });

  it('asks about every successful connect, and about an accept only when its listener is not bound to one address', () => {
    const { resolver, calls } = counting(() => ({ family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { ...LOCAL }, remote: undefined, source: 'proc' }));
    const { flows } = runLogLines(fixtureLines('accept-peer'), { resolver });
    const connect = flows.find((flow) => flow.op === 'connect');
    const accept = flows.find((flow) => flow.op === 'accept');
    expect(connect).toMatchObject({ local_port: 40001 });
    // The listener's bind to port 0 was looked up once; its accept takes the listener's 127.0.0.1:40001.
    expect(accept).toMatchObject({ local_addr: '127.0.0.1', local_port: 40001 });
    expect(calls.map(([, fd]) => fd).sort()).toEqual([3, 4]);

    const wildcard = counting(() => ({ family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { addr: '0.0.0.0', port: 40002, bytes: Buffer.alloc(4) }, remote: undefined, source: 'proc' }));
    runLogLines(fixtureLines('accept-peer'), { resolver: wildcard.resolver });
    expect(wildcard.calls.map(([, fd]) => fd)).toContain(accept!.fd);
  });

  it('keeps nothing from a lookup that found another kind of socket (the fd was reused)', () => {
    const { resolver, calls } = counting(() => ({ family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { ...LOCAL }, remote: undefined, source: 'proc' }));
    const sends = runLogLines(fixtureLines('sendto-repeat'), { resolver, aggregateWindowMs: 0 }).flows.filter((flow) => flow.op === 'sendto');
    // The table says UDP (from socket()); the answer says TCP: it is asked again at every send.
    expect(sends.every((flow) => flow.proto === 'udp')).toBe(true);
    expect(calls.filter(([, fd]) => fd === sends[0]!.fd)).toHaveLength(5);
  });
});
