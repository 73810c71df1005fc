// The process context of a client that exits right after its connect, live: `auditflow run` into a
// private Redis, and short-lived python clients each started in a cgroup of this test's own
// (af-test-<pid>.slice/af-test-<pid>.service in the cgroup v2 hierarchy). Each is gone before the
// daemon's pipeline reads /proc for its flow (proc_gone); its unit comes from the cgroup file the
// addon's lookup thread read when the client's first socket call was audited (docs/flows.md,
// "Identity before data"). Its parent is this test, in no unit: nothing of it comes from the parent.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NativeSocketStats } from '../../src/native/binding.js';
import { cgroup2Root, removeCgroup } from '../helpers/cgroup.js';
import { finished } from '../helpers/child.js';
import { readStream, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { untilAsync } from '../helpers/until.js';

useKernel();
const servers = useDaemonRedis();
const STREAM = 'live:early-cgroup';
const CLIENTS = 5;
// Moves itself into the cgroup (the shell's pid is the client's: it execs python), connects once,
// and 30 ms later exits at once (os._exit: python's own teardown took longer than the daemon's batch
// wait once in CI, and the flow was read while the client was alive). The 30 ms let the lookup thread
// meet the client alive (a C client gone within microseconds of its connect is gone before that
// too: its unit then stays unknown); the daemon's batches wait 100 ms (below).
const CLIENT = 'echo $$ > "$1/cgroup.procs" && exec python3 -c "import os, socket, sys, time; socket.create_connection((\'127.0.0.1\', int(sys.argv[1]))); time.sleep(0.03); os._exit(0)" "$2"';

describe('a short-lived process in a unit of its own', () => {
  it('has its own unit on its connect flow, from the addon\'s early read, and stays proc_gone', async () => {
    const root = cgroup2Root();
    expect(root, 'no cgroup2 file system is mounted').toBeDefined();
    const slice = join(root as string, `af-test-${process.pid}.slice`);
    const unit = `af-test-${process.pid}.service`;
    const service = join(slice, unit);
    const server = createServer((connection) => connection.on('error', () => {}).resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // Batches wait 100 ms for more records (the default 20): each client has exited when its flow is resolved.
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', STREAM, '--set', 'reader_delivery_ms=100'] });
    const pids: number[] = [];
    mkdirSync(service, { recursive: true });
    try {
      await daemon.waitForLog('running');
      for (let n = 0; n < CLIENTS; n++) {
        const client = spawn('sh', ['-c', CLIENT, 'client', service, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
        const result = await finished(client);
        expect(result.code, result.stderr).toBe(0);
        pids.push(client.pid as number);
      }
      await untilAsync(async () => (await connects(pids)).length === CLIENTS, 20_000, "the clients' connects");
    } finally {
      expect((await daemon.stop()).code).toBe(0);
      await new Promise((resolve) => server.close(resolve));
      await removeCgroup(service);
      await removeCgroup(slice);
    }
    const flows = await connects(pids);
    for (const flow of flows) {
      expect(flow, JSON.stringify(flow)).toMatchObject({ proc_gone: 'true', unit, remote_port: String(port), ppid: String(process.pid), exe: expect.stringMatching(/python3/) });
      // Nothing in the record or the parent says container; the early read's cgroup does not either.
      expect(flow.container_id ?? '').toBe('');
    }
    const status = JSON.parse(readFileSync(join(daemon.dirs.runtime, 'status.json'), 'utf8')) as { reader: NativeSocketStats; pipeline: { process: { earlyUsed: number } } };
    const { cgroups } = status.reader.lookups;
    console.log(`early reads: ${JSON.stringify(cgroups)}, ${(cgroups.timeNs / Math.max(1, cgroups.read + cgroups.cut + cgroups.gone + cgroups.failed) / 1000).toFixed(1)} µs each; lookups ${status.reader.lookups.made} in ${(status.reader.lookups.timeNs / 1e6).toFixed(2)} ms; flows that used one: ${status.pipeline.process.earlyUsed}`);
    expect(cgroups.read).toBeGreaterThanOrEqual(CLIENTS);
    expect(status.pipeline.process.earlyUsed).toBeGreaterThanOrEqual(CLIENTS);
  }, 60_000);
});

/** The clients' connect flows in the stream. */
async function connects(pids: number[]): Promise<Array<Record<string, string>>> {
  const wanted = new Set(pids.map(String));
  return (await readStream(servers.redis.url, STREAM)).map((entry) => entry.fields).filter((fields) => fields.op === 'connect' && wanted.has(fields.pid ?? ''));
}
