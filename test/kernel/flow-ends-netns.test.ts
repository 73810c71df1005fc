// Close entries of another network namespace, live: a namespace made by the test (`ip netns add`,
// loopback up), a server and short-lived clients inside it, `auditflow run` on the host into a
// private Redis. With flow_end_namespaces = all the daemon reads that namespace's destroy broadcasts
// (setns on a native thread) and joins them to the namespace's own flows; with host it reads none,
// and nothing of the namespace is joined to a host destroy. Either way the early socket lookup
// (pidfd_getfd) gives the clients' flows their local end across the namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { finished, waitForLine } from '../helpers/child.js';
import { readStream, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync } from '../helpers/until.js';

useKernel();
const servers = useDaemonRedis();

/**
 * Inside the namespace: a TCP server on 127.0.0.1 (accepts and closes at once), then, on each
 * `go N` line, N short-lived clients, each its own process (connect, getsockname, close, exit);
 * prints `clients pid:port ... end`. The parent lives on, so the namespace keeps a process.
 */
const NAMESPACE_PARENT = `
import socket, subprocess, sys, threading
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(64)
port = s.getsockname()[1]
def serve():
    while True:
        c, _ = s.accept(); c.close()
threading.Thread(target=serve, daemon=True).start()
print('port', port, flush=True)
CLIENT = "import socket, sys, os; c = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); print('%d:%d' % (os.getpid(), c.getsockname()[1])); c.close()"
for line in sys.stdin:
    n = int(line.split()[1])
    seen = [subprocess.run([sys.executable, '-c', CLIENT, str(port)], capture_output=True, text=True, check=True).stdout.strip() for _ in range(n)]
    print('clients', *seen, 'end', flush=True)
`;

const CLIENTS = 5;

async function flowsOf(stream: string): Promise<Array<Record<string, string>>> {
  return (await readStream(servers.redis.url, stream)).map((entry) => entry.fields).filter((fields) => fields.kind === 'flow');
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

interface Run {
  netns: string;
  port: number;
  parentPid: number;
  /** Each client's pid and the local port it saw. */
  clients: Array<{ pid: string; port: string }>;
}

/** A namespace of the test's own, the daemon with `setting`, the clients; the namespace deleted in the end. */
async function runInNamespace(stream: string, setting: 'host' | 'all'): Promise<Run> {
  const name = `af-test-${process.pid}`;
  ip('netns', 'add', name);
  let parent: ChildProcess | undefined;
  const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream], env: { AUDITFLOW_FLOW_END_NAMESPACES: setting } });
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    const netns = String(statSync(`/run/netns/${name}`).ino);
    await daemon.waitForLog('running');
    parent = spawn('ip', ['netns', 'exec', name, 'python3', '-c', NAMESPACE_PARENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const parentDone = finished(parent);
    const port = Number((await waitForLine(parent, /^port \d+$/)).split(' ')[1]);
    // The server's bind is the namespace's first flow: with `all` its reader opens then, before the clients.
    if (setting === 'all') await daemon.waitForLog('reading socket destroys in another network namespace');
    else await untilAsync(async () => (await flowsOf(stream)).some((f) => f.op === 'bind' && f.pid === String(parent?.pid)), 10_000, 'the server bind');
    // The whole line (`end`): a chunk may end inside it.
    const printed = waitForLine(parent, /^clients .* end$/, 20_000);
    parent.stdin?.write(`go ${CLIENTS}\n`);
    const clients = (await printed)
      .split(' ')
      .slice(1, -1)
      .map((pair) => {
        const [pid, local] = pair.split(':');
        return { pid: pid as string, port: local as string };
      });
    const connectsAndCloses = async (): Promise<boolean> => {
      const flows = await flowsOf(stream);
      const connects = clients.every((c) => flows.some((f) => f.op === 'connect' && f.pid === c.pid));
      return connects && (setting === 'host' || clients.every((c) => flows.some((f) => f.op === 'close' && f.local_port === c.port && f.netns === netns)));
    };
    await untilAsync(connectsAndCloses, 20_000, 'the clients flows (and with all their closes)').catch(() => undefined);
    parent.stdin?.end();
    await parentDone;
    // The namespace stays (ip netns keeps it mounted) without a process: the next sweep (every 10 s) closes its reader.
    if (setting === 'all') await daemon.waitForLog('a network namespace has no process left: its destroy reader is closed', 25_000);
    return { netns, port, parentPid: parent.pid as number, clients };
  } finally {
    parent?.kill();
    expect((await daemon.stop()).code).toBe(0);
    ip('netns', 'del', name);
  }
}

