// What each captured scenario must show, field by field (the golden files pin the rest).
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../../src/pipeline/flow.js';
import type { SocketInfo, SocketResolver } from '../../../src/pipeline/socket-kinds.js';
import { AF_INET, SOCK_STREAM } from '../../../src/linux/socket.js';
import { fixtureLines, fixtureWorkload, runLogLines, type Run } from './fixtures.js';

const run = (name: string, options: Parameters<typeof runLogLines>[1] = {}): Run => runLogLines(fixtureLines(name), options);
const only = (flows: Flow[], op: Flow['op']): Flow => {
  const matching = flows.filter((flow) => flow.op === op);
  expect(matching).toHaveLength(1);
  return matching[0]!;
};

describe('captured scenarios through the pipeline', () => {
  it('gives an IPv4 TCP connect its protocol from the socket() event', () => {
    const connect = only(run('connect-tcp4-ok').flows, 'connect');
    expect(connect).toMatchObject({ direction: 'egress', result: 'ok', family: 'inet', proto: 'tcp', proto_num: 6, remote_addr: '127.0.0.1' });
    expect(connect.remote_port).toBeGreaterThan(0);
  });

  it('names a refused connect by its errno', () => {
    expect(only(run('connect-tcp4-refused').flows, 'connect')).toMatchObject({ result: 'ECONNREFUSED', remote_port: 9, proto: 'tcp' });
    expect(only(run('connect-tcp6-refused').flows, 'connect')).toMatchObject({ result: 'ECONNREFUSED', family: 'inet6', remote_addr: '::1', remote_port: 9 });
  });

  it('reports a non-blocking connect as in progress, not failed', () => {
    expect(only(run('connect-tcp4-nonblock').flows, 'connect').result).toBe('inprogress');
    expect(only(run('connect-tcp6-nonblock').flows, 'connect').result).toBe('inprogress');
  });

  it('shows an IPv4-mapped IPv6 connect as IPv4 and flags it', () => {
    expect(only(run('connect-ipv4-mapped').flows, 'connect')).toMatchObject({ family: 'inet6', remote_addr: '127.0.0.1', ipv4_mapped: true, proto: 'tcp' });
  });

  it('gives an accept the peer from SOCKADDR and a Community ID', () => {
    for (const name of ['accept-peer', 'accept4-peer', 'accept6-peer']) {
      const accept = only(run(name).flows, 'accept');
      expect(accept).toMatchObject({ direction: 'ingress', result: 'ok', proto: 'tcp' });
      expect(accept.remote_port).toBeGreaterThan(0);
      expect(accept.syscall).toBe(name.startsWith('accept4') ? 'accept4' : 'accept');
    }
  });

  it('keeps an accept without a peer address, with the peer unknown', () => {
    const accept = only(run('accept-nopeer').flows, 'accept');
    expect(accept).toMatchObject({ op: 'accept', family: 'inet', proto: 'tcp', remote_addr: null, remote_port: null, community_id: null });
    expect(only(run('accept4-nopeer').flows, 'accept').syscall).toBe('accept4');
  });

  it("asks the listener for an accept that says nothing of its socket: no peer address, the socket gone, the listener's socket() not seen", () => {
    const workload = fixtureWorkload('accept4-nopeer');
    // The capture from the accept4 on: the listener (fd 3) was made before, its socket() and bind unseen.
    const lines = fixtureLines('accept4-nopeer');
    const fromConnect = lines.slice(lines.findIndex((line) => line.includes('syscall=41 success=yes exit=4')));
    const listener: SocketInfo = { family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { addr: '127.0.0.1', port: workload.get('server') ?? 0, bytes: Buffer.from([127, 0, 0, 1]) }, remote: undefined, source: 'socket', readAtUs: 1 };
    const asked: number[] = [];
    // The accepted socket (fd 5) was closed before its lookup; only the listener answers.
    const resolver: SocketResolver = (_pid, fd) => {
      asked.push(fd);
      return fd === 3 ? listener : undefined;
    };
    const accept = only(runLogLines(fromConnect, { resolver }).flows, 'accept');
    expect(accept).toMatchObject({ family: 'inet', proto: 'tcp', local_addr: '127.0.0.1', local_port: workload.get('server'), remote_addr: null, fd: workload.get('accepted') });
    expect(asked).toEqual([4, 5, 3]);
    // Without an answer from the listener the event says no family: counted, as the family filter's.
    const unanswered = runLogLines(fromConnect, { resolver: () => undefined });
    expect(unanswered.flows.filter((flow) => flow.op === 'accept')).toEqual([]);
    expect(unanswered.losses).toEqual([expect.objectContaining({ reason: 'family', detail: 'unknown' })]);
  });

  it('reports binds as listen with the local address asked for', () => {
    expect(only(run('bind-ipv4').flows, 'bind')).toMatchObject({ direction: 'listen', local_addr: '127.0.0.1', local_port: 47391, proto: 'tcp' });
    expect(only(run('bind-ipv6').flows, 'bind')).toMatchObject({ family: 'inet6', local_addr: '::1', local_port: 47392, proto: 'udp' });
    expect(only(run('bind-port0').flows, 'bind')).toMatchObject({ local_port: 0, proto: 'udp' });
  });

  it('gives UDP sendto and sendmsg with an address their peer', () => {
    expect(only(run('sendto-udp4').flows, 'sendto')).toMatchObject({ proto: 'udp', proto_num: 17, remote_addr: '127.0.0.1' });
    expect(only(run('sendto-udp6').flows, 'sendto')).toMatchObject({ family: 'inet6', proto: 'udp', remote_addr: '::1' });
    expect(only(run('sendmsg-name').flows, 'sendmsg')).toMatchObject({ proto: 'udp', remote_addr: '127.0.0.1' });
  });

  it('gives a send on a connected UDP socket the peer of its connect', () => {
    for (const [name, op] of [['udp-connected-send', 'sendto'], ['sendmsg-noname', 'sendmsg']] as const) {
      const { flows } = run(name);
      const connect = only(flows, 'connect');
      expect(only(flows, op)).toMatchObject({ proto: 'udp', remote_addr: '127.0.0.1', remote_port: connect.remote_port });
    }
  });

  it('aggregates repeated sendto of one flow: the first at once, the rest counted', () => {
    const sends = run('sendto-repeat').flows.filter((flow) => flow.op === 'sendto');
    expect(sends.map((flow) => flow.count)).toEqual([1, 4]);
    expect(sends[1]!.first_ts).toBeLessThanOrEqual(sends[1]!.last_ts);
    expect(run('sendto-repeat', { aggregateWindowMs: 0 }).flows.filter((flow) => flow.op === 'sendto')).toHaveLength(5);
  });

  it('tells TCP from UDP by the socket() each connect used', () => {
    const connects = run('socket-tcp-vs-udp').flows.filter((flow) => flow.op === 'connect');
    expect(connects.map((flow) => flow.proto)).toEqual(['tcp', 'udp']);
  });

  it('drops AF_UNIX and netlink flows and counts them by family', () => {
    const unix = run('unix-ignored');
    expect(unix.flows).toEqual([]);
    expect(unix.stats.losses['family:unix']).toBe(4);
    const netlink = run('netlink-ignored');
    expect(netlink.flows).toEqual([]);
    expect(netlink.stats.losses['family:netlink']).toBe(1);
  });

  it('keeps AF_UNIX flows when every family is asked for', () => {
    const connect = run('unix-ignored', { families: 'all' }).flows.find((flow) => flow.op === 'connect');
    expect(connect).toMatchObject({ family: 'unix', result: 'ok' });
    expect(connect?.remote_addr).toMatch(/^\/tmp\/auditflow-fixture-\d+\.sock$/);
  });

  it('decodes a hex-encoded comm with spaces and quotes', () => {
    expect(only(run('comm-hex').flows, 'connect').comm).toBe('my "odd" name');
  });

  it('fills the process fields from SYSCALL and argv from PROCTITLE', () => {
    const connect = only(run('connect-tcp4-ok').flows, 'connect');
    expect(connect).toMatchObject({ uid: 0, euid: 0, auid: 4294967295, tty: null, key: 'auditflow-fixture' });
    expect(connect.pid).toBeGreaterThan(0);
    expect(connect.ppid).toBeGreaterThan(0);
    expect(connect.argv[1]).toBe('connect-tcp4-ok');
    expect(connect.exe).toMatch(/fixture-workload$/);
  });
});

