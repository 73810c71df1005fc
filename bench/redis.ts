// The benchmark's own redis-server: Debian's, on a free loopback port, no persistence, started and
// stopped by its pid. Its clients (the driver's and a live reader's) connect once, before any rule is
// loaded, so the driver's own connects never show up as flows.
import { Redis } from 'ioredis';
import { createServer } from 'node:net';
import { spawnGroup, type ChildHandle } from './processes.js';

const REDIS_SERVER = '/usr/bin/redis-server';

export const REDIS_HINT = 'redis-server is not installed: apt-get install -y redis-server (scripts/install-deps.sh does), or leave auditflow out with --consumers bare,drain,auditd';

/** A loopback TCP port nothing listens on right now (the tests' redis-servers use it too). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface BenchRedis {
  url: string;
  pid: number;
  /** The driver's commands (XLEN, XRANGE, DEL). */
  client: Redis;
  /** A second connection for blocking XREAD. */
  reader: Redis;
  version: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const server: ChildHandle = spawnGroup(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { role: 'redis-server' });
  await server.line((line) => line.includes('Ready to accept connections'), 10_000);
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const reader = new Redis(url, { maxRetriesPerRequest: 1 });
  const info = await client.info('server');
  return {
    url,
    pid: server.pid,
    client,
    reader,
    version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    async stop() {
      client.disconnect();
      reader.disconnect();
      await server.stop(5000);
    },
  };
}

export interface StreamEntry {
  id: string;
  fields: Map<string, string>;
}

/** Every entry of a stream, oldest first, read in pages (XRANGE with an exclusive start, Redis 6.2+). */
export async function* readStream(client: Redis, key: string, page = 5000): AsyncGenerator<StreamEntry> {
  let start = '-';
  for (;;) {
    const entries = await client.xrange(key, start, '+', 'COUNT', page);
    for (const [id, flat] of entries) {
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
      yield { id, fields };
    }
    if (entries.length < page) return;
    start = `(${(entries[entries.length - 1] as [string, string[]])[0]}`;
  }
}
