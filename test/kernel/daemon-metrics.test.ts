// The running daemon's /metrics on the real kernel and a real redis-server: the latency histogram
// counts the flows the daemon handed to the sink, every loss reason is there from the start, and the
// standard process_* figures are the daemon's own.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LOSS_REASONS } from '../../src/daemon/loss-reporter.js';
import { readStream, scrapeMetrics, startDaemon, tcpConnects, useDaemonRedis } from '../helpers/daemon.js';
import { useKernel } from '../helpers/kernel.js';
import { freePort } from '../helpers/redis-server.js';

useKernel();
const servers = useDaemonRedis();


async function scrape(port: number): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const match of (await scrapeMetrics(port)).matchAll(/^(\w+(?:\{[^}]*\})?) (\S+)$/gm)) values.set(match[1] ?? '', Number(match[2]));
  return values;
}

describe('the daemon metrics', () => {
  it('observe kernel-to-sink latency for each published flow and start every loss reason at 0', async () => {
    const metrics = await freePort();
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'metrics:flows', '--metrics', `127.0.0.1:${metrics}`] });
    try {
      await daemon.waitForLog('running');
      const first = await scrape(metrics);
      for (const reason of LOSS_REASONS) expect(first.get(`auditflow_losses_total{reason="${reason}"}`), reason).toBe(0);
      expect(first.get(`auditflow_build_info{version="0.1.0",node="${process.version}"}`)).toBe(1);
      expect(first.get('process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
      expect(first.get('process_open_fds')).toBeGreaterThan(3);

      const { port, close } = await tcpConnects(3);
      const flowsInStream = async (): Promise<Array<Record<string, string>>> => (await readStream(servers.redis.url, 'metrics:flows')).map((e) => e.fields).filter((f) => f.kind === 'flow');
      for (let waited = 0; (await flowsInStream()).filter((f) => f.remote_port === String(port)).length < 3; waited += 100) {
        if (waited > 10_000) throw new Error('three flows did not reach the stream');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await close();
      // Other processes on this machine make flows too, so the count is pinned from both sides: every
      // flow in the stream was observed before it was offered, and every observed one reaches the stream.
      const publishedBefore = (await flowsInStream()).length;
      const after = await scrape(metrics);
      const count = after.get('auditflow_flow_latency_seconds_count') ?? 0;
      expect(count).toBeGreaterThanOrEqual(publishedBefore);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await flowsInStream()).length).toBeGreaterThanOrEqual(count);
      // On an idle loopback a flow reaches the sink well within 10 s.
      expect(after.get('auditflow_flow_latency_seconds_bucket{le="10"}')).toBe(count);
      expect(after.get('auditflow_flow_latency_seconds_bucket{le="+Inf"}')).toBe(count);
      // Acknowledged by Redis: never more than the sink accepted, and (once the replies are in) every
      // flow the stream held before.
      expect(after.get('auditflow_flow_written_latency_seconds_count')).toBeLessThanOrEqual(count);
      expect((await scrape(metrics)).get('auditflow_flow_written_latency_seconds_count')).toBeGreaterThanOrEqual(publishedBefore);
      expect(after.get('process_cpu_seconds_total')).toBeGreaterThan(0);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: await scrapeMetrics(metrics), encoding: 'utf8' });
      expect(lint).toMatchObject({ status: 0, stdout: '', stderr: '' });
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });
});
