// The close join on destroy broadcasts captured on this kernel (test/fixtures/sockdiag/destroy-lo.hex)
// and flows from a captured connect (connect-tcp4-ok), given the ends of the fixture's sockets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { communityId } from '../../../src/pipeline/community-id.js';
import { diagEnd } from '../../../src/pipeline/close-flow.js';
import { FlowEnds, type FlowEndsOptions } from '../../../src/pipeline/flow-ends.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import type { LossReport } from '../../../src/pipeline/loss.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { parseInetDiag, type InetDiagSocket } from '../../../src/linux/inet-diag.js';
import { AF_INET, SOCK_STREAM } from '../../../src/linux/socket.js';
import type { SocketInfo } from '../../../src/pipeline/socket-kinds.js';
import { fixtureLines, runLogLines } from './fixtures.js';

const text = readFileSync(new URL('../../fixtures/sockdiag/destroy-lo.hex', import.meta.url), 'utf8').split('\n');
const messages = text.filter((line) => line !== '' && !line.startsWith('#')).map((line) => Buffer.from(line, 'hex'));
const sockets = messages.map((message) => {
  const parsed = parseInetDiag(message);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.socket;
});
const [tcp4Client, tcp4Server, tcp4Listener, , , , udp4Sender] = sockets as InetDiagSocket[];
const client = tcp4Client as InetDiagSocket;
const server = tcp4Server as InetDiagSocket;

const captured = runLogLines(fixtureLines('connect-tcp4-ok')).flows.find((flow) => flow.op === 'connect') as Flow;

/** The captured connect, as if made from `local` to `remote` (or as an accept of `remote` on `local`). */
function flowOf(op: Flow['op'], local: InetDiagSocket | null, remote: { addr: string; port: number }, changes: Partial<Flow> = {}): Flow {
  return {
    ...structuredClone(captured),
    op,
    syscall: op,
    direction: op === 'accept' ? 'ingress' : 'egress',
    local_addr: local?.localAddr ?? null,
    local_port: local?.localPort ?? null,
    remote_addr: remote.addr,
    remote_port: remote.port,
    uid: 0,
    euid: 0,
    ...changes,
  };
}
const toServer = { addr: client.remoteAddr, port: client.remotePort };
const toClient = { addr: server.remoteAddr, port: server.remotePort };

function join(options: Partial<FlowEndsOptions> = {}): { ends: FlowEnds; flows: Flow[]; closes: Flow[]; losses: LossReport[] } {
  const flows: Flow[] = [];
  const closes: Flow[] = [];
  const losses: LossReport[] = [];
  const ends = new FlowEnds({ localWaitMs: 300, holdMs: 1000, onFlow: (flow) => flows.push(flow), onClose: (flow) => closes.push(flow), onLoss: (loss) => losses.push(loss), ...options });
  return { ends, flows, closes, losses };
}

