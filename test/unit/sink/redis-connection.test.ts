// The Redis connection from configuration, against real redis-servers on private loopback ports: URL
// parsing, database number, an ACL user with only the rights the sink needs, a wrong password, TLS with
// a CA made here by openssl (and client certificates), and a 3-master Redis Cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, createRedisClient, parseRedisUrl, type RedisClient, type RedisClientOptions } from '../../../src/sink/redis-client.js';
import { RedisConfigError, RedisRefusedError, RedisUnreachableError, redactRedisUrl } from '../../../src/sink/redis-errors.js';
import { RedisStreamSink, type RedisStreamSinkOptions } from '../../../src/sink/redis-stream-sink.js';
import { Spool } from '../../../src/sink/spool.js';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster.js';
import { freePort, startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { expectExactlyInOrder, publishAll, readStream } from '../../helpers/sink-stream.js';
import { makeTlsFiles } from '../../helpers/tls-certs.js';

const KEY = 'auditflow:{host-a}:flows';
const BOOT = '2b1a6c8e-0000-4000-8000-000000000002';
const servers: RedisServer[] = [];
const clusters: RedisCluster[] = [];
const clients: RedisClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
  for (const cluster of clusters.splice(0)) await cluster.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'auditflow-redis-conn-'));
  dirs.push(dir);
  return dir;
}

async function server(extra: string[] = []): Promise<RedisServer> {
  const started = await startRedis(extra);
  servers.push(started);
  return started;
}

function client(options: RedisClientOptions): RedisClient {
  const c = createRedisClient({ reconnectBaseMs: 20, reconnectMaxMs: 200, commandTimeoutMs: 5000, ...options });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

/** A plain admin connection (ioredis defaults). */
async function admin(port: number): Promise<Redis> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  c.on('error', () => undefined);
  clients.push(c);
  await c.connect();
  return c;
}

/** An admin connection, after which the default user needs a password: new clients must authenticate. */
async function passwordProtected(redis: RedisServer): Promise<Redis> {
  const root = await admin(redis.port);
  await root.call('CONFIG', 'SET', 'requirepass', 'admin-pw');
  return root;
}

function openSink(c: RedisClient, extra: Partial<RedisStreamSinkOptions> = {}): Promise<RedisStreamSink> {
  return RedisStreamSink.open({ client: c, key: KEY, host: 'host-a', bootId: BOOT, fullPolicy: 'block', ...extra });
}

async function publishAndRead(c: RedisClient, reader: RedisClient, count: number, key = KEY): Promise<void> {
  const sink = await openSink(c, { key });
  await publishAll(sink, 0, count);
  await sink.flush();
  if (reader.status === 'wait') await connectRedis(reader);
  expectExactlyInOrder(await readStream(reader, key), count);
  await sink.close();
}

