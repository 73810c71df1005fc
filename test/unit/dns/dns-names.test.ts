// DnsNames: captured answer packets (test/fixtures/dns) in capture batches → names on flows (the
// flows of the captured audit fixtures, pointed at the answers' addresses), counted by outcome.
import { describe, expect, it } from 'vitest';
import { NameCache } from '../../../src/dns/name-cache.js';
import { DnsNames, type DnsAnswer } from '../../../src/dns/dns-names.js';
import { dnsEntry } from '../../../src/dns/dns-entry.js';
import { dnsSegment } from '../../../src/dns/packet.js';
import type { Flow } from '../../../src/schema/entries.js';
import { captureBatch, capturedAnswers } from '../../helpers/dns-fixture.js';
import { fixtureLines, runLogLines } from '../pipeline/fixtures.js';

// Packet order of the fixture (see dns.test.ts): 5 UDP answers, 4 TCP segments, NXDOMAIN.
const [filesA, filesAAAA, wwwA, cdnA, cdnB, synAck, ack, tcpAnswer, fin, nxdomain] = capturedAnswers as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];

const clientPortOf = (packet: Buffer): number => {
  const result = dnsSegment(packet);
  if (!result.ok) throw new Error(result.skip);
  return result.segment.clientPort;
};

const connect = runLogLines(fixtureLines('connect-tcp4-ok')).flows.find((f) => f.op === 'connect') as Flow;
const sendto = runLogLines(fixtureLines('sendto-udp4')).flows.find((f) => f.op === 'sendto') as Flow;

/** The captured connect, to `addr`, by `pid`. */
const connectTo = (addr: string, pid = 4242): Flow => ({ ...connect, remote_addr: addr, pid, remote_name: null, remote_cname: null });
/** The captured UDP sendto as a DNS query of `pid` from local port `port`. */
const queryFrom = (port: number, pid: number): Flow => ({ ...sendto, remote_addr: '127.0.0.53', remote_port: 53, local_addr: '127.0.0.1', local_port: port, pid });

/** The UDP answer `packet` with its DNS message cut at `length`, IP and UDP lengths made to fit. */
function withMessage(packet: Buffer, message: Buffer): Buffer {
  const headers = Buffer.from(packet.subarray(0, 28));
  headers.writeUInt16BE(28 + message.length, 2);
  headers.writeUInt16BE(8 + message.length, 24);
  return Buffer.concat([headers, message]);
}

