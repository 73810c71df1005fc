// The configured sink: Redis Streams with an on-disk spool, or JSON lines on stdout.
import { join } from 'node:path';
import { createRedisClient, RedisStreamSink, Spool, StdoutJsonlSink, streamKey, type FlowSink } from '../sink/index.js';
import type { Logger } from './logger.js';
import { redactUrl, type Settings } from './settings.js';

/** Redis refused the credentials, or (with redis_required) could not be reached at start. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export function spoolDirectory(settings: Settings): string {
  return settings.spool_dir === '' ? join(settings.state_dir, 'spool') : settings.spool_dir;
}

export async function openSink(settings: Settings, bootId: string, log: Logger): Promise<FlowSink> {
  if (settings.sink === 'stdout') return new StdoutJsonlSink({ bootId, output: process.stdout });

  const url = redactUrl(settings.redis_url);
  // First: a bad URL or TLS file (RedisConfigError) is refused before the spool is opened.
  const client = createRedisClient({
    url: settings.redis_url,
    cluster: settings.redis_cluster_nodes,
    tls: { ca: settings.redis_tls_ca, cert: settings.redis_tls_cert, key: settings.redis_tls_key },
    commandTimeoutMs: settings.redis_command_timeout_ms,
  });
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
      trim: settings.stream_maxlen > 0 ? { maxLen: settings.stream_maxlen } : undefined,
      batchSize: settings.batch_size,
      lingerMs: settings.batch_linger_ms,
      queueLimit: settings.queue_limit,
      spool,
      fullPolicy: settings.full_policy,
    });
  } catch (error) {
    spool.close();
    throw new RedisUnavailableError(`${url}: ${(error as Error).message}`);
  }
  if (client.status !== 'ready') {
    const reason = sink.health().lastError ?? client.status;
    if (settings.redis_required) {
      await sink.close();
      throw new RedisUnavailableError(`Redis at ${url} cannot be reached (${reason}), and redis_required = true`);
    }
    log.warn({ redis: url, err: reason }, 'Redis cannot be reached: flows go to the spool until it answers');
  }
  return sink;
}