describe('close entries', () => {
  it('joins each side of a TCP connection to its opener: counters, duration, serial, Community ID and process', () => {
    const { ends, flows, closes } = join();
    const connect = flowOf('connect', client, toServer, { community_id: 'from-the-connect' });
    const accept = flowOf('accept', server, toClient, { serial: captured.serial + 1, pid: 4321 });
    ends.push(connect);
    ends.push(accept);
    expect(flows.map((flow) => flow.local_source)).toEqual(['socket', 'socket']);
    ends.pushDestroy(client, captured.ts + 310);
    ends.pushDestroy(server, captured.ts + 320);
    expect(closes).toHaveLength(2);
    expect(closes[0]).toMatchObject({
      op: 'close',
      source: 'sock_diag',
      direction: 'egress',
      proto: 'tcp',
      local_port: client.localPort,
      remote_port: client.remotePort,
      community_id: 'from-the-connect',
      open_serial: captured.serial,
      duration_ms: 310,
      // The client closed first: tcpi_bytes_received is exactly the payload it got.
      bytes_out: 123_457,
      bytes_in: 54_321,
      pid: captured.pid,
      exe: captured.exe,
      socket_cookie: client.cookie,
      first_ts: captured.ts,
      last_ts: captured.ts + 310,
    });
    expect(closes[0]?.packets_out).toBe(client.tcp?.segsOut);
    expect(closes[0]?.packets_in).toBe(client.tcp?.segsIn);
    expect(closes[0]?.rtt_us).toBe(client.tcp?.rttUs);
    // The server got the client's FIN while its socket was open: one over (docs/flows.md).
    expect(closes[1]).toMatchObject({ direction: 'ingress', pid: 4321, open_serial: captured.serial + 1, bytes_out: 54_321, bytes_in: 123_457 + 1, duration_ms: 320 });
    expect(ends.stats()).toMatchObject({ openers: 0, closes: 2, closesJoined: 2 });
  });

  it('holds a destroy that arrives before its opening flow, and joins them when the flow comes', () => {
    const { ends, closes } = join();
    ends.pushDestroy(client, captured.ts + 5);
    expect(closes).toHaveLength(0);
    ends.push(flowOf('connect', client, toServer));
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ open_serial: captured.serial, duration_ms: 5, exe: captured.exe });
  });

  it('publishes a TCP close whose opener never came with its ends and uid, and no close for a listener or a UDP socket without flows', () => {
    const { ends, closes } = join();
    ends.pushDestroy(client, 1000);
    ends.pushDestroy(tcp4Listener as InetDiagSocket, 1000);
    ends.pushDestroy(udp4Sender as InetDiagSocket, 1000);
    ends.advance(1999);
    expect(closes).toHaveLength(0);
    ends.advance(2000);
    expect(closes).toHaveLength(1);
    const ends4 = { local: diagEnd(client.localAddr, client.localPort), remote: diagEnd(client.remoteAddr, client.remotePort) };
    expect(closes[0]).toMatchObject({ direction: 'unknown', uid: client.uid, pid: null, exe: null, bytes_out: 123_457, community_id: communityId(6, ends4.local, ends4.remote) });
    expect(closes[0]).not.toHaveProperty('open_serial');
    expect(closes[0]).not.toHaveProperty('duration_ms');
    expect(ends.stats()).toMatchObject({ held: 0, skipped: 2, closes: 1, closesJoined: 0 });
  });

  it("closes a UDP socket that had flows, joined to its first flow by the local end, without TCP's counters", () => {
    const { ends, closes } = join();
    const udp = udp4Sender as InetDiagSocket;
    const send = flowOf('sendto', udp, { addr: '127.0.0.1', port: 53 }, { proto: 'udp', proto_num: 17 });
    ends.push(send);
    ends.push({ ...send, serial: send.serial + 1 });
    ends.pushDestroy(udp, captured.ts + 40);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ proto: 'udp', open_serial: send.serial, duration_ms: 40, local_port: udp.localPort, remote_addr: null });
    expect(closes[0]).not.toHaveProperty('bytes_out');
  });
});

