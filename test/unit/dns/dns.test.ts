import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answersOf } from '../../../src/dns/answers.js';
import { NameCache } from '../../../src/dns/name-cache.js';
import { dnsSegment, type DnsSegment } from '../../../src/dns/packet.js';
import { capturedAnswers } from '../../helpers/dns-fixture.js';

const captured = capturedAnswers;

function segment(packet: Buffer): DnsSegment {
  const result = dnsSegment(packet);
  if (!result.ok) throw new Error(`not a DNS segment: ${result.skip}`);
  return result.segment;
}

function resolutions(packet: Buffer) {
  const result = answersOf(segment(packet).message);
  if (!result.ok) throw new Error(result.reason);
  return result.resolutions;
}

// Packet order of the fixture: 5 UDP answers, 4 TCP segments (SYN-ACK, ACK, answer, FIN), NXDOMAIN.
const [filesA, filesAAAA, wwwA, cdnA, cdnB, synAck, ack, tcpAnswer, fin, nxdomain] = captured as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];

describe('DNS answers captured on lo', () => {
  it('holds the ten packets of the capture', () => {
    expect(captured).toHaveLength(10);
  });

  it('reads the resolver and the asker from the IP and UDP headers', () => {
    const s = segment(filesA);
    expect(s).toMatchObject({ server: '127.0.0.53', serverPort: 53, client: '127.0.0.1', transport: 'udp' });
    expect(s.clientPort).toBeGreaterThan(1023);
  });

  it('gives the address each name resolved to, with its TTL', () => {
    expect(resolutions(filesA)).toEqual([{ address: '127.0.0.7', name: 'files.example.test', cname: null, ttl: 300 }]);
    expect(resolutions(filesAAAA)).toEqual([{ address: '::7', name: 'files.example.test', cname: null, ttl: 300 }]);
  });

  it('names the asked name and the end of its CNAME chain', () => {
    expect(resolutions(wwwA)).toEqual([{ address: '127.0.0.8', name: 'www.example.test', cname: 'edge.cdn.example.test', ttl: 300 }]);
  });

  it('reads an answer over TCP from the segment that holds it whole, and skips the handshake', () => {
    expect([synAck, ack, fin].map((p) => dnsSegment(p))).toEqual([
      { ok: false, skip: 'tcp-partial' },
      { ok: false, skip: 'tcp-partial' },
      { ok: false, skip: 'tcp-partial' },
    ]);
    expect(segment(tcpAnswer).transport).toBe('tcp');
    expect(resolutions(tcpAnswer)).toEqual([{ address: '127.0.0.7', name: 'files.example.test', cname: null, ttl: 300 }]);
  });

  it('learns nothing from NXDOMAIN', () => {
    expect(resolutions(nxdomain)).toEqual([]);
  });

  it('reads the same message from an IPv6 packet with a hop-by-hop header (constructed around a captured message)', () => {
    const message = segment(filesA).message;
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(53, 0);
    udp.writeUInt16BE(40000, 2);
    udp.writeUInt16BE(8 + message.length, 4);
    const hopByHop = Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]); // next header UDP, 8 bytes, PadN
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(hopByHop.length + udp.length + message.length, 4);
    ip[6] = 0; // hop-by-hop options first
    ip[23] = 0x53; // ::53
    ip[39] = 1; // ::1
    const s = segment(Buffer.concat([ip, hopByHop, udp, message]));
    expect(s).toMatchObject({ server: '::53', client: '::1', clientPort: 40000, transport: 'udp' });
    expect(answersOf(s.message)).toMatchObject({ ok: true, resolutions: [{ address: '127.0.0.7' }] });
  });

  it('skips IPv4 fragments and truncated packets', () => {
    const fragment = Buffer.from(filesA);
    fragment.writeUInt16BE(0x2000, 6); // MF
    expect(dnsSegment(fragment)).toEqual({ ok: false, skip: 'fragment' });
    expect(dnsSegment(filesA.subarray(0, 30))).toEqual({ ok: false, skip: 'truncated' });
    expect(answersOf(segment(filesA).message.subarray(0, 20))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 9 }), (bytes, base) => {
        const packet = Buffer.concat([(captured[base] as Buffer).subarray(0, 28), Buffer.from(bytes)]);
        const result = dnsSegment(packet);
        if (result.ok) answersOf(result.segment.message);
        answersOf(Buffer.from(bytes));
      }),
    );
  });
});

describe('NameCache', () => {
  const answer = (packet: Buffer) => ({ resolutions: resolutions(packet), client: segment(packet).client, port: segment(packet).clientPort });

  it('gives the most recent name of an address several names share (a CDN)', () => {
    const cache = new NameCache();
    for (const [at, packet] of [
      [1000, cdnA],
      [2000, cdnB],
    ] as const) {
      const a = answer(packet);
      for (const r of a.resolutions) cache.add(r, a.client, a.port, at);
    }
    expect(cache.lookup('127.0.0.9', 3000)).toEqual({ name: 'cdn-b.example.test', cname: null });
  });

  it('prefers the answer to the flow process own query, matched by the query local port', () => {
    const cache = new NameCache();
    const a = answer(cdnA);
    const b = answer(cdnB);
    for (const r of a.resolutions) cache.add(r, a.client, a.port, 1000);
    for (const r of b.resolutions) cache.add(r, b.client, b.port, 2000);
    expect(cache.lookup('127.0.0.9', 3000, [{ addr: a.client, port: a.port }])).toEqual({ name: 'cdn-a.example.test', cname: null });
  });

  it('keeps an answer for its TTL clamped to the minimum and maximum', () => {
    const cache = new NameCache({ minTtlMs: 1000, maxTtlMs: 10_000 });
    cache.add({ address: '127.0.0.7', name: 'short.test', cname: null, ttl: 0 }, '127.0.0.1', 40000, 0);
    cache.add({ address: '127.0.0.8', name: 'long.test', cname: null, ttl: 86_400 }, '127.0.0.1', 40000, 0);
    expect(cache.lookup('127.0.0.7', 999)?.name).toBe('short.test');
    expect(cache.lookup('127.0.0.7', 1000)).toBeNull();
    expect(cache.lookup('127.0.0.8', 9999)?.name).toBe('long.test');
    expect(cache.lookup('127.0.0.8', 10_000)).toBeNull();
  });

  it('holds at most maxAddresses addresses, dropping the least recently used and counting it', () => {
    const cache = new NameCache({ maxAddresses: 2 });
    cache.add({ address: '10.0.0.1', name: 'one.test', cname: null, ttl: 300 }, '127.0.0.1', 1, 0);
    cache.add({ address: '10.0.0.2', name: 'two.test', cname: null, ttl: 300 }, '127.0.0.1', 1, 0);
    expect(cache.lookup('10.0.0.1', 1)?.name).toBe('one.test');
    cache.add({ address: '10.0.0.3', name: 'three.test', cname: null, ttl: 300 }, '127.0.0.1', 1, 2);
    expect(cache.lookup('10.0.0.2', 3)).toBeNull();
    expect(cache.lookup('10.0.0.1', 3)?.name).toBe('one.test');
    expect(cache.stats()).toEqual({ addresses: 2, answers: 3, evicted: 1 });
  });
});
