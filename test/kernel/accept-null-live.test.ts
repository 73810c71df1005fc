// A server that accepts without an address buffer — libuv's accept4(fd, NULL, NULL, ...), so every
// Node.js server — has no SOCKADDR record for the accept rules' saddr_fam to match. The default
// ruleset's a1=0 rule audits it, and the daemon reads both ends from the accepted socket. Live,
// through `auditflow run` into a private Redis: a Node.js server answering one request after 5 ms
// of work, then exiting; a python client that connects, asks and goes.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { finished, waitForLine } from '../helpers/child.js';
import { readStream, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync } from '../helpers/until.js';

useKernel();
const servers = useDaemonRedis();

const SERVER = `
const net = require('node:net');
const server = net.createServer((connection) => {
  connection.once('data', () => setTimeout(() => connection.end('PONG\\n'), 5));
  connection.on('close', () => server.close());
});
server.listen(0, '127.0.0.1', () => console.log('port', server.address().port));
`;
const CLIENT = `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'PING\\n')
s.recv(16)
print(s.getsockname()[1], flush=True)
s.close()
`;

describe('accept without an address buffer, live', () => {
  it("a Node.js server's accept is a flow with both ends, read from the accepted socket", async () => {
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'live:accept-null'] });
    let serverPid = -1;
    let port = 0;
    let clientPort = 0;
    try {
      await daemon.waitForLog('running');
      const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
      const serverDone = finished(server);
      serverPid = server.pid ?? -1;
      port = Number(/port (\d+)/.exec(await waitForLine(server, /^port \d+$/))?.[1]);
      const client = spawn('python3', ['-c', CLIENT, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const result = await finished(client);
      expect(result.code, result.stderr).toBe(0);
      clientPort = Number(result.stdout.trim());
      expect((await serverDone).code).toBe(0);
      await untilAsync(async () => (await readStream(servers.redis.url, 'live:accept-null')).some((e) => e.fields.pid === String(serverPid) && e.fields.op === 'accept'), 15_000, 'the accept flow');
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    const accepts = (await readStream(servers.redis.url, 'live:accept-null')).map((e) => e.fields).filter((f) => f.pid === String(serverPid) && f.op === 'accept');
    expect(accepts).toHaveLength(1);
    expect(accepts[0]).toMatchObject({
      syscall: 'accept4',
      direction: 'ingress',
      result: 'ok',
      family: 'inet',
      proto: 'tcp',
      local_addr: '127.0.0.1',
      local_port: String(port),
      remote_addr: '127.0.0.1',
      remote_port: String(clientPort),
      key: 'auditflow-accept',
      exe: process.execPath,
    });
    expect(accepts[0]?.community_id).toMatch(/^1:/);
  });
});