describe('local ends from destroy broadcasts', () => {
  it('gives a connect without a local end the one of its socket destroyed within local_wait_ms, with its Community ID', () => {
    const { ends, flows, closes } = join();
    ends.push(flowOf('connect', null, toServer));
    expect(flows).toHaveLength(0);
    ends.pushDestroy(client, captured.ts + 100);
    const local = diagEnd(client.localAddr, client.localPort);
    expect(flows).toEqual([expect.objectContaining({ local_addr: '127.0.0.1', local_port: client.localPort, local_source: 'close', community_id: communityId(6, local, diagEnd(toServer.addr, toServer.port)) })]);
    expect(closes).toHaveLength(1);
    expect(ends.stats()).toMatchObject({ localFromClose: 1, localMissing: 0, waiting: 0 });
  });

  it('takes the local end from a destroy that came first, at once', () => {
    const { ends, flows } = join();
    ends.pushDestroy(server, captured.ts + 2);
    ends.push(flowOf('accept', null, toClient));
    expect(flows[0]).toMatchObject({ local_port: server.localPort, local_source: 'close', direction: 'ingress' });
  });

  it('publishes a flow without its local end when no destroy came within local_wait_ms, counted', () => {
    const { ends, flows } = join();
    const connect = flowOf('connect', null, { addr: '127.0.0.1', port: 9 });
    ends.push(connect);
    ends.advance(captured.ts + 299);
    expect(flows).toHaveLength(0);
    expect(ends.oldestPendingSerial).toBe(captured.serial);
    ends.advance(captured.ts + 300);
    expect(flows).toEqual([connect]);
    expect(flows[0]).not.toHaveProperty('local_source');
    expect(ends.stats()).toMatchObject({ localMissing: 1 });
    expect(ends.oldestPendingSerial).toBeUndefined();
  });

  it('gives a UDP send without a local end the one of an unconnected UDP socket of its family and owner destroyed after it, before or after the flow came', () => {
    const udp = udp4Sender as InetDiagSocket;
    const send = (changes: Partial<Flow> = {}): Flow => flowOf('sendto', null, { addr: '127.0.0.1', port: 53 }, { proto: 'udp', proto_num: 17, euid: udp.uid, ...changes });
    for (const destroyFirst of [false, true]) {
      const { ends, flows, closes } = join();
      if (destroyFirst) ends.pushDestroy(udp, captured.ts + 3);
      ends.push(send({ family: 'inet6' }));
      ends.push(send({ euid: udp.uid + 1, uid: udp.uid + 1 }));
      ends.push(send());
      if (!destroyFirst) ends.pushDestroy(udp, captured.ts + 3);
      expect(flows).toEqual([expect.objectContaining({ family: 'inet', euid: udp.uid, local_addr: '0.0.0.0', local_port: udp.localPort, local_source: 'close' })]);
      expect(closes).toEqual([expect.objectContaining({ op: 'close', proto: 'udp', local_port: udp.localPort, remote_addr: null, open_serial: captured.serial })]);
      ends.flush();
      expect(flows.slice(1).map((flow) => flow.local_port)).toEqual([null, null]);
    }
  });

  it('takes no local end when several flows or destroys could be each other\'s', () => {
    const { ends, flows, closes } = join();
    ends.push(flowOf('connect', null, toServer));
    ends.push(flowOf('connect', null, toServer, { serial: captured.serial + 1 }));
    ends.pushDestroy(client, captured.ts + 50);
    ends.flush();
    expect(flows.map((flow) => flow.local_port)).toEqual([null, null]);
    expect(closes).toEqual([expect.objectContaining({ pid: null, local_port: client.localPort })]);
    expect(ends.stats()).toMatchObject({ localFromClose: 0, localMissing: 2 });
  });

  it('joins each of a client\'s connects 10 ms apart to its own destroy when each socket was found gone at once', () => {
    // A client reconnecting to one server every 10 ms: each socket closed before its lookup, which
    // says when it found it gone. Without those times both destroys fit both flows, and none is taken.
    const second = { ...client, localPort: client.localPort + 1 };
    const run = (withGone: boolean): Flow[] => {
      const gone = new Map<Flow, number>();
      const { ends, flows } = join({ goneBy: (flow) => (withGone ? gone.get(flow) : undefined) });
      const first = flowOf('connect', null, toServer);
      const next = flowOf('connect', null, toServer, { ts: captured.ts + 10, serial: captured.serial + 2 });
      gone.set(first, captured.ts + 1);
      gone.set(next, captured.ts + 11);
      // The broadcasts come first: the audit path is the slower one.
      ends.pushDestroy(client, captured.ts + 0.4);
      ends.pushDestroy(second, captured.ts + 10.4);
      ends.push(first);
      ends.push(next);
      ends.flush();
      return flows.sort((a, b) => a.serial - b.serial);
    };
    expect(run(true).map((flow) => [flow.local_port, flow.local_source])).toEqual([
      [client.localPort, 'close'],
      [client.localPort + 1, 'close'],
    ]);
    expect(run(false).map((flow) => flow.local_port)).toEqual([null, null]);
  });

  it('never gives a flow the destroy of an earlier socket read late, while that socket\'s flow still waits', () => {
    // Seen in CI under load: the first socket's destroy was read 9.5 ms after its lookup found it
    // gone, outside its own window and inside the next flow's; the next flow took it.
    const gone = new Map<Flow, number>();
    const { ends, flows } = join({ goneBy: (flow) => gone.get(flow) });
    const first = flowOf('connect', null, toServer);
    const next = flowOf('connect', null, toServer, { ts: captured.ts + 10, serial: captured.serial + 2 });
    gone.set(first, captured.ts + 1);
    gone.set(next, captured.ts + 11);
    ends.push(first);
    ends.push(next);
    ends.pushDestroy(client, captured.ts + 10.5);
    ends.pushDestroy({ ...client, localPort: client.localPort + 1 }, captured.ts + 11.2);
    ends.flush();
    expect(flows.map((flow) => flow.local_port)).toEqual([null, null]);
  });

  it('publishes a waiting flow as soon as a destroy read past its window shows none can come; it stays a rival until its wait is over', () => {
    const gone = new Map<Flow, number>();
    const { ends, flows } = join({ goneBy: (flow) => gone.get(flow) });
    const first = flowOf('connect', null, toServer);
    gone.set(first, captured.ts + 1);
    ends.push(first);
    // Read 6 ms after the first socket was found gone: past its window, and destroys come in read order.
    ends.pushDestroy(client, captured.ts + 7);
    expect(flows).toEqual([first]);
    expect(first.local_port).toBeNull();
    expect(ends.stats()).toMatchObject({ waiting: 0, localMissing: 1 });
    // Still a rival: the first's socket may be one read late, so the next flow to that server does
    // not take a destroy the first could own (taken without the rival: it fits the next in time).
    const next = flowOf('connect', null, toServer, { ts: captured.ts + 8, serial: captured.serial + 2 });
    gone.set(next, captured.ts + 9);
    ends.push(next);
    ends.pushDestroy({ ...client, localPort: client.localPort + 1 }, captured.ts + 10);
    expect(flows).toEqual([first]);
    expect(ends.oldestPendingSerial).toBe(next.serial);
    ends.advance(captured.ts + 8 + 300);
    expect(flows.map((flow) => flow.local_port)).toEqual([null, null]);
    expect(ends.stats()).toMatchObject({ waiting: 0, localMissing: 2, localFromClose: 0 });
  });

  it('keeps a flow whose socket was not found gone waiting its whole local_wait_ms', () => {
    const { ends, flows } = join();
    ends.push(flowOf('connect', null, toServer));
    ends.pushDestroy(server, captured.ts + 100);
    ends.advance(captured.ts + 299);
    expect(flows).toEqual([]);
    ends.advance(captured.ts + 300);
    expect(flows).toEqual([expect.objectContaining({ local_port: null })]);
  });

  it('does not join a destroy read more than 5 ms after its flow\'s socket was found gone', () => {
    const flow = flowOf('connect', null, toServer);
    const { ends, flows } = join({ goneBy: () => captured.ts + 1 });
    ends.push(flow);
    ends.pushDestroy(client, captured.ts + 6.5);
    ends.flush();
    expect(flows.map((f) => f.local_port)).toEqual([null]);
  });

  it('does not join a destroy of another protocol, family or an earlier time', () => {
    const { ends, flows } = join();
    ends.push(flowOf('connect', null, toServer, { proto: 'udp', proto_num: 17 }));
    ends.push(flowOf('connect', null, toServer, { ts: captured.ts + 1000, serial: captured.serial + 1 }));
    ends.pushDestroy(client, captured.ts + 500);
    expect(flows).toHaveLength(0);
    ends.flush();
    expect(flows.every((flow) => flow.local_addr === null)).toBe(true);
  });
});