describe('32-bit processes', () => {
  // Captured from a gcc -m32 build of the workload under rules/network.rules: its b32 rules
  // caught socketcall(2) (key auditflow-socketcall, and auditflow-socket for SYS_SOCKET) and
  // i386's own connect syscall (auditflow-connect).
  it('takes an i386 socketcall connect apart: the call from a0, its arguments from the SOCKETCALL record', () => {
    const flows = run('socketcall-i386-connect').flows;
    const workload = fixtureWorkload('socketcall-i386-connect');
    expect(only(flows, 'connect')).toMatchObject({ syscall: 'connect', direction: 'egress', result: 'ok', family: 'inet', proto: 'tcp', fd: 4, remote_addr: '127.0.0.1', remote_port: workload.get('server'), key: 'auditflow-socketcall' });
    expect(only(flows, 'bind')).toMatchObject({ proto: 'tcp', local_addr: '127.0.0.1', fd: 3 });
  });

  it('gives i386 socketcall sendto, accept and a refused IPv6 connect their flows', () => {
    expect(only(run('socketcall-i386-sendto').flows, 'sendto')).toMatchObject({ proto: 'udp', remote_addr: '127.0.0.1', remote_port: fixtureWorkload('socketcall-i386-sendto').get('server'), fd: 4 });
    const accept = fixtureWorkload('socketcall-i386-accept');
    expect(only(run('socketcall-i386-accept').flows, 'accept')).toMatchObject({ syscall: 'accept', direction: 'ingress', proto: 'tcp', remote_port: accept.get('local'), fd: accept.get('accepted') });
    expect(only(run('socketcall-i386-refused').flows, 'connect')).toMatchObject({ result: 'ECONNREFUSED', family: 'inet6', proto: 'tcp', remote_addr: '::1', remote_port: 9 });
  });

  it("reads i386's own connect syscall (362), as the b32 connect rule catches it", () => {
    expect(only(run('i386-connect').flows, 'connect')).toMatchObject({ syscall: 'connect', proto: 'tcp', remote_port: fixtureWorkload('i386-connect').get('server'), key: 'auditflow-connect' });
  });

  it('reads 32-bit ARM records (arch=40000028; a constructed fixture, see its header)', () => {
    const flows = run('arm-connect-accept').flows;
    expect(flows.map((flow) => [flow.op, flow.syscall, flow.proto, flow.fd, flow.remote_port])).toEqual([
      ['bind', 'bind', 'tcp', 3, null],
      ['connect', 'connect', 'tcp', 4, 53389],
      ['accept', 'accept', 'tcp', 5, 40752],
      ['accept', 'accept4', 'tcp', 6, 40754],
      ['sendto', 'sendto', 'udp', 7, 53],
    ]);
    expect(flows.find((flow) => flow.op === 'sendto')).toMatchObject({ key: 'auditflow-socketcall', remote_addr: '127.0.0.1', direction: 'egress' });
  });
});
