// The addon's DNS answer capture on the real kernel (AF_PACKET + its BPF filter; root for CAP_NET_RAW
// and port 53; no audit, so no kernel lock): what passes the filter on lo, once per packet, and what
// the names read from it.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { encode } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsCapture } from '../../src/dns/capture.js';
import { DnsNames, PACKET_META_WORDS } from '../../src/dns/dns-names.js';
import { dnsSegment } from '../../src/dns/packet.js';
import type { Flow } from '../../src/schema/entries.js';
import { until } from '../helpers/until.js';
import { fixtureLines, runLogLines } from '../unit/pipeline/fixtures.js';

/** A captured connect (test/fixtures/connect-tcp4-ok), pointed at the answers' addresses below. */
const CONNECT = runLogLines(fixtureLines('connect-tcp4-ok')).flows.find((flow) => flow.op === 'connect') as Flow;

const packets: Buffer[] = [];
const names = new DnsNames();
let capture: DnsCapture;

beforeAll(() => {
  const opened = DnsCapture.open({
    onPackets: (data, meta) => {
      for (let i = 0; i < meta.length; i += PACKET_META_WORDS) packets.push(Buffer.from(data.subarray(meta[i] as number, (meta[i] as number) + (meta[i + 1] as number))));
      names.pushPackets(data, meta, Date.now());
    },
    onError: (error) => {
      throw error;
    },
  });
  if (!opened.ok) throw opened.error;
  capture = opened.capture;
});

afterAll(async () => {
  await capture.close();
});

const answer = (name: string, address: string): Buffer =>
  encode({ type: 'response', id: 7, flags: 0x8180, questions: [{ type: 'A', name }], answers: [{ type: 'A', name, ttl: 60, data: address }] });

async function udp(family: 'udp4' | 'udp6', address: string, port: number): Promise<UdpSocket> {
  const socket = createSocket(family);
  await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(port, address, () => resolve()));
  return socket;
}

/**
 * The captured packets from `server` to `clientPort`, read from their IP and UDP/TCP headers (IPv4:
 * the header length in its first byte; IPv6: the transport header right after the 40-byte header).
 */
const between = (server: string, clientPort: number): Buffer[] =>
  packets.filter((packet) => {
    const v4 = (packet[0] as number) >> 4 === 4;
    const source = v4 ? [...packet.subarray(12, 16)].join('.') : packet.subarray(8, 24).equals(Buffer.from('00000000000000000000000000000001', 'hex')) ? '::1' : '';
    const transport = v4 ? ((packet[0] as number) & 0x0f) * 4 : 40;
    return source === server && packet.readUInt16BE(transport + 2) === clientPort;
  });

describe('the DNS answer capture on lo', () => {
  it('passes UDP from source port 53 over IPv4 and IPv6, once each (not the outgoing loopback copy), and nothing from other ports', async () => {
    const server4 = await udp('udp4', '127.0.0.98', 53);
    const other4 = await udp('udp4', '127.0.0.98', 5353);
    const server6 = await udp('udp6', '::1', 53);
    const client4 = await udp('udp4', '127.0.0.1', 0);
    const client6 = await udp('udp6', '::1', 0);
    try {
      const port4 = client4.address().port;
      const port6 = client6.address().port;
      const before = capture.stats();
      server4.send(answer('four.capture.test', '127.0.0.41'), port4, '127.0.0.1');
      other4.send(answer('other-port.capture.test', '127.0.0.42'), port4, '127.0.0.1');
      server6.send(answer('six.capture.test', '127.0.0.61'), port6, '::1');
      await until(() => between('127.0.0.98', port4).length >= 1 && between('::1', port6).length >= 1, 5000, 'both answers captured');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(between('127.0.0.98', port4)).toHaveLength(1);
      expect(between('::1', port6)).toHaveLength(1);
      const after = capture.stats();
      expect(after.loopbackOutgoing - before.loopbackOutgoing).toBeGreaterThanOrEqual(2);
      expect(after).toMatchObject({ kernelDrops: 0, queueDrops: 0, truncated: 0 });
      const [four, six, other] = ['127.0.0.41', '127.0.0.61', '127.0.0.42'].map((addr): Flow => ({ ...CONNECT, remote_addr: addr }));
      for (const f of [four, six, other] as Flow[]) names.name(f, Date.now());
      expect([four?.remote_name, six?.remote_name, other?.remote_name]).toEqual(['four.capture.test', 'six.capture.test', null]);
    } finally {
      for (const socket of [server4, other4, server6, client4, client6]) socket.close();
    }
  });

  it('counts what its full queue to JavaScript cannot take, and hands none of it on', async () => {
    let delivered = 0;
    // A queue of one byte: every batch is larger.
    const opened = DnsCapture.open({ maxQueueBytes: 1, onPackets: (_data, meta) => (delivered += meta.length / PACKET_META_WORDS), onError: () => {} });
    if (!opened.ok) throw opened.error;
    const server = await udp('udp4', '127.0.0.98', 53);
    const client = await udp('udp4', '127.0.0.1', 0);
    try {
      const port = client.address().port;
      for (let i = 0; i < 3; i++) server.send(answer(`drop${i}.capture.test`, '127.0.0.81'), port, '127.0.0.1');
      await until(() => between('127.0.0.98', port).length >= 3, 5000, 'the main capture to see the three answers');
      await until(() => opened.capture.stats().queueDrops >= 3, 5000, 'three queue drops');
      expect(opened.capture.stats().packets).toBeGreaterThanOrEqual(3);
      expect(delivered).toBe(0);
    } finally {
      server.close();
      client.close();
      await opened.capture.close();
    }
  });

  it('passes a TCP answer from port 53, read when one segment holds it whole; the handshake segments are counted', async () => {
    const message = answer('tcp.capture.test', '127.0.0.71');
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(message.length);
    const server: Server = createServer((socket) => socket.end(Buffer.concat([prefix, message])));
    await new Promise<void>((resolve) => server.listen(53, '127.0.0.98', () => resolve()));
    try {
      const before = names.stats();
      const client = connect({ host: '127.0.0.98', port: 53 });
      const localPort = await new Promise<number>((resolve) => client.once('connect', () => resolve(client.localPort ?? 0)));
      await new Promise((resolve) => client.resume().once('close', resolve));
      await until(() => names.stats().answers > before.answers, 5000, 'the TCP answer read');
      const tcp = between('127.0.0.98', localPort);
      expect(tcp.length).toBeGreaterThanOrEqual(3);
      expect(tcp.filter((packet) => dnsSegment(packet).ok)).toHaveLength(1);
      expect((names.stats().skipped['tcp-partial'] ?? 0) - (before.skipped['tcp-partial'] ?? 0)).toBe(tcp.length - 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