describe("an accept's peer from its destroy broadcast", () => {
  /** An accept that knows only its listener's end (accept4(fd, NULL, ...), the socket gone before its lookup). */
  const peerless = (changes: Partial<Flow> = {}): Flow => flowOf('accept', server, toClient, { remote_addr: null, remote_port: null, community_id: null, ...changes });
  const ends4 = { local: diagEnd(server.localAddr, server.localPort), remote: diagEnd(server.remoteAddr, server.remotePort) };

  it('gives an accept without its peer the remote end of the connection destroyed on its local end, and its Community ID, then its close', () => {
    const { ends, flows, closes } = join();
    ends.push(peerless());
    expect(flows).toHaveLength(0);
    ends.pushDestroy(server, captured.ts + 20);
    expect(flows).toEqual([expect.objectContaining({ op: 'accept', remote_addr: ends4.remote.addr, remote_port: ends4.remote.port, remote_source: 'close', local_port: server.localPort, local_source: 'socket', community_id: communityId(6, ends4.local, ends4.remote) })]);
    expect(closes).toEqual([expect.objectContaining({ op: 'close', direction: 'ingress', open_serial: captured.serial })]);
    expect(ends.stats()).toMatchObject({ localFromClose: 1, waiting: 0 });
  });

  it('takes the peer from a destroy that came first, and the local address too when the listener is a wildcard', () => {
    const { ends, flows } = join();
    ends.pushDestroy(server, captured.ts + 2);
    ends.push(peerless({ local_addr: '0.0.0.0' }));
    expect(flows[0]).toMatchObject({ remote_port: ends4.remote.port, remote_source: 'close', local_addr: ends4.local.addr, local_source: 'close' });
  });

  it('takes no destroy on another address of the port, none of a connect socket, and none when two accepts could be its own', () => {
    const other = join();
    other.ends.push(peerless({ local_addr: '127.0.0.2' }));
    other.ends.pushDestroy(server, captured.ts + 20);
    // The client's own socket: its remote end is the listener's, its local end not.
    other.ends.pushDestroy(client, captured.ts + 21);
    other.ends.flush();
    expect(other.flows).toEqual([expect.objectContaining({ op: 'accept', remote_addr: null, local_addr: '127.0.0.2' })]);
    expect(other.flows[0]).not.toHaveProperty('remote_source');

    // Two processes accepting on one listener (a pre-forked server): whose connection it was is not known.
    const two = join();
    two.ends.push(peerless());
    two.ends.push(peerless({ serial: captured.serial + 1, pid: 4321 }));
    two.ends.pushDestroy(server, captured.ts + 20);
    two.ends.flush();
    expect(two.flows.map((flow) => flow.remote_addr)).toEqual([null, null]);
    expect(two.ends.stats()).toMatchObject({ localFromClose: 0, localMissing: 2 });
  });

  it("pairs a process's burst of accepts with its connections' destroys in order at the end of the wait: each peer once", () => {
    // Each accept's socket was found gone (its lookup) 30 ms after its event.
    const { ends, flows, closes } = join({ goneBy: (flow) => flow.ts + 30 });
    const second = { ...server, remotePort: server.remotePort + 1, cookie: 'second' } as InetDiagSocket;
    ends.push(peerless());
    ends.push(peerless({ serial: captured.serial + 1, ts: captured.ts + 1 }));
    ends.pushDestroy(server, captured.ts + 20);
    ends.pushDestroy(second, captured.ts + 21);
    // Both fit both: nothing is taken before the wait is over.
    expect(flows).toEqual([]);
    ends.advance(captured.ts + 301);
    expect(flows.map((flow) => [flow.serial, flow.remote_port, flow.remote_source])).toEqual([
      [captured.serial, server.remotePort, 'close'],
      [captured.serial + 1, server.remotePort + 1, 'close'],
    ]);
    expect(closes.map((close) => close.open_serial)).toEqual([captured.serial, captured.serial + 1]);
    expect(ends.stats()).toMatchObject({ localFromClose: 2, localMissing: 0, held: 0, waiting: 0 });

    // Not found gone (a lookup refused, the connection maybe still open): no destroy is taken by order.
    const open = join();
    open.ends.push(peerless());
    open.ends.push(peerless({ serial: captured.serial + 1, ts: captured.ts + 1 }));
    open.ends.pushDestroy(server, captured.ts + 20);
    open.ends.pushDestroy(second, captured.ts + 21);
    open.ends.advance(captured.ts + 301);
    expect(open.flows.map((flow) => flow.remote_addr)).toEqual([null, null]);
  });
});

