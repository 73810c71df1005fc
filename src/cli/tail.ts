// auditflow tail: follows the flow stream in Redis and prints one readable line per entry (or, with
// --json, one JSON object per line). Without a group it reads with XREAD BLOCK, from the newest entry
// on (`$`) or from --from; with --group/--consumer it reads with XREADGROUP (this consumer's pending
// entries first, then new ones) and acknowledges each entry once printed. Values are never printed
// raw: see tail-format.ts.
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import { connectRedis, createRedisClient, DEFAULT_STREAM_KEY, describeRedisClient, streamKey, type RedisClient } from '../sink/redis-client.js';
import { classifyRefusal, refusedError } from '../sink/redis-errors.js';
import { parseStreamId } from '../sink/stream-id.js';
import { urlsWithPassword } from '../daemon/redis-password.js';
import type { OutputFormat } from '../schema/format.js';
import { formatJsonLine, formatReadableLine, type RawEntry } from './tail-format.js';

export interface TailCliOptions {
  redis?: string;
  redisPasswordFile?: string;
  cluster?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  stream?: string;
  host?: string;
  from?: string;
  count?: number;
  json?: boolean;
  format?: OutputFormat;
  group?: string;
  consumer?: string;
}

export interface FollowOptions {
  key: string;
  /** `$` (entries added from now on), `0` (from the start) or a stream ID; with a group, where a new group starts. */
  from: string;
  /** Stop after this many entries; undefined: follow until stopped. */
  count?: number;
  json: boolean;
  /** The JSON of --json: native (default), ecs or ocsf. */
  format?: OutputFormat;
  group?: { name: string; consumer: string };
  out: Writable;
  /** One line about the connection (lost, back), for stderr. */
  notice: (line: string) => void;
  /** Aborting ends the follow quietly (SIGINT, SIGTERM). */
  signal: AbortSignal;
}

/** How long one XREAD waits for new entries; the client's command timeout is set above it. */
const BLOCK_MS = 2000;
const READ_COUNT = 100;

/** Parses --count: a positive whole number. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return Number(text);
}

/** Checks --from: `$`, `0`, `<ms>` or `<ms>-<n>`. */
export function parseFrom(text: string): string {
  if (text === '$' || text === '0' || /^\d+$/.test(text) || parseStreamId(text) !== undefined) return text;
  throw new InvalidArgumentError('must be $, 0, or a stream ID (<ms> or <ms>-<n>)');
}

/** The Redis connection options every stream reader (tail, top) takes. */
export type StreamClientOptions = Pick<TailCliOptions, 'redis' | 'redisPasswordFile' | 'cluster' | 'tlsCa' | 'tlsCert' | 'tlsKey'>;

