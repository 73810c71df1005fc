// Close entries and local ends from sock_diag, live: the addon's reader and dump on this kernel, and
// `auditflow run` into a private Redis with short-lived sockets (closed at once, nothing held open by
// the test), a transfer of known size, and a connection opened before the daemon started.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { finished, waitForLine } from '../helpers/child.js';
import { readStream, startDaemon, useDaemonRedis, type DaemonChild } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync, until } from '../helpers/until.js';
import { nativeBinding } from '../../src/native/binding.js';
import { parseInetDiag, type InetDiagSocket } from '../../src/linux/inet-diag.js';

useKernel();
const servers = useDaemonRedis();

/** Servers on 127.0.0.1 and ::1 (TCP: accept and close at once; UDP: read and drop), their ports on one line. */
const SERVERS = `
import socket, threading
def tcp(family, host):
    s = socket.socket(family, socket.SOCK_STREAM); s.bind((host, 0)); s.listen(512)
    def loop():
        while True:
            c, _ = s.accept(); c.close()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]
def udp(family, host):
    u = socket.socket(family, socket.SOCK_DGRAM); u.bind((host, 0))
    def loop():
        while True: u.recv(64)
    threading.Thread(target=loop, daemon=True).start()
    return u.getsockname()[1]
print('ports', tcp(socket.AF_INET, '127.0.0.1'), tcp(socket.AF_INET6, '::1'), udp(socket.AF_INET, '127.0.0.1'), udp(socket.AF_INET6, '::1'), flush=True)
import sys; sys.stdin.read()
`;

/** Short-lived sockets: connect → getsockname → close at once; sendto → getsockname → close. Prints what it saw. */
const SHORT_LIVED = `
import socket, sys, json
tcp4, tcp6, udp4, udp6 = map(int, sys.argv[1:5])
seen = []
for i in range(int(sys.argv[5])):
    for kind, family, host, port, stype in (('tcp4', socket.AF_INET, '127.0.0.1', tcp4, socket.SOCK_STREAM), ('tcp6', socket.AF_INET6, '::1', tcp6, socket.SOCK_STREAM), ('udp4', socket.AF_INET, '127.0.0.1', udp4, socket.SOCK_DGRAM), ('udp6', socket.AF_INET6, '::1', udp6, socket.SOCK_DGRAM)):
        s = socket.socket(family, stype)
        if stype == socket.SOCK_STREAM: s.connect((host, port))
        else: s.sendto(b'x', (host, port))
        seen.append([kind, s.getsockname()[1]])
        s.close()
print(json.dumps(seen))
`;

/** The transfer: the client sends N bytes, reads M, sleeps, closes (first); the server closes on EOF. */
const TRANSFER_SERVER = `
import socket, sys
up, down = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
print('port', s.getsockname()[1], flush=True)
c, _ = s.accept()
got = 0
while got < up:
    data = c.recv(65536)
    if not data: sys.exit('the client closed after %d of %d bytes' % (got, up))
    got += len(data)
c.sendall(b'd' * down)
while c.recv(65536): pass
c.close()
`;
const TRANSFER_CLIENT = `
import socket, sys, time
port, up, down, pause = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'u' * up)
got = 0
while got < down:
    data = s.recv(65536)
    if not data: sys.exit('the server closed after %d of %d bytes' % (got, down))
    got += len(data)
print(s.getsockname()[1], flush=True)
time.sleep(pause)
s.close()
`;
/**
 * A libuv server (Node's net): its accept4 copies no address out (a NULL address buffer), and it
 * closes each connection at once. Listens on 127.0.0.1 and ::1; prints its ports.
 */
