// ioredis configured for a daemon. Its defaults suit a web request, not a collector: with Redis down a
// command waited 115 s before failing and the offline queue grew without bound (FACTS.md). Here a command
// fails fast when the connection is not ready, so the publisher can spool instead of queueing blindly.
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisClientOptions {
  /** redis://[user:password@]host:port[/db] (ioredis parses user, password and db from it). */
  url: string;
  /** A command without an answer after this long fails (a paused or overloaded Redis). Default 5 s. */
  commandTimeoutMs?: number;
  /** Reconnect delays: `min(baseMs * 2^attempt, maxMs)`, plus up to 20 % jitter. Defaults 100 ms, 5 s. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  connectTimeoutMs?: number;
}

export function reconnectDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(baseMs * 2 ** Math.min(attempt, 30), maxMs);
  // Jitter keeps a fleet of daemons from reconnecting in step after a Redis restart.
  return Math.round(delay * (1 + 0.2 * random()));
}

export function createRedisClient(options: RedisClientOptions): Redis {
  const base = options.reconnectBaseMs ?? 100;
  const max = options.reconnectMaxMs ?? 5000;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    // No offline queue: while disconnected a command fails at once and the publisher spools the batch.
    enableOfflineQueue: false,
    // A command already sent when the connection drops fails after one reconnect attempt, not 20.
    maxRetriesPerRequest: 1,
    // A batch whose answer was lost may have been written: resending it blindly is what the stream
    // IDs make safe, but the publisher decides when, so ioredis must not resend on its own.
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    retryStrategy: (times: number) => reconnectDelay(times - 1, base, max),
  };
  return new Redis(options.url, redisOptions);
}

/**
 * The stream key for a host: `<host>` in the template is replaced. The default template has no
 * placeholder; `auditflow:{<host>}:flows` puts each host's stream in its own Redis Cluster hash slot
 * (the part in braces is the hash tag), so one host's pipelines stay on one node.
 */
export function streamKey(template: string, host: string): string {
  return template.replaceAll('<host>', host);
}

export const DEFAULT_STREAM_KEY = 'auditflow:flows';
export const HOST_STREAM_KEY = 'auditflow:{<host>}:flows';