/** A client for reading the stream, connected; throws what connectRedis throws (refusals classified there). */
export async function openStreamClient(options: StreamClientOptions): Promise<RedisClient> {
  const cluster = options.cluster
    ?.split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  // The password from a file, never from this command's own (audited, world-readable) argv.
  const urls = urlsWithPassword(
    { url: options.redis ?? process.env.AUDITFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379', cluster: cluster ?? [] },
    options.redisPasswordFile ?? process.env.AUDITFLOW_REDIS_PASSWORD_FILE,
  );
  const client = createRedisClient({
    url: urls.url,
    ...(urls.cluster.length > 0 ? { cluster: urls.cluster } : {}),
    tls: { ca: options.tlsCa, cert: options.tlsCert, key: options.tlsKey },
    commandTimeoutMs: BLOCK_MS + 5000,
  });
  client.on('error', () => undefined);
  try {
    await connectRedis(client);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/** The stream key as --stream and --host (or their environment variables) make it. */
export function streamKeyOf(options: Pick<TailCliOptions, 'stream' | 'host'>): string {
  return streamKey(options.stream ?? process.env.AUDITFLOW_STREAM ?? DEFAULT_STREAM_KEY, options.host ?? hostname());
}

export async function tailCommand(options: TailCliOptions): Promise<void> {
  if ((options.group === undefined) !== (options.consumer === undefined)) throw new InvalidArgumentError('--group and --consumer go together');
  const client = await openStreamClient(options);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const key = streamKeyOf(options);
    await follow(client, {
      key,
      from: options.from ?? '$',
      count: options.count,
      json: options.json ?? false,
      format: options.format,
      group: options.group === undefined ? undefined : { name: options.group, consumer: options.consumer as string },
      out: process.stdout,
      notice: (line) => process.stderr.write(`auditflow: ${line}\n`),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    client.disconnect();
  }
}

/** Reads and prints until `count` entries, an abort, or the output closing. Returns how many were printed. */
export async function follow(client: RedisClient, options: FollowOptions): Promise<number> {
  const printer = new Printer(options.out, options.json, options.format ?? 'native');
  const full = (): boolean => printer.closed || (options.count !== undefined && printer.printed >= options.count);
  await consume(client, options, full, async (entries) => {
    const take = options.count === undefined ? entries : entries.slice(0, options.count - printer.printed);
    const printed = await printer.print(take);
    if (options.group !== undefined && printed.length > 0) await client.xack(options.key, options.group.name, ...printed.map((e) => e.id));
  });
  return printer.printed;
}

/** Where and how a reader reads: FollowOptions without what only printing needs. */
export type ConsumeOptions = Pick<FollowOptions, 'key' | 'from' | 'group' | 'notice' | 'signal'>;

/**
 * Reads the stream and hands each read's entries to `take` until an abort or `done()`; rides out a
 * lost connection (one notice when lost, one when back); throws a refusal or a reply error.
 */
export async function consume(client: RedisClient, options: ConsumeOptions, done: () => boolean, take: (entries: RawEntry[]) => Promise<void>): Promise<void> {
  const stopped = (): boolean => options.signal.aborted || done();
  // A blocked XREAD ends only when entries come or BLOCK_MS passes; a stop drops the connection instead.
  options.signal.addEventListener('abort', () => client.disconnect(), { once: true });
  const read = options.group === undefined ? plainReader(client, options) : await groupReader(client, options, options.group);
  while (!stopped()) {
    let entries: RawEntry[];
    try {
      entries = await read();
    } catch (error) {
      if (stopped()) break;
      const refusal = classifyRefusal(error);
      if (refusal !== undefined) throw refusedError(refusal, error as Error, describeRedisClient(client));
      // A reply error (WRONGTYPE: the key is not a stream) will not pass; a lost connection will.
      if ((error as Error).name === 'ReplyError') throw error;
      options.notice(`Redis connection lost (${(error as Error).message}); reconnecting`);
      await ready(client, options.signal);
      if (!stopped()) options.notice('Redis connection back; following on');
      continue;
    }
    await take(entries);
  }
}

type Read = () => Promise<RawEntry[]>;

/** Resolves once the client is connected again (it reconnects on its own), or on abort. */
function ready(client: RedisClient, signal: AbortSignal): Promise<void> {
  if (client.status === 'ready' || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      client.off('ready', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    client.on('ready', done);
    signal.addEventListener('abort', done);
  });
}

function plainReader(client: RedisClient, options: ConsumeOptions): Read {
  // `$` is resolved once to the newest ID: XREAD with `$` on every call would skip what arrives between calls.
  let last: string | undefined = options.from === '$' ? undefined : options.from;
  return async () => {
    if (last === undefined) last = await newestId(client, options.key);
    const reply = await client.xreadBuffer('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', options.key, last);
    const entries = entriesOf(reply);
    last = entries.at(-1)?.id ?? last;
    return entries;
  };
}

async function groupReader(client: RedisClient, options: ConsumeOptions, group: { name: string; consumer: string }): Promise<Read> {
  try {
    await client.xgroup('CREATE', options.key, group.name, options.from, 'MKSTREAM');
  } catch (error) {
    // BUSYGROUP: the group exists already and keeps its own position (t_stream.c, xgroupCommand).
    if (!/^BUSYGROUP/.test((error as Error).message)) throw error;
  }
  // First this consumer's own delivered-but-unacknowledged entries (a tail that was stopped mid-way),
  // then entries never delivered to the group (`>`).
  let pendingFrom: string | undefined = '0';
  return async () => {
    if (pendingFrom !== undefined) {
      const reply = await client.xreadgroupBuffer('GROUP', group.name, group.consumer, 'COUNT', READ_COUNT, 'STREAMS', options.key, pendingFrom);
      const entries = entriesOf(reply);
      pendingFrom = entries.at(-1)?.id;
      if (entries.length > 0) return entries;
    }
    return entriesOf(await client.xreadgroupBuffer('GROUP', group.name, group.consumer, 'COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', options.key, '>'));
  };
}

async function newestId(client: RedisClient, key: string): Promise<string> {
  const top = await client.xrevrange(key, '+', '-', 'COUNT', 1);
  return top[0]?.[0] ?? '0-0';
}

/** The entries of an XREAD/XREADGROUP reply for one stream: [[key, [[id, [field, value, ...]], ...]]] or null. */
function entriesOf(reply: unknown): RawEntry[] {
  const streams: unknown[] = reply instanceof Map ? [...reply] : Array.isArray(reply) ? reply : [];
  const out: RawEntry[] = [];
  for (const stream of streams) {
    const items: unknown = Array.isArray(stream) ? stream[1] : undefined;
    for (const item of Array.isArray(items) ? items : []) {
      if (!Array.isArray(item)) continue;
      const [id, flat] = item as [unknown, unknown];
      // A pending entry that was trimmed or deleted comes back with no fields (nil).
      const values = Array.isArray(flat) ? (flat as unknown[]) : [];
      const fields: Array<[string, Buffer]> = [];
      for (let i = 0; i + 1 < values.length; i += 2) fields.push([String(values[i]), toBuffer(values[i + 1])]);
      out.push({ id: String(id), fields });
    }
  }
  return out;
}

const toBuffer = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(String(value)));

/** Writes lines, waits when the output is full, and stops quietly when the reader went away (`tail | head`). */
class Printer {
  printed = 0;
  closed = false;

  constructor(
    private readonly out: Writable,
    private readonly json: boolean,
    private readonly format: OutputFormat,
  ) {
    // EPIPE and the like: nobody reads any more, so there is nothing left to do.
    out.on('error', () => (this.closed = true));
  }

  /** Prints what it can and returns the entries printed. */
  async print(entries: RawEntry[]): Promise<RawEntry[]> {
    const done: RawEntry[] = [];
    for (const entry of entries) {
      if (this.closed) break;
      const line = this.json ? formatJsonLine(entry, this.format) : formatReadableLine(entry);
      if (!this.out.write(`${line}\n`)) await new Promise<void>((resolve) => this.out.once('drain', resolve).once('close', resolve));
      this.printed++;
      done.push(entry);
    }
    return done;
  }
}