describe('auditflow run with flow_end_namespaces', () => {
  it('= all: the close entries of a namespace of the test, joined to its own connects, with both ends and its netns; its reader closed once no process is left in it', async () => {
    const stream = 'live:netns-all';
    const run = await runInNamespace(stream, 'all');
    const flows = await flowsOf(stream);
    const summary = JSON.stringify(flows.filter((f) => f.netns === run.netns).map((f) => [f.op, f.pid, f.local_port, f.remote_port, f.local_source, f.open_serial]));
    for (const client of run.clients) {
      const connect = flows.find((f) => f.op === 'connect' && f.pid === client.pid);
      // The client's own end, from the early lookup (socket) or from its namespace's destroy (close).
      expect(connect, summary).toMatchObject({ netns: run.netns, proto: 'tcp', local_addr: '127.0.0.1', local_port: client.port, remote_port: String(run.port) });
      expect(['socket', 'close']).toContain(connect?.local_source);
      const close = flows.find((f) => f.op === 'close' && f.local_port === client.port && f.remote_port === String(run.port));
      expect(close, summary).toMatchObject({
        netns: run.netns,
        proto: 'tcp',
        local_addr: '127.0.0.1',
        remote_addr: '127.0.0.1',
        direction: 'egress',
        open_serial: connect?.serial,
        pid: client.pid,
        community_id: connect?.community_id,
      });
    }
    // The server's side of each connection closes too, joined to its accept.
    const accepts = flows.filter((f) => f.op === 'accept' && f.pid === String(run.parentPid));
    expect(accepts.length, summary).toBe(CLIENTS);
    for (const accept of accepts) {
      expect(accept).toMatchObject({ netns: run.netns, local_port: String(run.port) });
      expect(flows.find((f) => f.op === 'close' && f.open_serial === accept.serial), summary).toMatchObject({ netns: run.netns, direction: 'ingress' });
    }
  });

  it('= host: no close entry from the namespace, none of its flows joined to a host destroy, local ends from the socket itself only', async () => {
    const stream = 'live:netns-host';
    const run = await runInNamespace(stream, 'host');
    const flows = await flowsOf(stream);
    const ours = flows.filter((f) => f.netns === run.netns);
    const summary = JSON.stringify(ours.map((f) => [f.op, f.pid, f.local_port, f.remote_port, f.local_source, f.serial]));
    // The early lookup reaches sockets in the namespace: the server's accepts (a live process) all
    // have both ends. A client that exits at once may be gone before it (then, with `host`, its
    // connect has no local end: no destroy of its namespace is read); where it found one, it is the
    // client's own.
    const accepts = flows.filter((f) => f.op === 'accept' && f.pid === String(run.parentPid));
    expect(accepts.map((f) => [f.netns, f.local_port, f.local_source, f.remote_port]).sort(), summary).toEqual(run.clients.map((c) => [run.netns, String(run.port), 'socket', c.port]).sort());
    for (const client of run.clients) {
      const connect = flows.find((f) => f.op === 'connect' && f.pid === client.pid);
      expect(connect, summary).toMatchObject({ netns: run.netns, proto: 'tcp' });
      if (connect?.local_port !== undefined) expect(connect, summary).toMatchObject({ local_port: client.port, local_source: 'socket' });
    }
    expect(ours.filter((f) => f.op === 'close')).toEqual([]);
    expect(ours.filter((f) => f.local_source === 'close')).toEqual([]);
    const serials = new Set(ours.map((f) => f.serial));
    expect(flows.filter((f) => f.op === 'close' && f.open_serial !== undefined && serials.has(f.open_serial))).toEqual([]);
  });

  it('= all without CAP_SYS_ADMIN: one warning at start, and the daemon runs on', async () => {
    const stream = 'live:netns-no-sys-admin';
    const daemon = startDaemon({
      args: ['--redis', servers.redis.url, '--stream', stream],
      env: { AUDITFLOW_FLOW_END_NAMESPACES: 'all' },
      prefix: ['setpriv', '--bounding-set', '-sys_admin', '--inh-caps', '-sys_admin'],
    });
    try {
      await daemon.waitForLog('running');
      expect(daemon.logs.filter((line) => /needs CAP_SYS_ADMIN/.test(line.msg))).toEqual([expect.objectContaining({ level: expect.stringMatching(/warn|40/) })]);
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });
});
