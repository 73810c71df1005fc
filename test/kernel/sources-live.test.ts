// The three sources beyond socket syscalls, live, through `auditflow run` into a private Redis:
// io_uring operations (the default ruleset's io_uring rules), UDP receives (optional:udp-ingress)
// and netfilter packets (rules/netfilter.nft in a network namespace this test makes). The programs
// close their sockets and exit at once, as real ones do.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, run } from '../helpers/child.js';
import { readStream, startDaemon, useDaemonRedis, type DaemonChild } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync } from '../helpers/until.js';
import { buildUringWorkload, URING_SCENARIOS } from '../helpers/workload.js';

useKernel();
const servers = useDaemonRedis();
const scratch = mkdtempSync(join(tmpdir(), 'auditflow-sources-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Entry = Record<string, string>;

async function entries(stream: string): Promise<Entry[]> {
  return (await readStream(servers.redis.url, stream)).map((entry) => entry.fields);
}

async function running(stream: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DaemonChild> {
  const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream, ...extra], env });
  await daemon.waitForLog('running');
  return daemon;
}

interface UringRun {
  scenario: (typeof URING_SCENARIOS)[number];
  pid: number;
  output: Map<string, number>;
}

async function uringScenarios(): Promise<UringRun[]> {
  const workload = buildUringWorkload();
  const runs: UringRun[] = [];
  for (const scenario of URING_SCENARIOS) {
    const child = spawn(workload, [scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await finished(child);
    expect(result.code, result.stderr).toBe(0);
    const output = new Map<string, number>();
    for (const line of result.stdout.split('\n')) {
      const match = /^(server|client) (\d+)$/.exec(line);
      if (match) output.set(match[1] as string, Number(match[2]));
    }
    runs.push({ scenario, pid: child.pid ?? -1, output });
  }
  return runs;
}

/** The io_uring scenarios under a daemon, until each run's pid has an entry `seen` takes (and a moment more); then the stream. */
async function uringUnder(stream: string, extra: string[], seen: (entry: Entry) => boolean): Promise<{ runs: UringRun[]; all: Entry[] }> {
  const daemon = await running(stream, extra);
  let runs: UringRun[];
  try {
    runs = await uringScenarios();
    await untilAsync(async () => {
      const all = await entries(stream);
      return runs.every((one) => all.some((e) => e.pid === String(one.pid) && seen(e)));
    }, 15_000, `an entry of each scenario in ${stream}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    expect((await daemon.stop()).code).toBe(0);
  }
  // Read after the stop, which flushes whatever was still on its way.
  return { runs, all: await entries(stream) };
}

describe('io_uring operations, live', () => {
  it('with the default ruleset, each connect, sendmsg and accept through io_uring is exactly one flow with its remote end, result, pid and exe', async () => {
    // Every scenario binds its server with the bind syscall: that flow, and the io_uring one.
    const { runs, all } = await uringUnder('live:uring', [], (entry) => entry.via === 'io_uring');
    const expected: Record<(typeof URING_SCENARIOS)[number], { op: string; result: string; family: string; addr: string; port: 'server' | 'client' }> = {
      // A connect's outcome goes to the completion queue, never to audit (src/pipeline/uring-ops.ts).
      'uring-connect-tcp4': { op: 'connect', result: 'unknown', family: 'inet', addr: '127.0.0.1', port: 'server' },
      'uring-connect-tcp6': { op: 'connect', result: 'unknown', family: 'inet6', addr: '::1', port: 'server' },
      'uring-connect-refused': { op: 'connect', result: 'unknown', family: 'inet', addr: '127.0.0.1', port: 'server' },
      'uring-sendmsg-udp4': { op: 'sendmsg', result: 'unknown', family: 'inet', addr: '127.0.0.1', port: 'server' },
      'uring-accept': { op: 'accept', result: 'ok', family: 'inet', addr: '127.0.0.1', port: 'client' },
      // Submitted before the client came: io_uring's retry took it, with the peer.
      'uring-accept-wait': { op: 'accept', result: 'ok', family: 'inet', addr: '127.0.0.1', port: 'client' },
    };
    for (const one of runs) {
      const mine = all.filter((e) => e.kind === 'flow' && e.pid === String(one.pid) && e.via === 'io_uring');
      const want = expected[one.scenario];
      expect(mine, one.scenario).toHaveLength(1);
      expect(mine[0], one.scenario).toMatchObject({
        op: want.op,
        uring_op: want.op,
        source: 'process',
        result: want.result,
        family: want.family,
        remote_addr: want.addr,
        remote_port: String(one.output.get(want.port)),
        comm: 'uring-workload',
        exe: buildUringWorkload(),
      });
      // The process's rule key labels it (built-in label `uring`).
      expect(JSON.parse(mine[0]?.labels ?? '[]')).toContain('uring');
    }
  });

  it('without the io_uring rules, the same program is invisible: its syscalls are flows, its io_uring operations are not', async () => {
    const rules = join(scratch, 'network-without-io_uring.rules');
    const network = readFileSync(fileURLToPath(new URL('../../rules/network.rules', import.meta.url)), 'utf8');
    writeFileSync(rules, network.split('\n').filter((line) => !line.startsWith('-a always,io_uring')).join('\n'));
    // Its bind syscalls arrive: the daemon saw the program.
    const { runs, all } = await uringUnder('live:uring-off', ['--set', `rules=${rules}`], (entry) => entry.op === 'bind');
    const pids = new Set(runs.map((one) => String(one.pid)));
    expect(all.filter((e) => pids.has(e.pid ?? '') && e.via === 'io_uring')).toEqual([]);
    // The accept scenario's client connects with the connect syscall: seen; its io_uring accept: not.
    expect(all.filter((e) => pids.has(e.pid ?? '') && e.op === 'accept')).toEqual([]);
  });
});

// Three senders per server; each sends `repeats` datagrams; the server receives them with recvfrom
// (IPv4) or recvmsg (IPv6), prints each sender's port, closes and exits.
const UDP_SERVER = `
import socket, sys
family, host, call, repeats = (socket.AF_INET, '127.0.0.1', 'recvfrom', 3) if sys.argv[1] == '4' else (socket.AF_INET6, '::1', 'recvmsg', 2)
server = socket.socket(family, socket.SOCK_DGRAM)
server.bind((host, 0))
senders = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(3)]
for _ in range(repeats):
    for sender in senders:
        sender.sendto(b'ping', server.getsockname())
for _ in range(3 * repeats):
    if call == 'recvfrom':
        server.recvfrom(64)
    else:
        server.recvmsg(64)
for sender in senders:
    print(sender.getsockname()[1], flush=True)
    sender.close()
print('server', server.getsockname()[1], flush=True)
server.close()
`;

describe('UDP receives, live (optional:udp-ingress)', () => {
  it('gives a UDP server receiving from three senders one ingress flow per sender, aggregated: counts add up to the datagrams', async () => {
    const daemon = await running('live:recv', ['--set', 'rules=default,optional:udp-ingress']);
    const servers4and6: Array<{ version: '4' | '6'; op: string; pid: number; senders: number[]; repeats: number; addr: string }> = [];
    try {
      for (const [version, op, repeats, addr] of [
        ['4', 'recvfrom', 3, '127.0.0.1'],
        ['6', 'recvmsg', 2, '::1'],
      ] as const) {
        const child = spawn('python3', ['-c', UDP_SERVER, version], { stdio: ['ignore', 'pipe', 'pipe'] });
        const result = await finished(child);
        expect(result.code, result.stderr).toBe(0);
        const lines = result.stdout.trim().split('\n');
        servers4and6.push({ version, op, pid: child.pid ?? -1, senders: lines.slice(0, 3).map(Number), repeats, addr });
      }
      await untilAsync(async () => {
        const all = await entries('live:recv');
        return servers4and6.every((s) => s.senders.every((port) => all.some((e) => e.pid === String(s.pid) && e.op === s.op && e.remote_port === String(port))));
      }, 15_000, 'a receive flow from each sender');
    } finally {
      // Stopping flushes the open aggregation windows.
      expect((await daemon.stop()).code).toBe(0);
    }
    const all = await entries('live:recv');
    for (const server of servers4and6) {
      const mine = all.filter((e) => e.kind === 'flow' && e.pid === String(server.pid) && (e.op === 'recvfrom' || e.op === 'recvmsg'));
      expect(new Set(mine.map((e) => e.remote_port))).toEqual(new Set(server.senders.map(String)));
      for (const port of server.senders) {
        const fromSender = mine.filter((e) => e.remote_port === String(port));
        expect(fromSender.every((e) => e.op === server.op && e.direction === 'ingress' && e.proto === 'udp' && e.remote_addr === server.addr && e.result === 'ok')).toBe(true);
        // The first at once, the rest in the window's one entry.
        expect(fromSender.length).toBeLessThanOrEqual(2);
        expect(fromSender.reduce((sum, e) => sum + Number(e.count), 0)).toBe(server.repeats);
      }
    }
  });
});

// In the namespace: a TCP listener, one connect to it (accepted, closed at once), one UDP datagram.
const NETNS_TRAFFIC = `
import socket
listener = socket.socket()
listener.bind(('127.0.0.1', 0))
listener.listen()
client = socket.create_connection(listener.getsockname())
accepted, _ = listener.accept()
print('tcp', listener.getsockname()[1], client.getsockname()[1], flush=True)
for s in (accepted, client, listener):
    s.close()
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.bind(('127.0.0.1', 0))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sender.sendto(b'ping', receiver.getsockname())
print('udp', receiver.getsockname()[1], flush=True)
sender.close()
receiver.close()
`;

describe('netfilter packets, live (rules/netfilter.nft in a network namespace)', () => {
  it('gives exactly one packet flow per direction for each new connection, with its addresses, proto and direction', async () => {
    const netns = `auditflow-test-${process.pid}`;
    const daemon = await running('live:packets');
    try {
      execFileSync('ip', ['netns', 'add', netns]);
      execFileSync('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
      execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', fileURLToPath(new URL('../../rules/netfilter.nft', import.meta.url))]);
      const traffic = await run('ip', ['netns', 'exec', netns, 'python3', '-c', NETNS_TRAFFIC]);
      expect(traffic.code, traffic.stdout).toBe(0);
      await untilAsync(async () => (await entries('live:packets')).filter((e) => e.op === 'packet').length >= 4, 15_000, 'four packet flows');
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      execFileSync('ip', ['netns', 'delete', netns], { stdio: 'ignore' });
      expect((await daemon.stop()).code).toBe(0);
    }
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(netns);
    const packets = (await entries('live:packets')).filter((e) => e.op === 'packet');
    const summary = packets.map((e) => [e.proto, e.direction, e.local_addr, e.remote_addr, e.source, e.pid ?? null]);
    expect(summary).toEqual([
      ['tcp', 'egress', '127.0.0.1', '127.0.0.1', 'netfilter', null],
      ['tcp', 'ingress', '127.0.0.1', '127.0.0.1', 'netfilter', null],
      ['udp', 'egress', '127.0.0.1', '127.0.0.1', 'netfilter', null],
      ['udp', 'ingress', '127.0.0.1', '127.0.0.1', 'netfilter', null],
    ]);
  });
});
