// ioredis configured for a daemon. Its defaults suit a web request, not a collector: with Redis down a
// command waited 115 s before failing and the offline queue grew without bound (FACTS.md). Here a command
// fails fast when the connection is not ready, so the publisher can spool instead of queueing blindly.
// One URL gives a single server (user, password, db, TLS); a list of seed URLs gives a Redis Cluster with
// the same settings on every node connection.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { classifyRefusal, RedisConfigError, redactRedisUrl, refusedError, RedisUnreachableError } from './redis-errors.js';

/** A single server or a Cluster: the sink, the lag check and `tail` use only what both offer. */
export type RedisClient = Redis | Cluster;

/** PEM files for `rediss://`, read when the client is created. Without `ca`, the system's CAs are used. */
export interface RedisTlsFiles {
  ca?: string;
  /** Client certificate and its key, for a server started with `tls-auth-clients yes`. */
  cert?: string;
  key?: string;
  /** The name the server certificate must carry, when it differs from the URL's host. */
  servername?: string;
}

export interface RedisClientOptions {
  /** redis://[user:password@]host[:port][/db], or rediss:// for TLS. Not used when `cluster` is given. */
  url?: string;
  /** Seed nodes of a Redis Cluster as URLs, all with the same scheme and credentials; db must be 0. */
  cluster?: readonly string[];
  tls?: RedisTlsFiles;
  /** A command without an answer after this long fails (a paused or overloaded Redis). Default 5 s. */
  commandTimeoutMs?: number;
  /** Reconnect delays: `min(baseMs * 2^attempt, maxMs)`, plus up to 20 % jitter. Defaults 100 ms, 5 s. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  connectTimeoutMs?: number;
}

export interface RedisEndpoint {
  tls: boolean;
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
}

/** What each client connects to, for messages: host, port, db and user, never the password. */
const descriptions = new WeakMap<RedisClient, string>();

/** The server (or Cluster seeds) a client connects to, for messages and logs; no password. */
export function describeRedisClient(client: RedisClient): string {
  return descriptions.get(client) ?? (client instanceof Cluster ? 'Redis Cluster' : `${client.options.host ?? '?'}:${client.options.port ?? '?'}`);
}

function describeEndpoint(endpoint: RedisEndpoint): string {
  const user = endpoint.username === undefined ? '' : `${endpoint.username}@`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.tls ? 'rediss' : 'redis'}://${user}${host}:${endpoint.port}${endpoint.db === 0 ? '' : `/${endpoint.db}`}`;
}

/** Redis's default port (redis.conf `port`). */
const DEFAULT_PORT = 6379;

/** Parses and checks one Redis URL; errors name the URL with its password hidden. */
export function parseRedisUrl(text: string): RedisEndpoint {
  const shown = redactRedisUrl(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisConfigError(`"${shown}" is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new RedisConfigError(`"${shown}" must start with redis:// or rediss://`);
  if (url.hostname === '') throw new RedisConfigError(`"${shown}" has no host`);
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new RedisConfigError(`"${shown}": the database "${dbText}" is not a number`);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (username !== '' && password === '') throw new RedisConfigError(`"${shown}" names the user "${username}" but no password (redis://user:password@host)`);
  return {
    tls: url.protocol === 'rediss:',
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? DEFAULT_PORT : Number(url.port),
    username: username === '' ? undefined : username,
    password: password === '' ? undefined : password,
    db: dbText === '' ? 0 : Number(dbText),
  };
}

export function reconnectDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(baseMs * 2 ** Math.min(attempt, 30), maxMs);
  // Jitter keeps a fleet of daemons from reconnecting in step after a Redis restart.
  return Math.round(delay * (1 + 0.2 * random()));
}

function readTlsFile(kind: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RedisConfigError(`cannot read the TLS ${kind} file ${path}: ${(error as Error).message}`);
  }
}

function tlsOptions(files: RedisTlsFiles | undefined): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (files?.ca) options.ca = readTlsFile('CA', files.ca);
  if (files?.cert) options.cert = readTlsFile('certificate', files.cert);
  if (files?.key) options.key = readTlsFile('key', files.key);
  if (files?.servername) options.servername = files.servername;
  if ((options.cert === undefined) !== (options.key === undefined)) throw new RedisConfigError('a TLS client certificate needs its key, and a key its certificate');
  return options;
}

function hasTlsFiles(files: RedisTlsFiles | undefined): boolean {
  return Boolean(files?.ca || files?.cert || files?.key || files?.servername);
}

