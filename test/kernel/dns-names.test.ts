// DNS names on flows, live: `auditflow run` with the default ruleset into a private Redis; this test's
// own DNS server (dns-packet) on 127.0.0.99:53; children that look names up through it with a real
// resolver library (Node's c-ares) and connect to what they got, to listeners of this test. The
// daemon's capture (AF_PACKET on lo) sees the answers; the connect and accept flows must carry the
// names. And without CAP_NET_RAW the daemon runs on, unnamed, and says so.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, helperPath, run, waitForLine } from '../helpers/child.js';
import { cli, readStream, startDaemon, useDaemonRedis, type DaemonChild } from '../helpers/daemon.js';
import { startDnsResponder, type DnsResponder } from '../helpers/dns-responder.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync } from '../helpers/until.js';

useKernel();
const servers = useDaemonRedis();

const RESOLVER = '127.0.0.99';
const ZONE = {
  'files.dnstest.example': { a: ['127.0.0.77'], aaaa: ['::1'] },
  'www.dnstest.example': { cname: 'edge.cdn.dnstest.example' },
  'edge.cdn.dnstest.example': { a: ['127.0.0.78'] },
  // Two names of one address, as a CDN has them.
  'mine.dnstest.example': { a: ['127.0.0.79'] },
  'other.dnstest.example': { a: ['127.0.0.79'] },
};
const LISTEN_ON = ['127.0.0.77', '::1', '127.0.0.78', '127.0.0.79'];

type Entry = Record<string, string>;

let responder: DnsResponder;
const listeners: Server[] = [];
let port = 0;

beforeAll(async () => {
  responder = await startDnsResponder(RESOLVER, ZONE);
  // One port on every address: the first listener picks it.
  for (const host of LISTEN_ON) {
    const server = createServer((socket) => socket.resume().on('end', () => socket.end()));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    port = (server.address() as { port: number }).port;
    listeners.push(server);
  }
});

afterAll(async () => {
  await responder?.close();
  for (const server of listeners) await new Promise((resolve) => server.close(resolve));
});

async function running(stream: string, env: NodeJS.ProcessEnv = {}, prefix?: string[]): Promise<DaemonChild> {
  const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream], env, ...(prefix ? { prefix } : {}) });
  await daemon.waitForLog('running');
  return daemon;
}

const childScript = helperPath('dns-child.mjs');

