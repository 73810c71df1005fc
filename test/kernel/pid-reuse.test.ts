// Pid reuse made real: a process exits and its pid is handed to a newcomer holding a socket on the same
// fd number (root sets /proc/sys/kernel/ns_last_pid just before forking, the checkpoint/restore
// interface: kernel/pid.c). A lookup for an event of the first process must not answer with the
// newcomer's socket; for the newcomer's own events it must.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSocketResolver } from '../../src/daemon/socket-resolver.js';
import { AF_INET } from '../../src/linux/socket.js';
import { nativeBinding } from '../../src/native/binding.js';
import { procSocketResolver } from '../../src/pipeline/sockets.js';
import { finished, waitForLine } from '../helpers/child.js';

// Forks until the child gets pid $P (others may fork in between on a busy machine), the child holding a
// TCP connection to $PORT as fd 3; the shell stays its parent until the child is killed.
const REUSE = `
for attempt in $(seq 20); do
  echo $((P - 1)) > /proc/sys/kernel/ns_last_pid
  (exec 3<>/dev/tcp/127.0.0.1/$PORT; exec sleep 60) &
  if [ $! = "$P" ]; then echo "reused $!"; wait; exit 0; fi
  kill $!
done
echo "pid $P not reused"
exit 1
`;

let server: Server;
let port: number;
const shells: ChildProcess[] = [];
const newcomers: number[] = [];

beforeAll(async () => {
  server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  // The newcomer first (the shell waits for it), then any shell still there.
  for (const pid of newcomers) process.kill(pid, 'SIGKILL');
  await Promise.all(shells.map((shell) => (shell.exitCode === null && shell.signalCode === null ? finished(shell) : undefined)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A process that lived at `pid` at `eventMs` and exited, and a newcomer at the same pid started 250 ms later. */
async function reusedPid(): Promise<{ pid: number; eventMs: number }> {
  for (let round = 0; round < 5; round++) {
    const first = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = first.pid ?? -1;
    const eventMs = Date.now();
    const exited = finished(first);
    first.kill('SIGKILL');
    await exited;
    await new Promise((resolve) => setTimeout(resolve, 250));
    const shell = spawn('bash', ['-c', REUSE], { env: { ...process.env, P: String(pid), PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    shells.push(shell);
    const line = await waitForLine(shell, /^reused \d+$|not reused/).catch((error: Error) => error.message);
    if (line === `reused ${pid}`) {
      newcomers.push(pid);
      return { pid, eventMs };
    }
  }
  throw new Error('no pid was reused in 5 rounds');
}

describe('pid reuse', () => {
  it("never answers an event of a process that exited with the socket of the newcomer at its pid; answers the newcomer's own", async () => {
    const { pid, eventMs } = await reusedPid();
    const newcomerEventMs = Date.now();
    // The newcomer holds fd 3, a connection to the server: the answer a lookup must not give for eventMs.
    expect(nativeBinding().socketEnds(pid, 3, eventMs)).toBe(false);
    let reused = 0;
    const live = liveSocketResolver(nativeBinding(), { onReused: () => reused++ });
    expect(live(pid, 3, undefined, eventMs)).toBeUndefined();
    expect(reused).toBe(1);
    expect(procSocketResolver()(pid, 3, undefined, eventMs)).toBeUndefined();
    const own = { family: AF_INET, protocol: 6, remote: { addr: '127.0.0.1', port } };
    expect(live(pid, 3, undefined, newcomerEventMs)).toMatchObject(own);
    expect(procSocketResolver()(pid, 3, undefined, newcomerEventMs)).toMatchObject(own);
    expect(reused).toBe(1);
  });
});