/** The options both client kinds share: fail fast, never resend on their own, bounded waits. */
function daemonOptions(endpoint: RedisEndpoint, options: RedisClientOptions): RedisOptions {
  return {
    username: endpoint.username,
    password: endpoint.password,
    ...(endpoint.tls ? { tls: tlsOptions(options.tls) } : {}),
    // A command sent and unanswered when the connection drops fails at once. With 1 (or the default
    // 20) ioredis keeps it across the reconnect and, not resending it (below), leaves its promise to
    // the command timeout: an in-flight batch then hung for commandTimeout after every Redis restart.
    maxRetriesPerRequest: 0,
    // A batch whose answer was lost may have been written: resending it blindly is what the stream
    // IDs make safe, but the publisher decides when, so ioredis must not resend on its own.
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    // After `disconnect()` ioredis waits this long for the socket to close before destroying it, on a
    // timer that keeps the process alive (default 2 s, even when the socket had closed already).
    disconnectTimeout: 250,
    // CLIENT SETINFO is only a label (and absent before Redis 7.2); leaving it out keeps the ACL short.
    disableClientInfo: true,
  };
}

/**
 * A client that is not yet connected (`lazyConnect`): `RedisStreamSink.open` or the caller connects it.
 * Throws RedisConfigError for a bad URL, an unreadable TLS file, TLS files with `redis://`, or seeds
 * that disagree.
 */
export function createRedisClient(options: RedisClientOptions): RedisClient {
  const base = options.reconnectBaseMs ?? 100;
  const max = options.reconnectMaxMs ?? 5000;
  const retry = (times: number): number => reconnectDelay(times - 1, base, max);
  const urls = options.cluster !== undefined && options.cluster.length > 0 ? options.cluster : undefined;
  if (urls === undefined && options.url === undefined) throw new RedisConfigError('no Redis URL and no Cluster seed nodes given');
  const endpoints = (urls ?? [options.url as string]).map(parseRedisUrl);
  const first = endpoints[0] as RedisEndpoint;
  if (hasTlsFiles(options.tls) && !first.tls) throw new RedisConfigError('TLS files are set but the Redis URL starts with redis://; use rediss:// for TLS');
  if (urls === undefined) {
    const client = new Redis({
      ...daemonOptions(first, options),
      host: first.host,
      port: first.port,
      db: first.db,
      lazyConnect: true,
      // No offline queue: while disconnected a command fails at once and the publisher spools the batch.
      enableOfflineQueue: false,
      retryStrategy: retry,
    });
    descriptions.set(client, describeEndpoint(first));
    return client;
  }
  for (const [index, endpoint] of endpoints.entries()) {
    const shown = redactRedisUrl(urls[index] as string);
    // Redis Cluster has only database 0 (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/).
    if (endpoint.db !== 0) throw new RedisConfigError(`"${shown}": Redis Cluster has only database 0`);
    if (endpoint.tls !== first.tls || endpoint.username !== first.username || endpoint.password !== first.password) {
      throw new RedisConfigError(`"${shown}": every Cluster seed node needs the same scheme, user and password`);
    }
  }
  const cluster = new Cluster(
    endpoints.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      redisOptions: daemonOptions(first, options),
    },
  );
  descriptions.set(cluster, `Redis Cluster ${endpoints.map(describeEndpoint).join(', ')}`);
  return cluster;
}

/**
 * Connects a client from createRedisClient. A refusal (wrong password, a missing ACL permission, a TLS
 * certificate not accepted) disconnects it and throws RedisRefusedError; a Redis that does not answer
 * throws RedisUnreachableError and leaves the client reconnecting in the background, for the caller to
 * keep (the sink spools meanwhile) or disconnect.
 */
export async function connectRedis(client: RedisClient): Promise<void> {
  // ioredis rejects `connect()` with "Connection is closed." after a refused AUTH or a refused TCP
  // connection; the reason itself (WRONGPASS, ECONNREFUSED, a certificate error) comes only as an
  // 'error' event.
  let refusal: Error | undefined;
  let last: Error | undefined;
  const onError = (error: Error): void => {
    last = error;
    if (refusal === undefined && classifyRefusal(error) !== undefined) refusal = error;
  };
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    const cause = classifyRefusal(error) !== undefined ? (error as Error) : refusal;
    const kind = classifyRefusal(cause);
    if (cause !== undefined && kind !== undefined) {
      client.disconnect();
      throw refusedError(kind, cause, describeRedisClient(client));
    }
    throw new RedisUnreachableError(`Redis (${describeRedisClient(client)}) did not answer: ${(last ?? (error as Error)).message}`);
  } finally {
    client.off('error', onError);
  }
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
