// Community ID v1 (https://github.com/corelight/community-id-spec): a flow hash that Zeek,
// Suricata and flow-log tools compute the same way, so auditflow's flows join with theirs.
//   sha1(seed:u16be | src addr | dst addr | proto:u8 | 0:u8 | src port:u16be | dst port:u16be)
// with the endpoints ordered so that the smaller (address, port) comes first; "1:" + base64.
import { createHash } from 'node:crypto';

export interface FlowEndpoint {
  /** 4 or 16 address bytes, network order. */
  bytes: Buffer;
  port: number;
}

/** Returns undefined when the two endpoints are not of one address family. */
export function communityId(protocol: number, a: FlowEndpoint, b: FlowEndpoint, seed = 0): string | undefined {
  if (a.bytes.length !== b.bytes.length || (a.bytes.length !== 4 && a.bytes.length !== 16)) return undefined;
  const order = Buffer.compare(a.bytes, b.bytes);
  const [src, dst] = order < 0 || (order === 0 && a.port <= b.port) ? [a, b] : [b, a];
  const head = Buffer.alloc(2);
  head.writeUInt16BE(seed & 0xffff);
  const tail = Buffer.alloc(6);
  tail.writeUInt8(protocol & 0xff, 0);
  tail.writeUInt8(0, 1);
  tail.writeUInt16BE(src.port & 0xffff, 2);
  tail.writeUInt16BE(dst.port & 0xffff, 4);
  const digest = createHash('sha1').update(head).update(src.bytes).update(dst.bytes).update(tail).digest('base64');
  return `1:${digest}`;
}
