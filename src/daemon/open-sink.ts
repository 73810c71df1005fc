// The configured sink: Redis Streams with an on-disk spool, or JSON lines on stdout.
import { join } from 'node:path';
import { createRedisClient, redactRedisUrl, RedisRefusedError, RedisStreamSink, Spool, StdoutJsonlSink, streamKey, type FlowSink, type RedisClient, type TrimPolicy } from '../sink/index.js';
import { streamEntryJson, type OutputFormat } from '../schema/format.js';
import type { Logger } from './logger.js';
import { urlsWithPassword } from './redis-password.js';
import type { Settings } from './settings.js';

/** Redis refused the credentials, or (with redis_required) could not be reached at start. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export function spoolDirectory(settings: Settings): string {
  return settings.spool_dir === '' ? join(settings.state_dir, 'spool') : settings.spool_dir;
}

/** The Redis client the settings describe (URL, Cluster seeds, TLS files); `auditflow status` uses it too. */
export function redisClient(settings: Settings, timeouts: { commandTimeoutMs?: number; connectTimeoutMs?: number } = {}): RedisClient {
  const { url, cluster } = urlsWithPassword({ url: settings.redis_url, cluster: settings.redis_cluster_nodes }, settings.redis_password_file);
  return createRedisClient({
    url,
    cluster,
    tls: { ca: settings.redis_tls_ca, cert: settings.redis_tls_cert, key: settings.redis_tls_key },
    commandTimeoutMs: timeouts.commandTimeoutMs ?? settings.redis_command_timeout_ms,
    ...(timeouts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: timeouts.connectTimeoutMs }),
  });
}

export function trimPolicy(settings: Settings): TrimPolicy | undefined {
  if (settings.stream_maxlen > 0) return { maxLen: settings.stream_maxlen };
  if (settings.stream_max_age_s > 0) return { minIdAgeMs: settings.stream_max_age_s * 1000 };
  return undefined;
}

/** The stdout sink's lines: the typed entry (src/schema/) in the `format` setting, as `tail --json` prints it. */
export function stdoutRender(format: OutputFormat): (fields: Record<string, string>) => string {
  return (fields) => streamEntryJson(fields, format);
}

export interface OpenedSink {
  sink: FlowSink;
  /** The Redis client (for the consumer-lag checks), with the Redis sink. */
  client: RedisClient | undefined;
  /** Entries an earlier run left in the spool: the sink sends them before this run's. */
  replayed: number;
}

/** `onWritten`: told of each flow entry Redis acknowledged, with its kernel event's time (RedisStreamSink). */
export async function openSink(settings: Settings, bootId: string, log: Logger, onWritten?: (eventMs: number, nowMs: number) => void): Promise<OpenedSink> {
  if (settings.sink === 'stdout') return { sink: new StdoutJsonlSink({ bootId, output: process.stdout, render: stdoutRender(settings.format) }), client: undefined, replayed: 0 };

  const url = redactRedisUrl(settings.redis_url);
  // First: a bad URL or TLS file (RedisConfigError) is refused before the spool is opened.
  const client = redisClient(settings);
  const spool = Spool.open({ dir: spoolDirectory(settings), maxBytes: settings.spool_max_bytes, fsync: settings.spool_fsync });
  const opened = spool.opened;
  if (opened.records > 0 || opened.corrupt > 0 || opened.tornBytes > 0) {
    log.warn({ records: opened.records, corrupt: opened.corrupt, tornBytes: opened.tornBytes }, 'the spool holds entries from before: they are sent first');
  }
  let sink: RedisStreamSink;
  try {
    sink = await RedisStreamSink.open({
      client,
      key: streamKey(settings.stream, settings.host),
      host: settings.host,
      bootId,
      trim: trimPolicy(settings),
      batchSize: settings.batch_size,
      lingerMs: settings.batch_linger_ms,
      queueLimit: settings.queue_limit,
      spool,
      fullPolicy: settings.full_policy,
      ...(onWritten === undefined ? {} : { onWritten }),
    });
  } catch (error) {
    spool.close();
    // A refusal names the server already (without credentials); anything else gets the URL.
    throw new RedisUnavailableError(error instanceof RedisRefusedError ? error.message : `${url}: ${(error as Error).message}`);
  }
  if (client.status !== 'ready') {
    const reason = sink.health().lastError ?? client.status;
    if (settings.redis_required) {
      await sink.close();
      throw new RedisUnavailableError(`Redis at ${url} cannot be reached (${reason}), and redis_required = true`);
    }
    log.warn({ redis: url, err: reason }, 'Redis cannot be reached: flows go to the spool until it answers');
  }
  return { sink, client, replayed: opened.records };
}