describe('bounds', () => {
  it('pushes the oldest opener out of a full table, counted as flow_end_evicted', () => {
    const { ends, closes, losses } = join({ maxOpeners: 1 });
    ends.push(flowOf('connect', client, toServer));
    ends.push(flowOf('accept', server, toClient, { serial: captured.serial + 1 }));
    expect(losses).toEqual([expect.objectContaining({ reason: 'flow_end_evicted', count: 1, detail: 'openers', firstSerial: captured.serial })]);
    ends.pushDestroy(client, captured.ts + 10);
    ends.flush();
    expect(closes.find((flow) => flow.local_port === client.localPort)).toMatchObject({ pid: null, direction: 'unknown' });
  });

  it('publishes the oldest held destroy early when the held table is full', () => {
    const { ends, closes, losses } = join({ maxHeld: 1 });
    ends.pushDestroy(client, 10);
    ends.pushDestroy(server, 11);
    expect(closes).toHaveLength(1);
    expect(losses).toEqual([expect.objectContaining({ reason: 'flow_end_evicted', detail: 'held' })]);
  });

  it('pushes a silent destroy (a socket that never connected) out of a full table first, uncounted: it would give no entry', () => {
    const { ends, closes, losses } = join({ maxHeld: 1 });
    ends.pushDestroy(client, 10);
    ends.pushDestroy(tcp4Listener as InetDiagSocket, 11);
    expect(losses).toEqual([]);
    expect(ends.stats()).toMatchObject({ held: 1, skipped: 1 });
    // The connected socket's destroy stayed: its connect still finds it.
    ends.push(flowOf('connect', client, toServer, { ts: 5 }));
    expect(closes).toEqual([expect.objectContaining({ local_port: client.localPort, pid: captured.pid })]);
    ends.pushDestroy(tcp4Listener as InetDiagSocket, 12);
    ends.pushDestroy(server, 13);
    expect(losses).toEqual([]);
    expect(ends.stats()).toMatchObject({ held: 1, skipped: 2 });
  });

  it('bounds the held destroys still waiting: one that found its opener takes no room and is never counted lost', () => {
    const { ends, closes, losses } = join({ maxHeld: 1 });
    // Held, then joined when its connect comes through the pipeline (its records come after the broadcast).
    ends.pushDestroy(client, captured.ts + 10);
    ends.push(flowOf('connect', client, toServer));
    expect(closes).toEqual([expect.objectContaining({ local_port: client.localPort, pid: captured.pid })]);
    // The joined destroy is still in the time-ordered queue until its hold is up: the next one is held beside it.
    ends.pushDestroy(server, captured.ts + 11);
    expect(losses).toEqual([]);
    expect(ends.stats()).toMatchObject({ held: 1 });
    ends.push(flowOf('accept', server, toClient, { serial: captured.serial + 1 }));
    expect(closes).toHaveLength(2);
    expect(ends.stats()).toMatchObject({ held: 0 });
  });
});

