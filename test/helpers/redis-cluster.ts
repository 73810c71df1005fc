// A local Redis Cluster of three masters on loopback: three private redis-servers with
// `--cluster-enabled yes`, joined by `redis-cli --cluster create`, and ready once every node reports
// cluster_state:ok. The cluster bus port is chosen free too (`--cluster-port`): the default, port +
// 10000, may be taken or above 65535.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, startRedis, type RedisServer } from './redis-server.js';

const REDIS_CLI = '/usr/bin/redis-cli';
const run = promisify(execFile);

export interface RedisCluster {
  nodes: RedisServer[];
  /** Seed URLs, one per node. */
  urls: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(dir: string): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const busPort = await freePort();
      nodes.push(
        await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-port', String(busPort), '--dir', dir]),
      );
    }
    await run(REDIS_CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const { stdout } = await run(REDIS_CLI, ['-p', String(node.port), 'cluster', 'info']);
        if (/cluster_state:ok/.test(stdout)) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ok: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    for (const node of nodes) await node.stop();
    throw error;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    stop: async () => {
      for (const node of nodes) await node.stop();
    },
  };
}