describe('Redis URLs', () => {
  it('reads user, password, database, TLS and IPv6 hosts from the URL', () => {
    expect(parseRedisUrl('redis://auditflow:s%40cret@127.0.0.1:7000/3')).toEqual({ tls: false, host: '127.0.0.1', port: 7000, username: 'auditflow', password: 's@cret', db: 3 });
    expect(parseRedisUrl('rediss://:pw@[::1]')).toEqual({ tls: true, host: '::1', port: 6379, username: undefined, password: 'pw', db: 0 });
  });

  it('refuses bad URLs with a message that names them without the password', () => {
    const refused = (text: string): string => {
      try {
        parseRedisUrl(text);
      } catch (error) {
        expect(error).toBeInstanceOf(RedisConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${text}`);
    };
    expect(refused('http://u:topsecret@host')).toBe('"http://u:***@host" must start with redis:// or rediss://');
    expect(refused('redis://u:topsecret@host/one')).toBe('"redis://u:***@host/one": the database "one" is not a number');
    expect(refused('redis://auditflow@host')).toMatch(/names the user "auditflow" but no password/);
    expect(refused('not a url')).toMatch(/is not a Redis URL/);
  });

  it('hides passwords in URLs shown to people', () => {
    expect(redactRedisUrl('redis://user:pw@h:1/2')).toBe('redis://user:***@h:1/2');
    expect(redactRedisUrl('rediss://:pw@h')).toBe('rediss://***@h');
    expect(redactRedisUrl('redis://pw@h')).toBe('redis://***@h');
    expect(redactRedisUrl('redis://h:1')).toBe('redis://h:1');
  });

  it('refuses TLS files with redis://, unreadable TLS files, a Cluster database other than 0, and seeds that disagree', () => {
    expect(() => createRedisClient({ url: 'redis://127.0.0.1', tls: { ca: '/etc/hostname' } })).toThrow(/use rediss:\/\/ for TLS/);
    expect(() => createRedisClient({ url: 'rediss://127.0.0.1', tls: { ca: '/nonexistent/ca.pem' } })).toThrow(/cannot read the TLS CA file \/nonexistent\/ca.pem/);
    expect(() => createRedisClient({ url: 'rediss://127.0.0.1', tls: { cert: '/etc/hostname' } })).toThrow(/needs its key/);
    expect(() => createRedisClient({ cluster: ['redis://127.0.0.1:7000/1'] })).toThrow(/Redis Cluster has only database 0/);
    expect(() => createRedisClient({ cluster: ['redis://:a@127.0.0.1:7000', 'redis://:b@127.0.0.1:7001'] })).toThrow(/same scheme, user and password/);
  });
});

describe('Redis connection', () => {
  it('writes to the database the URL names', async () => {
    const redis = await server();
    const db3 = client({ url: `${redis.url}/3` });
    await publishAndRead(db3, db3, 500);
    const db0 = await admin(redis.port);
    expect(await db0.exists(KEY)).toBe(0);
    await db0.select(3);
    expect(await db0.xlen(KEY)).toBe(500);
  });

  it('publishes as an ACL user allowed only XADD, XRANGE, XREVRANGE and INFO on auditflow:* keys', async () => {
    const redis = await server();
    const root = await passwordProtected(redis);
    await root.call('ACL', 'SETUSER', 'auditflow', 'on', '>flow-pw', 'resetkeys', '~auditflow:*', 'nocommands', '+xadd', '+xrange', '+xrevrange', '+info');
    const url = `redis://auditflow:flow-pw@127.0.0.1:${redis.port}`;
    await publishAndRead(client({ url }), client({ url }), 2000);
    // The user really is limited: another key, or another command, is refused.
    const user = client({ url });
    await connectRedis(user);
    await expect(user.xadd('other:stream', '*', 'a', 'b')).rejects.toThrow(/NOPERM/);
    await expect(user.del(KEY)).rejects.toThrow(/NOPERM/);
  }, 20_000);

  it('a wrong password stops open() at once with a RedisRefusedError that says what to fix and hides the password', async () => {
    const redis = await server();
    const root = await passwordProtected(redis);
    await root.call('ACL', 'SETUSER', 'auditflow', 'on', '>flow-pw', '~auditflow:*', '+@all');
    const wrong = client({ url: `redis://auditflow:not-the-password@127.0.0.1:${redis.port}` });
    const error: unknown = await openSink(wrong).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisRefusedError);
    expect((error as RedisRefusedError).refusal).toBe('auth');
    expect((error as Error).message).toMatch(/^Redis refused \(redis:\/\/auditflow@127\.0\.0\.1:\d+\): WRONGPASS .*; check the user and password in the Redis URL$/);
    expect((error as Error).message).not.toContain('not-the-password');
    // The client was disconnected: it does not go on trying the wrong password (it would reconnect
    // every 20-200 ms here).
    const connections = async (): Promise<string | undefined> => /total_connections_received:(\d+)/.exec(await root.info('stats'))?.[1];
    const before = await connections();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await connections()).toBe(before);
    const none = client({ url: redis.url });
    const missing: unknown = await openSink(none).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RedisRefusedError);
    expect((missing as Error).message).toMatch(/NOAUTH/);
  });

  it('an ACL user without a command the sink needs is refused at open with the permission named', async () => {
    const redis = await server();
    const root = await admin(redis.port);
    await root.call('ACL', 'SETUSER', 'writer', 'on', '>pw', '~auditflow:*', 'nocommands', '+xadd', '+info');
    const error: unknown = await openSink(client({ url: `redis://writer:pw@127.0.0.1:${redis.port}` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisRefusedError);
    expect((error as RedisRefusedError).refusal).toBe('permission');
    expect((error as Error).message).toMatch(/NOPERM .*xrevrange.*docs\/sink\.md/);
  });

  it('an unreachable Redis: open() spools, or with requireConnection throws RedisUnreachableError', async () => {
    const port = await freePort();
    const lenient = await openSink(client({ url: `redis://127.0.0.1:${port}` }), {
      spool: Spool.open({ dir: tempDir(), maxBytes: 1 << 20, fsync: 'never' }),
      closeTimeoutMs: 100,
    });
    expect(lenient.health().state).toBe('connecting');
    expect(lenient.publish({ kind: 'flow', fields: { v: '1' } })).toBe(true);
    expect(lenient.health()).toMatchObject({ state: 'spooling', lastError: expect.stringMatching(/ECONNREFUSED/) });
    await lenient.close();
    const strict: unknown = await openSink(client({ url: `redis://127.0.0.1:${port}` }), { requireConnection: true }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(RedisUnreachableError);
    expect((strict as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe('Redis over TLS (rediss://)', () => {
  async function tlsServer(authClients: 'yes' | 'no'): Promise<{ tlsPort: number; files: ReturnType<typeof makeTlsFiles> }> {
    const files = makeTlsFiles(tempDir());
    const tlsPort = await freePort();
    // The plain port stays open for the helper's readiness PING; the clients under test use the TLS port.
    await server(['--tls-port', String(tlsPort), '--tls-cert-file', files.serverCert, '--tls-key-file', files.serverKey, '--tls-ca-cert-file', files.ca, '--tls-auth-clients', authClients]);
    return { tlsPort, files };
  }

  it('publishes through TLS with the CA file, and to the name given as servername', async () => {
    const { tlsPort, files } = await tlsServer('no');
    const byAddress = client({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: files.ca } });
    await publishAndRead(byAddress, byAddress, 1000);
    const byName = client({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: files.ca, servername: 'localhost' } });
    await connectRedis(byName);
    expect(await byName.xlen(KEY)).toBe(1000);
  }, 20_000);

  it('refuses a server certificate from another CA, and one for another name, as TLS refusals', async () => {
    const { tlsPort, files } = await tlsServer('no');
    const untrusted: unknown = await openSink(client({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: files.otherCa } })).catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(RedisRefusedError);
    expect((untrusted as RedisRefusedError).refusal).toBe('tls');
    expect((untrusted as Error).message).toMatch(/^the TLS handshake failed .*(SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER).*check the CA file/);
    const wrongName: unknown = await openSink(client({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: files.ca, servername: 'redis.example.org' } })).catch((e: unknown) => e);
    expect(wrongName).toBeInstanceOf(RedisRefusedError);
    expect((wrongName as Error).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  }, 20_000);

  it('with tls-auth-clients yes: publishes with the client certificate and key, and is refused without them', async () => {
    const { tlsPort, files } = await tlsServer('yes');
    const withCert = client({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: files.ca, cert: files.clientCert, key: files.clientKey } });
    await publishAndRead(withCert, withCert, 500);
    const without: unknown = await openSink(client({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: files.ca } }), { requireConnection: true }).catch((e: unknown) => e);
    // TLS 1.3 finishes the client's side of the handshake before the server checks for a certificate;
    // the server's alert then arrives as an error on the connection.
    expect(without).toBeInstanceOf(RedisRefusedError);
    expect((without as RedisRefusedError).refusal).toBe('tls');
  }, 20_000);
});

describe('Redis Cluster', () => {
  it('publishes each host to its own hash-tagged stream on a 3-master cluster and reads every entry back in order', async () => {
    const cluster = await startRedisCluster(tempDir());
    clusters.push(cluster);
    const c = client({ cluster: cluster.urls });
    expect(c).toBeInstanceOf(Cluster);
    const masters = (await (await admin(cluster.nodes[0]?.port as number)).call('CLUSTER', 'NODES')) as string;
    expect(masters.split('\n').filter((line) => line.includes('master')).length).toBe(3);
    const hostB = 'auditflow:{host-b}:flows';
    const sinkA = await openSink(c);
    const sinkB = await openSink(client({ cluster: cluster.urls }), { key: hostB, host: 'host-b' });
    await Promise.all([publishAll(sinkA, 0, 5000), publishAll(sinkB, 0, 3000)]);
    await Promise.all([sinkA.flush(), sinkB.flush()]);
    const reader = client({ cluster: cluster.urls });
    await connectRedis(reader);
    expectExactlyInOrder(await readStream(reader, KEY), 5000);
    expectExactlyInOrder(await readStream(reader, hostB), 3000);
    // Each stream lives whole on the node that owns its hash tag's slot.
    const slots = await Promise.all([KEY, hostB].map((key) => reader.call('CLUSTER', 'KEYSLOT', key)));
    expect(slots[0]).not.toBe(slots[1]);
    expect(sinkA.health().counters).toMatchObject({ accepted: 5000, written: 5000, rejected: 0 });
    await sinkA.close();
    await sinkB.close();
  }, 60_000);
});
