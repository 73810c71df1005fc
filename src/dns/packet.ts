// A captured packet → the DNS message it carries. The capture socket (AF_PACKET, SOCK_DGRAM) hands
// over network-layer packets without the link header: an IPv4 or IPv6 header, then UDP or TCP from
// source port 53 (its BPF filter lets nothing else through). Never throws: what cannot be read is
// an outcome with a reason, which the caller counts.
import { ipv4Text, ipv6Text } from '../linux/ip-text.js';

// include/uapi/linux/in.h
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
// RFC 8200 extension headers that may precede the transport header: hop-by-hop options (0),
// routing (43), destination options (60). A fragment header (44) means a fragment: not read.
const IPV6_SKIPPABLE = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;
const UDP_HEADER = 8;

export interface DnsSegment {
  /** The resolver's address and port (the packet's source) and the asker's (its destination). */
  server: string;
  serverPort: number;
  client: string;
  clientPort: number;
  transport: 'udp' | 'tcp';
  /** The DNS message: for TCP without its 2-byte length prefix (RFC 1035 4.2.2). */
  message: Buffer;
}

export type SegmentSkip =
  /** Too short for its headers, or headers that contradict the length. */
  | 'truncated'
  /** An IP fragment: only a whole datagram holds a whole DNS message. */
  | 'fragment'
  /** Neither UDP nor TCP, or an IPv6 extension header this reader does not walk. */
  | 'protocol'
  /** A TCP segment without a whole DNS message (a message split over segments, or a bare ACK). */
  | 'tcp-partial';

export type SegmentResult = { ok: true; segment: DnsSegment } | { ok: false; skip: SegmentSkip };

const skip = (reason: SegmentSkip): SegmentResult => ({ ok: false, skip: reason });

export function dnsSegment(packet: Buffer): SegmentResult {
  if (packet.length < 1) return skip('truncated');
  const version = (packet[0] as number) >> 4;
  if (version === 4) return fromIpv4(packet);
  if (version === 6) return fromIpv6(packet);
  return skip('protocol');
}

function fromIpv4(packet: Buffer): SegmentResult {
  if (packet.length < 20) return skip('truncated');
  const headerLength = ((packet[0] as number) & 0x0f) * 4;
  const total = packet.readUInt16BE(2);
  if (headerLength < 20 || total < headerLength || total > packet.length) return skip('truncated');
  // RFC 791: the MF flag or a fragment offset marks a fragment.
  if ((packet.readUInt16BE(6) & 0x3fff) !== 0) return skip('fragment');
  const ends = { server: ipv4Text(packet.subarray(12, 16)), client: ipv4Text(packet.subarray(16, 20)) };
  return fromTransport(packet[9] as number, packet.subarray(headerLength, total), ends);
}

function fromIpv6(packet: Buffer): SegmentResult {
  if (packet.length < 40) return skip('truncated');
  const end = 40 + packet.readUInt16BE(4);
  if (end > packet.length) return skip('truncated');
  let next = packet[6] as number;
  let at = 40;
  while (IPV6_SKIPPABLE.has(next)) {
    if (at + 8 > end) return skip('truncated');
    const length = ((packet[at + 1] as number) + 1) * 8;
    next = packet[at] as number;
    at += length;
  }
  if (next === IPV6_FRAGMENT) return skip('fragment');
  if (at > end) return skip('truncated');
  const ends = { server: ipv6Text(packet.subarray(8, 24)), client: ipv6Text(packet.subarray(24, 40)) };
  return fromTransport(next, packet.subarray(at, end), ends);
}

function fromTransport(protocol: number, data: Buffer, ends: { server: string; client: string }): SegmentResult {
  if (protocol === IPPROTO_UDP) {
    if (data.length < UDP_HEADER) return skip('truncated');
    const length = data.readUInt16BE(4);
    if (length < UDP_HEADER || length > data.length) return skip('truncated');
    return { ok: true, segment: { ...ends, serverPort: data.readUInt16BE(0), clientPort: data.readUInt16BE(2), transport: 'udp', message: data.subarray(UDP_HEADER, length) } };
  }
  if (protocol === IPPROTO_TCP) {
    if (data.length < 20) return skip('truncated');
    const offset = ((data[12] as number) >> 4) * 4;
    if (offset < 20 || offset > data.length) return skip('truncated');
    const payload = data.subarray(offset);
    // One segment holding one whole message, as resolvers answer short replies over TCP.
    if (payload.length < 2 || payload.readUInt16BE(0) !== payload.length - 2) return skip('tcp-partial');
    return { ok: true, segment: { ...ends, serverPort: data.readUInt16BE(0), clientPort: data.readUInt16BE(2), transport: 'tcp', message: payload.subarray(2) } };
  }
  return skip('protocol');
}
