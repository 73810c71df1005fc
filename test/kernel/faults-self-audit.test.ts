// Self-audit: the daemon's own network activity (its Redis connection, reconnects after Redis went
// away, its metrics listener and the scrapes it accepts) must never feed the stream it publishes.
// The kernel rule `-A exit,never -S all -F pid=<daemon>` keeps it out; the daemon would also drop
// such flows and count them (auditflow_self_flows_total), so the count staying 0 shows the rule
// alone did it. A multicast reader beside it, which the rule does not name, shows the count works.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/daemon/snapshot.js';
import { type DaemonChild, readStream, scrapeMetrics, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { freePort } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

useKernel();
const servers = useDaemonRedis();


const selfFlows = (daemon: DaemonChild): number => readSnapshot(daemon.dirs.runtime)?.selfFlows ?? -1;

describe('self-audit', () => {
  it("never publishes a flow of the daemon's own pid, and the kernel rule alone keeps them out", async () => {
    // The packaged ruleset, and every sendto/sendmsg of any family on top (TCP writes that use them included).
    const rules = mkdtempSync(join(tmpdir(), 'auditflow-self-rules-'));
    cpSync(fileURLToPath(new URL('../../rules/network.rules', import.meta.url)), join(rules, '10-network.rules'));
    writeFileSync(join(rules, '20-all-sends.rules'), '-a always,exit -F arch=b64 -S sendto,sendmsg -k self-test-sends\n-a always,exit -F arch=b64 -S connect -k self-test-connects\n');
    const metrics = await freePort();
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'faults:self', '--rules', rules, '--metrics', `127.0.0.1:${metrics}`, '--set', 'redis_command_timeout_ms=500'] });
    let beside: DaemonChild | undefined;
    try {
      await daemon.waitForLog('running');
      // Its own traffic: scrapes it accepts, and a reconnect to Redis after a restart of it.
      for (let i = 0; i < 5; i++) expect(await scrapeMetrics(metrics)).toContain('auditflow_self_flows_total 0');
      await servers.redis.kill();
      await until(() => readSnapshot(daemon.dirs.runtime)?.sinkHealth.state !== 'ready', 10_000, 'the sink to see Redis go');
      await servers.redis.restart();
      await until(() => readSnapshot(daemon.dirs.runtime)?.sinkHealth.state === 'ready', 20_000, 'the sink to reconnect');
      for (let i = 0; i < 5; i++) await scrapeMetrics(metrics);

      // A reader beside it: the kernel rule names only the unicast daemon, so the reader's own
      // Redis connection and scrapes reach it, and it drops and counts them.
      const besideMetrics = await freePort();
      beside = startDaemon({ args: ['--mode', 'multicast', '--redis', servers.redis.url, '--stream', 'faults:self-beside', '--metrics', `127.0.0.1:${besideMetrics}`] });
      await beside.waitForLog('running');
      for (let i = 0; i < 3; i++) await scrapeMetrics(besideMetrics);
      await until(() => selfFlows(beside as DaemonChild) > 0, 10_000, "the reader's own flows");

      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(selfFlows(daemon)).toBe(0);
      const own = (await readStream(servers.redis.url, 'faults:self')).filter((e) => e.fields.kind === 'flow' && e.fields.pid === String(daemon.pid));
      expect(own).toEqual([]);
      expect((await readStream(servers.redis.url, 'faults:self-beside')).filter((e) => e.fields.kind === 'flow' && e.fields.pid === String(beside?.pid))).toEqual([]);
      // The unicast daemon did publish the reader's flows: the activity was audited, just not its own.
      const besideFlows = (await readStream(servers.redis.url, 'faults:self')).filter((e) => e.fields.kind === 'flow' && e.fields.pid === String(beside?.pid));
      expect(besideFlows.length).toBeGreaterThan(0);
    } finally {
      await beside?.stop();
      expect((await daemon.stop()).code).toBe(0);
    }
  });
});
