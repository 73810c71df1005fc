export { crc32 } from './crc32.js';
export { ENTRY_SCHEMA_VERSION, LossTally, SINK_LOSS_REASONS, lifecycleEntry, lossEntry, type LifecycleEvent, type LifecycleInput, type LossInput } from './entries.js';
export { DEFAULT_STREAM_KEY, HOST_STREAM_KEY, createRedisClient, reconnectDelay, streamKey, type RedisClientOptions } from './redis-client.js';
export { RedisStreamSink, type RedisStreamSinkOptions } from './redis-stream-sink.js';
export { Spool, type FsyncPolicy, type SpoolCursor, type SpoolOpenReport, type SpoolOptions } from './spool.js';
export { StdoutJsonlSink, type StdoutJsonlSinkOptions } from './stdout-jsonl-sink.js';
export { StreamIdClock, compareStreamIds, formatStreamId, parseStreamId, type StreamId } from './stream-id.js';
export type { EntryKind, FlowSink, FullPolicy, SinkCounters, SinkEntry, SinkHealth, SinkState, StampedEntry } from './types.js';
export { writeBatch, type BatchResult } from './xadd.js';