describe('DnsNames', () => {
  it('names flows to the addresses of A, AAAA and CNAME answers read from a capture batch', () => {
    const names = new DnsNames();
    const { data, meta } = captureBatch([filesA, filesAAAA, wwwA]);
    names.pushPackets(data, meta, 1000);
    const v4 = connectTo('127.0.0.7');
    const v6 = connectTo('::7');
    const aliased = connectTo('127.0.0.8');
    const unknown = connectTo('127.0.0.200');
    for (const flow of [v4, v6, aliased, unknown]) names.name(flow, 2000);
    expect([v4, v6, aliased, unknown].map((f) => [f.remote_name, f.remote_cname])).toEqual([
      ['files.example.test', null],
      ['files.example.test', null],
      ['www.example.test', 'edge.cdn.example.test'],
      [null, null],
    ]);
    expect(names.stats()).toMatchObject({ packets: 3, answers: 3, resolutions: 3, flowsNamed: 3, cacheAddresses: 3, skipped: {} });
  });

  it('reads a TCP answer whole in one segment and counts the handshake, NXDOMAIN learning nothing', () => {
    const names = new DnsNames();
    const { data, meta } = captureBatch([synAck, ack, tcpAnswer, fin, nxdomain]);
    names.pushPackets(data, meta, 0);
    expect(names.stats()).toMatchObject({ packets: 5, answers: 1, skipped: { 'tcp-partial': 3 } });
  });

  it('counts truncated packets, a compression pointer loop and garbage, and never throws', () => {
    const names = new DnsNames();
    const message = dnsSegment(filesA);
    if (!message.ok) throw new Error(message.skip);
    const loop = Buffer.from(message.segment.message);
    // The question's name becomes a pointer to itself (offset 12, RFC 1035 4.1.4).
    loop.writeUInt16BE(0xc00c, 12);
    const packets = [filesA.subarray(0, 40), withMessage(filesA, loop), withMessage(filesA, Buffer.from('not dns at all')), Buffer.alloc(0)];
    const { data, meta } = captureBatch(packets);
    // And meta words pointing past the data, as a broken batch would.
    const broken = new Uint32Array([...meta, data.length - 2, 100, 1]);
    expect(() => names.pushPackets(data, broken, 0)).not.toThrow();
    expect(names.stats()).toMatchObject({ packets: 4, answers: 0, skipped: { truncated: 3, malformed: 2 } });
  });

  it('takes an oversized answer (400 addresses for one name) and keeps the cache within its bound', () => {
    const message = dnsSegment(filesA);
    if (!message.ok) throw new Error(message.skip);
    // Header with 400 answers; the question; then 400 A records whose owner points at the question's name.
    const header = Buffer.from(message.segment.message.subarray(0, 12));
    header.writeUInt16BE(400, 6);
    header.writeUInt16BE(0, 10);
    const question = message.segment.message.subarray(12, 12 + 'files.example.test'.length + 2 + 4);
    const records = Array.from({ length: 400 }, (_, i) => Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 1, i >> 8, i & 0xff]));
    const big = Buffer.concat([header, question, ...records]);
    expect(big.length).toBeGreaterThan(6000);
    const names = new DnsNames({ maxAddresses: 100 });
    names.pushPacket(withMessage(filesA, big), 0);
    expect(names.stats()).toMatchObject({ answers: 1, resolutions: 400, cacheAddresses: 100, evicted: 300 });
    const last = connectTo('10.1.1.143');
    names.name(last, 1);
    expect(last.remote_name).toBe('files.example.test');
  });

  it("gives a flow the answer to its own process's query (matched by the query's local port) over a later one", () => {
    const names = new DnsNames();
    const portA = clientPortOf(cdnA);
    names.observe(queryFrom(portA, 100));
    names.pushPacket(cdnA, 1000);
    names.pushPacket(cdnB, 2000);
    const mine = connectTo('127.0.0.9', 100);
    const someoneElse = connectTo('127.0.0.9', 200);
    names.name(mine, 3000);
    names.name(someoneElse, 3000);
    expect(mine.remote_name).toBe('cdn-a.example.test');
    expect(someoneElse.remote_name).toBe('cdn-b.example.test');
    expect(names.queryProcess(portA)).toMatchObject({ pid: 100, exe: sendto.exe });
    expect(names.stats().queries).toBe(1);
  });

  it('forgets a name when its TTL (clamped) has passed on the injected clock', () => {
    const names = new DnsNames({ minTtlMs: 1000, maxTtlMs: 120_000 });
    names.pushPacket(filesA, 0);
    // The answer's TTL is 300 s; the maximum cuts it to 120 s.
    const before = connectTo('127.0.0.7');
    const after = connectTo('127.0.0.7');
    names.name(before, 119_999);
    names.name(after, 120_000);
    expect([before.remote_name, after.remote_name]).toEqual(['files.example.test', null]);
  });

  it('hands each answer on, and its kind=dns entry names the querying process when its query was seen', () => {
    const seen: DnsAnswer[] = [];
    const names = new DnsNames({ onAnswer: (answer) => seen.push(answer) });
    names.observe(queryFrom(clientPortOf(wwwA), 321));
    names.pushPackets(...(Object.values(captureBatch([wwwA, nxdomain])) as [Buffer, Uint32Array]), 5000);
    expect(seen).toHaveLength(1);
    const entry = dnsEntry(seen[0] as DnsAnswer, names.queryProcess(seen[0]?.segment.clientPort ?? 0), 'host-1');
    expect(entry).toEqual({
      kind: 'dns',
      fields: {
        host: 'host-1',
        v: '1',
        ts: '5000',
        name: 'www.example.test',
        cname: 'edge.cdn.example.test',
        addresses: '["127.0.0.8"]',
        ttl: '300',
        transport: 'udp',
        server: '127.0.0.53',
        server_port: '53',
        client: '127.0.0.1',
        client_port: String(clientPortOf(wwwA)),
        pid: '321',
        comm: sendto.comm,
        exe: sendto.exe,
        uid: String(sendto.uid),
      },
    });
  });
});

describe('NameCache under load', () => {
  it('stays within its bound under 1,000,000 random answers', () => {
    const cache = new NameCache({ maxAddresses: 5000, maxNamesPerAddress: 4 });
    // 65,536 addresses, thirteen times the bound; names and ports from a small linear congruential
    // generator: the same "random" answers every run.
    const addresses = Array.from({ length: 65_536 }, (_, i) => `10.0.${i >> 8}.${i & 0xff}`);
    const names = Array.from({ length: 7 }, (_, i) => `n${i}.test`);
    let state = 12345;
    const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    let largest = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const r = next();
      cache.add({ address: addresses[r >>> 16] as string, name: names[r % 7] as string, cname: null, ttl: r % 600 }, '127.0.0.1', 1024 + (r % 60000), i);
      if ((i & 0xfff) === 0) largest = Math.max(largest, cache.stats().addresses);
    }
    const stats = cache.stats();
    expect(Math.max(largest, stats.addresses)).toBeLessThanOrEqual(5000);
    expect(stats.addresses).toBeGreaterThan(4500);
    expect(stats.answers).toBe(1_000_000);
    expect(stats.evicted).toBeGreaterThan(800_000);
  }, 30_000);
});