const UV_SERVER = `
const net = require('node:net');
const listen = (host) => new Promise((resolve) => { const server = net.createServer((socket) => socket.destroy()); server.listen(0, host, () => resolve(server.address().port)); });
Promise.all([listen('127.0.0.1'), listen('::1')]).then((ports) => console.log('ports', ...ports));
process.stdin.resume();
`;
/** Connects to the two ports N times each, closing each socket at once (an RST-free close), and prints the local ports. */
const CONNECT_AND_CLOSE = `
import socket, sys, json
tcp4, tcp6, n = map(int, sys.argv[1:4])
seen = []
for i in range(n):
    for kind, family, host, port in (('tcp4', socket.AF_INET, '127.0.0.1', tcp4), ('tcp6', socket.AF_INET6, '::1', tcp6)):
        s = socket.socket(family, socket.SOCK_STREAM); s.connect((host, port))
        seen.append([kind, s.getsockname()[1]])
        s.close()
print(json.dumps(seen))
`;
/** A connection made before the daemon: printed, then closed when stdin says so. */
const HELD_CLIENT = `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
print('local', s.getsockname()[1], flush=True)
sys.stdin.readline()
s.close()
`;

/** `promise`, or a failure naming `what` after `ms`: a hang here must say where it is. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const python = (code: string, args: Array<string | number>): ChildProcess => spawn('python3', ['-c', code, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });

async function flowsOf(stream: string): Promise<Array<Record<string, string>>> {
  return (await readStream(servers.redis.url, stream)).map((entry) => entry.fields).filter((fields) => fields.kind === 'flow');
}

/**
 * The server's accepts of the client's TCP connections (by the server's pid: an ephemeral port the
 * client used comes back for other connections, such as this test's to Redis): each has its
 * listener's end and the client's port.
 */
function expectAccepts(flows: Array<Record<string, string>>, serverPid: number | undefined, seen: Array<[string, number]>): void {
  const clientPorts = new Set(seen.filter(([kind]) => kind.startsWith('tcp')).map(([, port]) => String(port)));
  const accepts = flows.filter((f) => f.op === 'accept' && f.pid === String(serverPid) && clientPorts.has(f.remote_port ?? ''));
  expect(accepts.length).toBe(clientPorts.size);
  for (const accept of accepts) expect(accept).toMatchObject({ proto: 'tcp', local_port: expect.stringMatching(/^\d+$/) });
}

async function stopServerAndDaemon(server: ChildProcess | undefined, daemon: DaemonChild): Promise<void> {
  if (server !== undefined) {
    server.kill();
    await finished(server);
  }
  expect((await daemon.stop()).code).toBe(0);
}

/** The inode of each socket a process holds (/proc/<pid>/fd). */
function socketInodes(pid: number): number[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    return match ? [Number(match[1])] : [];
  });
}

describe('the addon on this kernel', () => {
  it("reads a loopback connection's destroy broadcast with its counters, and dumps a listener with its inode", async () => {
    const got: InetDiagSocket[] = [];
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    const reader = new (nativeBinding().SockDiagSocket)(
      { rcvbuf: 1 << 20, maxQueueBytes: 1 << 20 },
      (data, offsets) => {
        for (let i = 0; data !== null && offsets !== null && i < offsets.length; i += 2) {
          const parsed = parseInetDiag(data.subarray(offsets[i] as number, (offsets[i] as number) + (offsets[i + 1] as number)));
          if (parsed.ok) got.push(parsed.socket);
        }
      },
      () => closed(),
    );
    const server = python(TRANSFER_SERVER, [1000, 2000]);
    try {
      const port = Number((await waitForLine(server, /^port \d+$/)).split(' ')[1]);
      const listener = socketInodes(server.pid as number);
      const dump = nativeBinding().sockDiagDump(2, 6, 2000);
      expect(dump.complete).toBe(true);
      const dumped = Array.from({ length: dump.offsets.length / 2 }, (_, i) => parseInetDiag(dump.data.subarray(dump.offsets[2 * i] as number, (dump.offsets[2 * i] as number) + (dump.offsets[2 * i + 1] as number))));
      const mine = dumped.flatMap((one) => (one.ok && one.socket.localPort === port ? [one.socket] : []));
      expect(mine).toEqual([expect.objectContaining({ state: 10, localAddr: '127.0.0.1', remotePort: 0 })]);
      expect(listener).toContain(mine[0]?.inode);
      const client = await within(finished(python(TRANSFER_CLIENT, [port, 1000, 2000, 0])), 10_000, 'the client');
      expect(client.code, client.stderr).toBe(0);
      const clientPort = Number(client.stdout.trim());
      await until(() => got.some((one) => one.localPort === clientPort), 5000, "the client socket's destroy");
    } finally {
      server.kill();
      reader.close();
    }
    await within(done, 10_000, "the reader's onClosed");
    const [clientSide] = got.filter((one) => one.remotePort !== 0 && one.tcp?.bytesSent === 1000);
    expect(clientSide).toMatchObject({ protocol: 6, state: 7, inode: 0 });
    expect(clientSide?.tcp?.bytesSent).toBe(1000);
    expect([2000, 2001]).toContain(clientSide?.tcp?.bytesReceived);
    expect(reader.stats()).toMatchObject({ enobufs: 0, dropped: 0, malformed: 0 });
  });
});

