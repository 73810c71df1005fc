export { checkConsumerLag, NEAR_TRIM_SHARE, type GroupLag, type LagReport } from './consumer-lag.js';
export { BulkCache, type BulkCacheLimits } from './bulk-cache.js';
export { ENTRY_SCHEMA_VERSION, LossTally, SINK_LOSS_REASONS, lifecycleEntry, lossEntry, type LifecycleEvent, type LifecycleInput, type LossInput } from './entries.js';
export {
  DEFAULT_STREAM_KEY,
  HOST_STREAM_KEY,
  connectRedis,
  createRedisClient,
  describeRedisClient,
  parseRedisUrl,
  reconnectDelay,
  streamKey,
  type RedisClient,
  type RedisClientOptions,
  type RedisEndpoint,
  type RedisTlsFiles,
} from './redis-client.js';
export { RedisConfigError, RedisRefusedError, RedisUnreachableError, classifyRefusal, redactRedisUrl, type RedisRefusal } from './redis-errors.js';
export { RedisStreamSink, type RedisStreamSinkOptions } from './redis-stream-sink.js';
export { bulkBytes, type RespWriter } from './resp-writer.js';
export { Spool, type FsyncPolicy, type SpoolCursor, type SpoolOpenReport, type SpoolOptions } from './spool.js';
export { StdoutJsonlSink, type StdoutJsonlSinkOptions } from './stdout-jsonl-sink.js';
export { StreamIdClock, compareStreamIds, formatStreamId, parseStreamId, type StreamId } from './stream-id.js';
export type { EncodableEntry, EntryKind, FlowSink, FullPolicy, SinkCounters, SinkEntry, SinkHealth, SinkState, StampedEntry } from './types.js';
export { trimArgs, writeBatch, type BatchResult, type TrimPolicy } from './xadd.js';