/** A child that resolves `name` through the test's server and connects; its pid and local port. */
async function resolveAndConnect(name: string, family: 4 | 6): Promise<{ pid: number; localPort: number }> {
  const child = spawn(process.execPath, [childScript, RESOLVER, name, String(family), String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = finished(child);
  const line = await waitForLine(child, /^connected \d+$/);
  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  return { pid: child.pid ?? -1, localPort: Number(line.split(' ')[1]) };
}

const entries = async (stream: string): Promise<Entry[]> => (await readStream(servers.redis.url, stream)).map((entry) => entry.fields);

/** Waits until `wanted` finds an entry in the stream; returns the stream then. */
async function streamWith(stream: string, what: string, wanted: (entry: Entry) => boolean): Promise<Entry[]> {
  let all: Entry[] = [];
  await untilAsync(async () => {
    all = await entries(stream);
    return all.some(wanted);
  }, 15_000, what);
  return all;
}

describe('DNS names on flows, live', () => {
  it('names the connect of a program that resolved an A record, and the connect and accept over IPv6 of an AAAA answer to ::1', async () => {
    const stream = 'live:dns-names';
    const daemon = await running(stream, { AUDITFLOW_DNS_ENTRIES: 'on' });
    try {
      const v4 = await resolveAndConnect('files.dnstest.example', 4);
      const v6 = await resolveAndConnect('FILES.dnstest.example', 6);
      const cname = await resolveAndConnect('www.dnstest.example', 4);
      await streamWith(stream, 'the CNAME child connect', (e) => e.pid === String(cname.pid) && e.op === 'connect' && e.remote_port === String(port));
      // The listener's accept can come later than the child's connect: a flow whose ends the close
      // join or the local check still decide waits up to local_wait_ms.
      const all = await streamWith(stream, 'the accept of the IPv6 connection', (e) => e.op === 'accept' && e.pid === String(process.pid) && e.remote_addr === '::1' && e.remote_port === String(v6.localPort));
      const connectOf = (pid: number): Entry | undefined => all.find((e) => e.kind === 'flow' && e.pid === String(pid) && e.op === 'connect' && e.remote_port === String(port));

      expect(connectOf(v4.pid)).toMatchObject({ remote_addr: '127.0.0.77', remote_name: 'files.dnstest.example' });
      expect(connectOf(v4.pid)?.remote_cname).toBeUndefined();
      // Names are written lower-case, whatever case the program asked in.
      expect(connectOf(v6.pid)).toMatchObject({ remote_addr: '::1', remote_name: 'files.dnstest.example' });
      expect(connectOf(cname.pid)).toMatchObject({ remote_addr: '127.0.0.78', remote_name: 'www.dnstest.example', remote_cname: 'edge.cdn.dnstest.example' });

      // The listener's accept of the IPv6 connection: its remote end is ::1, the name's address.
      const accept = all.find((e) => e.kind === 'flow' && e.op === 'accept' && e.pid === String(process.pid) && e.remote_addr === '::1' && e.remote_port === String(v6.localPort));
      expect(accept).toMatchObject({ local_addr: '::1', local_port: String(port), remote_name: 'files.dnstest.example' });

      // The connections' close entries (sock_diag) carry their opener's names.
      const withCloses = await streamWith(stream, 'the close entry of the CNAME child', (e) => e.op === 'close' && e.pid === String(cname.pid) && e.remote_port === String(port));
      const closeOf = (pid: number): Entry | undefined => withCloses.find((e) => e.op === 'close' && e.pid === String(pid) && e.remote_port === String(port));
      expect(closeOf(cname.pid)).toMatchObject({ remote_addr: '127.0.0.78', remote_name: 'www.dnstest.example', remote_cname: 'edge.cdn.dnstest.example' });
      expect(closeOf(v4.pid)).toMatchObject({ remote_addr: '127.0.0.77', remote_name: 'files.dnstest.example' });

      // Its DNS query was a flow too (a connect of the resolver's UDP socket to port 53) ...
      expect(all.some((e) => e.kind === 'flow' && e.pid === String(v4.pid) && e.remote_addr === RESOLVER && e.remote_port === '53' && e.proto === 'udp')).toBe(true);
      // ... so the kind=dns entry of each answer names the child that asked.
      // (held up to 2 s for the query's flow)
      const withAnswer = await streamWith(stream, 'the dns entry of the CNAME answer', (e) => e.kind === 'dns' && e.name === 'www.dnstest.example');
      const answer = withAnswer.find((e) => e.kind === 'dns' && e.name === 'www.dnstest.example');
      expect(answer).toMatchObject({ cname: 'edge.cdn.dnstest.example', addresses: '["127.0.0.78"]', ttl: '300', transport: 'udp', server: RESOLVER, server_port: '53', pid: String(cname.pid) });
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });

  it("prefers the answer to the process's own query over a later answer another process got for the same address", async () => {
    const stream = 'live:dns-own-answer';
    const daemon = await running(stream);
    try {
      // The child asks for mine.* and waits; then another process asks for other.* (the same
      // address, a more recent answer); then the child connects.
      const child = spawn(process.execPath, [childScript, RESOLVER, 'mine.dnstest.example', '4', String(port), '--wait'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const done = finished(child);
      await waitForLine(child, /^resolved 127\.0\.0\.79$/);
      const other = await resolveAndConnect('other.dnstest.example', 4);
      child.stdin?.end('go\n');
      const result = await done;
      expect(result.code, result.stderr).toBe(0);
      const all = await streamWith(stream, "the waiting child's connect", (e) => e.pid === String(child.pid) && e.op === 'connect' && e.remote_port === String(port));
      const connectOf = (pid: number | undefined): Entry | undefined => all.find((e) => e.kind === 'flow' && e.pid === String(pid) && e.op === 'connect' && e.remote_port === String(port));
      expect(connectOf(child.pid)).toMatchObject({ remote_addr: '127.0.0.79', remote_name: 'mine.dnstest.example' });
      expect(connectOf(other.pid)).toMatchObject({ remote_addr: '127.0.0.79', remote_name: 'other.dnstest.example' });
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });

  it('runs on without CAP_NET_RAW: flows unnamed, one warning, the capture reported unavailable', async () => {
    const stream = 'live:dns-no-net-raw';
    const daemon = await running(stream, { AUDITFLOW_STATS_INTERVAL_S: '1' }, ['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw']);
    try {
      const warning = await daemon.waitForLog(/cannot capture DNS answers without CAP_NET_RAW/);
      expect(warning).toMatchObject({ level: 'warn', code: 'EPERM' });
      const { pid } = await resolveAndConnect('files.dnstest.example', 4);
      const all = await streamWith(stream, 'the connect', (e) => e.pid === String(pid) && e.op === 'connect' && e.remote_port === String(port));
      expect(all.find((e) => e.pid === String(pid) && e.op === 'connect' && e.remote_port === String(port))?.remote_name).toBeUndefined();
      const stats = await daemon.waitForLog('stats');
      expect(stats.dns).toMatchObject({ capture: 'unavailable', answers: 0, named: 0 });
      expect(daemon.logs.filter((line) => /cannot capture DNS answers/.test(line.msg))).toHaveLength(1);
      const status = await run(process.execPath, [cli, 'status'], { env: { ...process.env, AUDITFLOW_RUNTIME_DIR: daemon.dirs.runtime, AUDITFLOW_REDIS_URL: servers.redis.url } });
      expect(status.stdout).toMatch(/^ {2}dns names +unavailable \(EPERM: Operation not permitted, socket\)$/m);
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });
});