describe('auditflow run with flow_end', () => {
  it('never gives a connect or send of a loop on one fd another socket\'s local end, and every TCP socket a close', async () => {
    const stream = 'live:short-lived';
    // Each send its own entry (no aggregation): the n-th flow of a kind in serial order is the n-th socket.
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream, '--set', 'aggregate_window_ms=0'] });
    let serverChild: ChildProcess | undefined;
    let clientPid = -1;
    let seen: Array<[string, number]> = [];
    try {
      await daemon.waitForLog('running');
      // After the start: a blocking accept that began while auditing was off is never audited.
      serverChild = python(SERVERS, []);
      const ports = (await waitForLine(serverChild, /^ports \d+ \d+ \d+ \d+$/)).split(' ').slice(1).map(Number);
      const client = python(SHORT_LIVED, [...ports, 100]);
      clientPid = client.pid as number;
      const result = await finished(client);
      expect(result.code, result.stderr).toBe(0);
      seen = JSON.parse(result.stdout) as Array<[string, number]>;
      // Each call's flow and each TCP socket's close; the assertions below say which is missing.
      const tcpPorts = seen.filter(([kind]) => kind.startsWith('tcp')).map(([, port]) => String(port));
      await untilAsync(
        async () => {
          const now = await flowsOf(stream);
          const calls = now.filter((f) => f.pid === String(clientPid) && (f.op === 'connect' || f.op === 'sendto')).reduce((sum, f) => sum + Number(f.count), 0);
          return calls >= seen.length && tcpPorts.every((port) => now.some((f) => f.op === 'close' && f.local_port === port));
        },
        20_000,
        'the flows and closes',
      ).catch(() => undefined);
    } finally {
      await stopServerAndDaemon(serverChild, daemon);
    }
    const flows = await flowsOf(stream);
    const mine = flows.filter((f) => f.pid === String(clientPid));
    const summary = JSON.stringify(mine.map((f) => [f.op, f.proto, f.local_port, f.remote_port, f.local_source, f.count]));
    // The child's calls in its order, each kind's flows in serial order: the n-th of a kind is the n-th socket of that kind.
    for (const kind of ['tcp4', 'tcp6', 'udp4', 'udp6']) {
      const ports = seen.filter(([k]) => k === kind).map(([, port]) => String(port));
      const op = kind.startsWith('tcp') ? 'connect' : 'sendto';
      const ofKind = mine.filter((f) => f.op === op && f.proto === kind.slice(0, 3) && f.family === (kind.endsWith('6') ? 'inet6' : 'inet')).sort((a, b) => Number(a.serial) - Number(b.serial));
      expect(ofKind.reduce((sum, f) => sum + Number(f.count), 0), `${kind}: ${summary}`).toBe(ports.length);
      ofKind.forEach((flow, n) => {
        // Read from the socket (the next one on the fd may have been read: the local check drops
        // those) or taken from its destroy: either way the socket's own, or none.
        if (flow.local_port !== undefined && flow.local_port !== '') expect(flow.local_port, `${kind} #${n} (${flow.local_source}): ${summary}`).toBe(ports[n]);
      });
      // The share with a local end, for the note (not asserted: it depends on the machine's load).
      const share = (source: string): number => ofKind.filter((f) => f.local_source === source).length;
      console.log(`${kind}: ${ofKind.length} flows, local end from the socket ${share('socket')}, from the destroy ${share('close')}, none ${ofKind.length - share('socket') - share('close')}`);
      // Every TCP socket's end is in a close entry, with the port the child saw (joined to its connect or not).
      if (op === 'connect') for (const port of ports) expect(flows.some((f) => f.op === 'close' && f.local_port === port), `close of ${port}: ${summary}`).toBe(true);
    }
    // A close joined to one of the child's connects carries the connect's serial, process and Community ID.
    for (const close of mine.filter((f) => f.op === 'close' && f.proto === 'tcp')) {
      const connect = mine.find((f) => f.op === 'connect' && f.serial === close.open_serial);
      expect(connect, `opener of ${close.local_port}: ${summary}`).toBeDefined();
      expect(close).toMatchObject({ direction: 'egress', exe: connect?.exe, community_id: connect?.community_id, remote_port: connect?.remote_port });
    }
    expectAccepts(flows, serverChild?.pid, seen);
  });

  it('gives every connect and send of short-lived processes the local end the process saw, and the server\'s accepts theirs', async () => {
    // Each child: connect → getsockname → close at once over TCP (IPv4, IPv6), sendto → getsockname →
    // close over UDP, then it exits; one after the other, as short-lived clients run.
    const stream = 'live:short-lived-processes';
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream] });
    let serverChild: ChildProcess | undefined;
    const children: Array<{ pid: number; seen: Array<[string, number]> }> = [];
    try {
      await daemon.waitForLog('running');
      serverChild = python(SERVERS, []);
      const ports = (await waitForLine(serverChild, /^ports \d+ \d+ \d+ \d+$/)).split(' ').slice(1).map(Number);
      for (let n = 0; n < 6; n++) {
        const client = python(SHORT_LIVED, [...ports, 1]);
        const result = await finished(client);
        expect(result.code, result.stderr).toBe(0);
        children.push({ pid: client.pid as number, seen: JSON.parse(result.stdout) as Array<[string, number]> });
      }
      const expected = children.reduce((sum, child) => sum + child.seen.length, 0);
      await untilAsync(
        async () => {
          const now = await flowsOf(stream);
          const pids = new Set(children.map((child) => String(child.pid)));
          return now.filter((f) => pids.has(f.pid ?? '') && (f.op === 'connect' || f.op === 'sendto') && f.local_port !== undefined).length >= expected;
        },
        20_000,
        'every flow with its local end',
      ).catch(() => undefined);
    } finally {
      await stopServerAndDaemon(serverChild, daemon);
    }
    const flows = await flowsOf(stream);
    for (const child of children) {
      const mine = flows.filter((f) => f.pid === String(child.pid));
      const summary = JSON.stringify(mine.map((f) => [f.op, f.family, f.proto, f.local_port, f.remote_port, f.local_source]));
      for (const [kind, port] of child.seen) {
        const op = kind.startsWith('tcp') ? 'connect' : 'sendto';
        const flow = mine.find((f) => f.op === op && f.proto === kind.slice(0, 3) && f.family === (kind.endsWith('6') ? 'inet6' : 'inet'));
        expect(flow, `${child.pid} ${kind}: ${summary}`).toBeDefined();
        expect({ kind, local_port: flow?.local_port }, `${child.pid}: ${summary}`).toEqual({ kind, local_port: String(port) });
        expect(['socket', 'close']).toContain(flow?.local_source);
      }
    }
    expectAccepts(flows, serverChild?.pid, children.flatMap((child) => child.seen));
  });

  it("gives each accept of a libuv server its peer, the connection closed at once and the listener made before the start", async () => {
    // Its accept4(fd, NULL, ...) names neither the peer nor (the listener's socket() unseen) the
    // family; the accepted socket is gone before it can be looked up more often than not. The
    // listener answers for the family and the local end, the destroy broadcast for the peer.
    const stream = 'live:uv-accepts';
    const server = spawn(process.execPath, ['-e', UV_SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const serverDone = finished(server);
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream] });
    let seen: Array<[string, number]> = [];
    let ports: number[] = [];
    try {
      ports = (await waitForLine(server, /^ports \d+ \d+$/)).split(' ').slice(1).map(Number);
      await daemon.waitForLog('running');
      const client = python(CONNECT_AND_CLOSE, [...ports, 20]);
      const result = await finished(client);
      expect(result.code, result.stderr).toBe(0);
      seen = JSON.parse(result.stdout) as Array<[string, number]>;
      const clientPorts = new Set(seen.map(([, port]) => String(port)));
      await untilAsync(async () => (await flowsOf(stream)).filter((f) => f.op === 'accept' && f.pid === String(server.pid) && clientPorts.has(f.remote_port ?? '')).length >= seen.length, 15_000, 'an accept of every connection').catch(() => undefined);
    } finally {
      server.kill();
      await within(serverDone, 10_000, 'the server');
      expect((await within(daemon.stop(), 15_000, 'the daemon to stop')).code).toBe(0);
    }
    const accepts = (await flowsOf(stream)).filter((f) => f.op === 'accept' && f.pid === String(server.pid));
    const summary = JSON.stringify(accepts.map((f) => [f.family, f.local_addr, f.local_port, f.remote_port, f.local_source, f.remote_source]));
    expect(
      seen.map(([kind, port]) => accepts.find((f) => f.remote_port === String(port) && f.family === (kind === 'tcp6' ? 'inet6' : 'inet'))?.local_port),
      summary,
    ).toEqual(seen.map(([kind]) => String(kind === 'tcp6' ? ports[1] : ports[0])));
    // Not one accept without its peer.
    expect(accepts.filter((f) => f.remote_port === undefined), summary).toEqual([]);
  });

  it("reports a known transfer's bytes, packets and duration in both sides' close entries", async () => {
    const stream = 'live:transfer';
    const [up, down, pauseMs] = [123_457, 54_321, 300];
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream] });
    let clientPid = -1;
    let serverPid = -1;
    let clientPort = 0;
    try {
      await daemon.waitForLog('running');
      const server = python(TRANSFER_SERVER, [up, down]);
      // Listened for from the start: the server exits on its own once the client has closed.
      const serverDone = finished(server);
      serverPid = server.pid as number;
      const port = Number((await waitForLine(server, /^port \d+$/)).split(' ')[1]);
      const client = python(TRANSFER_CLIENT, [port, up, down, pauseMs / 1000]);
      clientPid = client.pid as number;
      // Bounded, so that a stuck transfer fails here with its reason and the daemon is still stopped below.
      const result = await within(finished(client), 20_000, 'the transfer client');
      expect(result.code, result.stderr).toBe(0);
      clientPort = Number(result.stdout.trim());
      const served = await within(serverDone, 20_000, 'the transfer server');
      expect(served.code, served.stderr).toBe(0);
      await untilAsync(async () => (await flowsOf(stream)).filter((f) => f.op === 'close' && (f.pid === String(clientPid) || f.pid === String(serverPid))).length === 2, 20_000, 'both close entries');
    } finally {
      expect((await within(daemon.stop(), 15_000, 'the daemon to stop')).code).toBe(0);
    }
    const flows = await flowsOf(stream);
    const connect = flows.find((f) => f.op === 'connect' && f.pid === String(clientPid));
    const clientClose = flows.find((f) => f.op === 'close' && f.pid === String(clientPid));
    const serverClose = flows.find((f) => f.op === 'close' && f.pid === String(serverPid));
    expect(clientClose).toMatchObject({
      direction: 'egress',
      proto: 'tcp',
      local_port: String(clientPort),
      community_id: connect?.community_id,
      open_serial: connect?.serial,
      bytes_out: String(up),
    });
    // The client closed first: the server's FIN came back at once, with the ACK of the client's or
    // after it, so the client's counter is the payload or one over (docs/flows.md, "Close entries").
    expect([down, down + 1]).toContain(Number(clientClose?.bytes_in));
    expect(Number(clientClose?.packets_out)).toBeGreaterThan(0);
    expect(Number(clientClose?.packets_in)).toBeGreaterThan(0);
    expect(Number(clientClose?.duration_ms)).toBeGreaterThanOrEqual(pauseMs);
    expect(Number(clientClose?.duration_ms)).toBeLessThan(pauseMs + 1500);
    // The server got the client's FIN while its socket was open: one over.
    expect(serverClose).toMatchObject({ direction: 'ingress', remote_port: String(clientPort), community_id: connect?.community_id, bytes_out: String(down), bytes_in: String(up + 1) });
  });

  it('publishes a connection opened before the start as existing, with its process, and its close carries that process', async () => {
    const stream = 'live:existing';
    const server = python(TRANSFER_SERVER, [10, 20]);
    // Listened for from the start: the server exits on its own once the client has closed.
    const serverDone = finished(server);
    const port = Number((await waitForLine(server, /^port \d+$/)).split(' ')[1]);
    const client = python(HELD_CLIENT, [port]);
    const clientDone = finished(client);
    const localPort = Number((await waitForLine(client, /^local \d+$/)).split(' ')[1]);
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream] });
    try {
      await daemon.waitForLog('running');
      await untilAsync(async () => (await flowsOf(stream)).some((f) => f.op === 'existing' && f.local_port === String(localPort)), 10_000, 'the existing entry');
      client.stdin?.end('close\n');
      expect((await within(clientDone, 10_000, 'the held client')).code).toBe(0);
      await untilAsync(async () => (await flowsOf(stream)).some((f) => f.op === 'close' && f.local_port === String(localPort)), 10_000, 'the close entry');
    } finally {
      server.kill();
      await within(serverDone, 10_000, 'the server');
      expect((await within(daemon.stop(), 15_000, 'the daemon to stop')).code).toBe(0);
    }
    const flows = await flowsOf(stream);
    const existing = flows.find((f) => f.op === 'existing' && f.local_port === String(localPort));
    expect(existing).toMatchObject({ source: 'sock_diag', direction: 'egress', proto: 'tcp', remote_port: String(port), pid: String(client.pid), comm: expect.stringMatching(/^python/), serial: '0' });
    expect(existing?.exe).toMatch(/python/);
    expect(existing?.argv).toContain('-c');
    const accepted = flows.find((f) => f.op === 'existing' && f.local_port === String(port) && f.remote_port === String(localPort));
    expect(accepted).toMatchObject({ direction: 'ingress', pid: String(server.pid) });
    expect(flows.find((f) => f.op === 'existing' && f.local_port === String(port) && f.direction === 'listen')).toBeDefined();
    const close = flows.find((f) => f.op === 'close' && f.local_port === String(localPort));
    expect(close).toMatchObject({ direction: 'egress', pid: String(client.pid), exe: existing?.exe, socket_cookie: existing?.socket_cookie, bytes_out: '0', community_id: existing?.community_id });
    expect(close).not.toHaveProperty('open_serial');
  });
});
