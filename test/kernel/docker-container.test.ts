// Flows of a real container carry its id, also those of a client that exits at once. The image is
// made here without any registry: `docker import` of a directory holding Debian's busybox-static.
// Inside one `--network none` container (its own loopback), a shell starts a busybox nc server and a
// busybox nc client that sends one line and exits; `auditflow run` on the host publishes the flows
// into a private Redis. The client is gone before /proc can be read (proc_gone): its container comes
// from its own cgroup as the addon's lookup thread read it at its first audited syscall, else from
// its parent, the container's shell (docs/flows.md, "Identity before data").
// Needs Debian's docker.io and busybox-static (npm test installs both: scripts/install-test-deps.sh); part of `npm
// test`. It starts dockerd when no engine answers and stops it again by its pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync } from '../helpers/until.js';

const image = `auditflow-busybox:${process.pid}`;
const name = `auditflow-flows-${process.pid}`;
const STREAM = 'live:docker-container';

function docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// The container's script: wait to be inspected, serve one connection, connect once, then linger so
// the shell (the client's parent) is alive when the daemon reads /proc.
const SCRIPT = 'sleep 1; nc -l -p 8080 >/dev/null & sleep 0.3; echo hello | nc -w 1 127.0.0.1 8080; wait; sleep 3';

describe('flows of a real container', () => {
  useKernel();
  const servers = useDaemonRedis();
  let engine: ChildProcess | undefined;
  let root: string;

  beforeAll(async () => {
    expect(spawnSync('docker', ['--version']).status, 'docker is missing: npm test installs docker.io (scripts/install-test-deps.sh)').toBe(0);
    if (docker('info').status !== 0) {
      engine = spawn('dockerd', [], { stdio: 'ignore' });
      await untilAsync(async () => docker('info').status === 0, 60_000, 'dockerd');
    }
    expect(existsSync('/bin/busybox'), 'apt-get install busybox-static').toBe(true);
    root = mkdtempSync(join(tmpdir(), 'auditflow-busybox-'));
    mkdirSync(join(root, 'bin'));
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const applet of ['sh', 'nc', 'sleep', 'echo']) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = spawnSync('sh', ['-c', `tar -C '${root}' -c . | docker import - '${image}'`], { encoding: 'utf8' });
    expect(tar.status, tar.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    docker('rm', '-f', name);
    docker('rmi', image);
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    if (engine?.pid !== undefined && engine.exitCode === null) {
      const stopped = new Promise((resolve) => engine?.once('exit', resolve));
      process.kill(engine.pid, 'SIGTERM');
      await stopped;
    }
  });

  it("gives every flow of a --network none container its id, the short-lived client's too", async () => {
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', STREAM] });
    let id = '';
    let shellPid = '';
    try {
      await daemon.waitForLog('running');
      const run = docker('run', '-d', '--name', name, '--network', 'none', image, 'sh', '-c', SCRIPT);
      expect(run.status, run.stderr).toBe(0);
      id = run.stdout.trim();
      shellPid = docker('inspect', '-f', '{{.State.Pid}}', name).stdout.trim();
      expect(Number(shellPid)).toBeGreaterThan(0);
      const ours = async (): Promise<Array<Record<string, string>>> =>
        (await readStream(servers.redis.url, STREAM)).map((entry) => entry.fields).filter((fields) => fields.ppid === shellPid && (fields.family === 'inet' || fields.family === 'inet6'));
      await untilAsync(
        async () => {
          const seen = new Set((await ours()).map((fields) => fields.op));
          return ['bind', 'accept', 'connect'].every((op) => seen.has(op));
        },
        20_000,
        "the container's flows",
      );
      await untilAsync(async () => docker('inspect', '-f', '{{.State.Running}}', name).stdout.trim() === 'false', 20_000, 'the container to end');
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
    const flows = (await readStream(servers.redis.url, STREAM)).map((entry) => entry.fields).filter((fields) => fields.ppid === shellPid && (fields.family === 'inet' || fields.family === 'inet6'));
    const ops = flows.map((fields) => fields.op);
    expect(ops).toEqual(expect.arrayContaining(['bind', 'accept', 'connect']));
    for (const fields of flows) expect(fields, JSON.stringify(fields)).toMatchObject({ container_id: id, container_runtime: 'docker' });
    const connect = flows.find((fields) => fields.op === 'connect');
    expect(connect).toMatchObject({ remote_addr: '127.0.0.1', remote_port: '8080', proto: 'tcp' });
    // nc -l listens on both families (an IPv6 socket): its accept's peer is the client as ::ffff:127.0.0.1.
    expect(flows.find((fields) => fields.op === 'accept')).toMatchObject({ family: 'inet6', proto: 'tcp' });
  }, 120_000);
});