describe('the pipeline with sock_diag', () => {
  it('reads destroy messages as the addon delivers them and counts one it cannot read', () => {
    const flows: Flow[] = [];
    const losses: LossReport[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), onLoss: (loss) => losses.push(loss), flowEnds: { localWaitMs: 300, holdMs: 100 } });
    const bad = Buffer.from(messages[0] as Buffer).subarray(0, 40);
    const data = Buffer.concat([messages[0] as Buffer, bad]);
    pipeline.pushSockDiag(data, Uint32Array.from([0, (messages[0] as Buffer).length, (messages[0] as Buffer).length, bad.length]), 1000);
    pipeline.advance(1100);
    expect(flows).toEqual([expect.objectContaining({ op: 'close', local_port: client.localPort })]);
    expect(losses).toEqual([expect.objectContaining({ reason: 'sock_diag_parse_error', detail: 'truncated' })]);
    expect(pipeline.stats().flowEnds).toMatchObject({ closes: 1 });
  });

  it("gives a libuv server's accepts of connections it closed at once their peers: the listener asked, the accepted fds found by no lookup, paired in order", () => {
    // accept4(listener, NULL, ...) of a listener made before: its socket() and bind are not in the records.
    const lines = fixtureLines('accept4-nopeer');
    const from = lines.findIndex((line) => line.includes('syscall=41 success=yes exit=4'));
    const [, seconds, millis, acceptSerial] = /audit\((\d+)\.(\d{3}):(\d+)\): arch=\S+ syscall=288 /.exec(lines.join('\n')) ?? [];
    const again = lines.filter((line) => line.includes(`:${acceptSerial}):`)).map((line) => line.replace(`:${acceptSerial}):`, `:${Number(acceptSerial) + 1}):`));
    const time = Number(seconds) * 1000 + Number(millis);
    // The listener, asked for its fd (a0 = 3), is on the fixture server's end; the accepted fds are gone.
    const listener: SocketInfo = { family: AF_INET, type: SOCK_STREAM, protocol: 6, local: diagEnd(server.localAddr, server.localPort), remote: undefined, source: 'socket' };
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), onLoss: () => undefined, resolver: (_pid, fd) => (fd === 3 ? listener : undefined), now: () => time + 20, flowEnds: { localWaitMs: 300, holdMs: 1000 } });
    for (const line of [...lines.slice(from), ...again]) pipeline.pushLogLine(line);
    // The two connections' destroys: the fixture's server side, and one with the next client port.
    const first = messages[1] as Buffer;
    const second = Buffer.from(first);
    // struct inet_diag_msg after the netlink header: family, state, timer, retrans, then id.idiag_sport, id.idiag_dport (big-endian).
    second.writeUInt16BE(server.remotePort + 1, 16 + 6);
    pipeline.pushSockDiag(Buffer.concat([first, second]), Uint32Array.from([0, first.length, first.length, second.length]), time + 10);
    const accepts = (): Flow[] => flows.filter((flow) => flow.op === 'accept');
    expect(accepts()).toEqual([]);
    pipeline.advance(time + 400);
    expect(accepts().map((flow) => [flow.family, flow.local_port, flow.remote_port, flow.remote_source])).toEqual([
      ['inet', server.localPort, server.remotePort, 'close'],
      ['inet', server.localPort, server.remotePort + 1, 'close'],
    ]);
    expect(flows.filter((flow) => flow.op === 'close').map((flow) => flow.pid)).toEqual([accepts()[0]?.pid, accepts()[1]?.pid]);
  });
});
