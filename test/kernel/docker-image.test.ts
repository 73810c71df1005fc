// The Docker image, built without any image registry (scripts/docker-build.sh: a debootstrap base with
// Node 24 from the npm registry) and run as the README says, against the real kernel and a private
// redis-server on loopback: --version, rules check, and the daemon publishing the flows of a loopback
// connect made here and of one made inside a second container (--network none, on its own loopback),
// whose flow names that container. Stopped, the daemon puts the kernel back.
// Building takes minutes (measured: 4.6 min from nothing, base and image; about 1 min after a source
// change), beyond what the suite may spend: run it with `npm run test:docker`, which
// sets AUDITFLOW_DOCKER_TEST=1. It needs Debian's docker.io and debootstrap; it starts dockerd when no
// engine answers, and stops it again by its pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream, tcpConnects } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const enabled = process.env.AUDITFLOW_DOCKER_TEST === '1';
const root = fileURLToPath(new URL('../../', import.meta.url));
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const image = 'auditflow:test';
const name = `auditflow-test-${process.pid}`;
const volume = `auditflow-test-state-${process.pid}`;
const stream = `auditflow:docker-test:${process.pid}`;
// The README's `docker run` flags (docs/install.md): the host's pid and network namespaces and cgroup
// paths, only the six capabilities the daemon uses.
const runFlags = [
  '--pid=host',
  '--network=host',
  '--cgroupns=host',
  '--cap-drop=ALL',
  '--cap-add=AUDIT_CONTROL',
  '--cap-add=AUDIT_READ',
  '--cap-add=SYS_PTRACE',
  '--cap-add=DAC_READ_SEARCH',
  '--cap-add=NET_RAW',
  '--cap-add=NET_ADMIN',
];

/** Polls an async condition every 250 ms until it holds; fails after timeoutMs with what() said. */
async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms\n${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!enabled)('the Docker image (npm run test:docker; skipped unless AUDITFLOW_DOCKER_TEST=1: the build takes minutes)', () => {
  let engine: ChildProcess | undefined;

  beforeAll(async () => {
    if (docker('info').status !== 0) {
      engine = spawn('dockerd', [], { stdio: 'ignore' });
      await eventually(() => docker('info').status === 0, 60_000);
    }
  });

  afterAll(async () => {
    if (engine?.pid !== undefined && engine.exitCode === null) {
      const stopped = new Promise((resolve) => engine?.once('exit', resolve));
      process.kill(engine.pid, 'SIGTERM');
      await stopped;
    }
  });

  it('builds without a registry', () => {
    const build = spawnSync('bash', ['scripts/docker-build.sh', image], { cwd: root, encoding: 'utf8', timeout: 900_000 });
    expect(build.status, build.stdout.slice(-3000) + build.stderr.slice(-3000)).toBe(0);
    expect(docker('run', '--rm', '--network=none', '--entrypoint', 'node', image, '-p', 'process.versions.node.split(".")[0]').stdout).toBe('24\n');
  }, 900_000);

  it('prints its version and checks the packaged rules', () => {
    expect(docker('run', '--rm', '--network=none', image, '--version')).toMatchObject({ status: 0, stdout: `${version}\n` });
    const check = docker('run', '--rm', '--network=none', image, 'rules', 'check', '/opt/auditflow/rules/network.rules');
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^-a always,exit -F arch=b64 -S socket /);
  });

  // The kernel lock only from here: the build above does not touch the kernel.
  describe('as the audit daemon', () => {
    const kernel = useKernel();
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      // SIGTERM first, also after a failure: a daemon killed outright would keep the audit slot until
      // the kernel next fails to deliver to it, and the kernel's restore would find it held.
      docker('stop', '--time', '30', name);
      docker('rm', '--force', name);
      docker('volume', 'rm', '--force', volume);
      await redis?.stop();
    });

    it('runs as the audit daemon: flows of the host and of another container reach Redis, and the kernel is put back', async () => {
      const rulesBefore = (await kernel.control.listRules()).length;
      const started = docker(
        'run',
        '--detach',
        '--name',
        name,
        ...runFlags,
        '--volume',
        `${volume}:/var/lib/auditflow`,
        '--env',
        `AUDITFLOW_REDIS_URL=${redis.url}`,
        '--env',
        `AUDITFLOW_STREAM=${stream}`,
        '--env',
        'AUDITFLOW_METRICS_LISTEN=off',
        image,
      );
      expect(started.status, started.stderr).toBe(0);
      const daemonPid = Number(docker('inspect', '--format', '{{.State.Pid}}', name).stdout.trim());
      await eventually(() => docker('logs', name).stdout.includes('"msg":"running"'), 60_000, () => docker('logs', name).stdout + docker('logs', name).stderr);
      expect((await kernel.control.status()).pid).toBe(daemonPid);
      expect((await kernel.control.listRules()).length).toBeGreaterThan(rulesBefore);

      // A connect of this process on loopback.
      const connects = await tcpConnects(1);
      try {
        await eventually(async () => (await readStream(redis.url, stream)).some((e) => e.fields.op === 'connect' && e.fields.remote_port === String(connects.port)), 20_000);
        const flow = (await readStream(redis.url, stream)).find((e) => e.fields.op === 'connect' && e.fields.remote_port === String(connects.port));
        expect(flow?.fields).toMatchObject({ pid: String(process.pid), remote_addr: '127.0.0.1', proto: 'tcp' });
        // This test runs on the host: no container is named (a null field is left out of the entry).
        expect(flow?.fields.container_id).toBeUndefined();
      } finally {
        await connects.close();
      }

      // A second container without a network of its own to the host: it connects on its own loopback
      // and stays a moment, so that its /proc/<pid>/cgroup is read while it lives.
      const script =
        "const net = require('node:net'); const s = net.createServer().listen(0, '127.0.0.1', () => { " +
        "const c = net.connect(s.address().port, '127.0.0.1', () => { console.log(s.address().port); setTimeout(() => { c.destroy(); s.close(); }, 3000); }); });";
      const other = docker('run', '--detach', '--network=none', '--entrypoint', 'node', image, '-e', script);
      expect(other.status, other.stderr).toBe(0);
      const containerId = other.stdout.trim();
      try {
        expect(docker('wait', containerId).stdout.trim()).toBe('0');
        const port = docker('logs', containerId).stdout.trim();
        const theirs = async () => (await readStream(redis.url, stream)).find((e) => e.fields.op === 'connect' && e.fields.remote_port === port);
        await eventually(async () => (await theirs()) !== undefined, 20_000);
        expect(containerId).toBe(docker('inspect', '--format', '{{.Id}}', containerId).stdout.trim());
        const fields = (await theirs())?.fields;
        expect(fields).toMatchObject({ remote_addr: '127.0.0.1', container_id: containerId, container_runtime: 'docker' });
        expect(fields?.exe).toMatch(/\/node$/);
      } finally {
        docker('rm', '--force', containerId);
      }

      // docker stop: SIGTERM; the daemon deletes its rules, gives up the slot and exits 0.
      expect(docker('stop', '--time', '30', name).status).toBe(0);
      expect(docker('inspect', '--format', '{{.State.ExitCode}}', name).stdout.trim()).toBe('0');
      expect((await kernel.control.status()).pid).not.toBe(daemonPid);
      expect((await kernel.control.listRules()).length).toBe(rulesBefore);
    }, 180_000);
  });
});
