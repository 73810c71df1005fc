// Packets as flows: a NETFILTER_PKT record, written by an nftables `log level audit` rule
// (net/netfilter/nft_log.c nft_log_eval_audit) or an iptables AUDIT target (xt_AUDIT), becomes an
// op=packet flow with source=netfilter. The kernel writes it outside any process: no pid, no exe.
// rules/netfilter.nft logs the first packet of each new connection (ct state new) on input,
// output and forward. Three formats (all parsed by field name):
//   Linux 4.12+ (measured on 6.18):  mark=0x0 saddr=127.0.0.1 daddr=127.0.0.1 proto=6
//   a patch for 7.0 adds ports:      ... proto=6 sport=40000 dport=443
//   before 4.12 (xt_AUDIT only):     action=0 hook=1 len=60 inif=eth0 outif=? [mark=0x1] [smac=.. dmac=..
//                                    macproto=0x0800] saddr=.. daddr=.. ipid=.. proto=6 sport=.. dport=..
// Unknown families log `saddr=? daddr=? proto=-1`: family unknown, dropped by the family filter.
//
// Direction. Where the record names its hook (before 4.12; include/uapi/linux/netfilter.h
// NF_INET_PRE_ROUTING 0, LOCAL_IN 1, FORWARD 2, LOCAL_OUT 3, POST_ROUTING 4) it decides. Otherwise
// the addresses do, compared with the host's own: from one of ours to another host is egress, from
// another host to one of ours ingress, between two others forward. A packet between two of the host's
// own addresses (loopback) passes the output hook and then the input hook, and the kernel writes the
// two records in that order (output runs in the sender's context, input after the loopback device
// hands the packet on): the first of such a pair is egress, the second ingress. Two new connections
// between the same two addresses made within microseconds of each other may swap, since without ports
// (4.12 to 6.x) their records look alike.
import { communityId } from './community-id.js';
import type { RecordFields } from './event-records.js';
import { FLOW_SCHEMA_VERSION, PORT_PROTOCOLS, noProcess, type Flow } from './flow.js';
import type { Endpoint } from './socket-kinds.js';
import { ipTextBytes } from '../linux/ip-text.js';
import { protocolName } from '../linux/socket.js';

// How long the first record of a loopback pair waits for its second, ms.
const PAIR_WINDOW_MS = 1000;
const MAX_PAIRS = 4096;
// xt_AUDIT's --type (include/uapi/linux/netfilter/xt_AUDIT.h XT_AUDIT_TYPE_*).
const ACTIONS = ['accept', 'drop', 'reject'];

/** Whether an address (its bytes) is one of this host's. */
export type LocalAddresses = (bytes: Buffer) => boolean;

/** The loopback networks (127.0.0.0/8, ::1): the host's own wherever a record comes from. */
export function isLoopback(bytes: Buffer): boolean {
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes.length === 16 && bytes.subarray(0, 15).every((byte) => byte === 0) && bytes[15] === 1;
}

export type PacketStep = { kind: 'flow'; flow: Flow } | { kind: 'dropped'; family: string };

export class PacketFlows {
  /** First records of loopback pairs still waiting for their second: key → pipeline time. */
  private readonly firsts = new Map<string, number>();

  constructor(private readonly isLocal: LocalAddresses = isLoopback) {}

  push(node: string, serial: number, time: number, packet: RecordFields, families: ReadonlySet<string> | 'all'): PacketStep {
    const source = ipTextBytes(packet.value('saddr') ?? '');
    const destination = ipTextBytes(packet.value('daddr') ?? '');
    const family = source && destination && source.length === destination.length ? (source.length === 4 ? 'inet' : 'inet6') : 'unknown';
    if (families !== 'all' && !families.has(family)) return { kind: 'dropped', family };
    const proto = packet.number('proto');
    const protocol = proto === undefined || proto < 0 ? undefined : proto;
    const sport = packet.number('sport');
    const dport = packet.number('dport');
    const from: Endpoint | undefined = source && { addr: packet.value('saddr') as string, port: sport ?? 0, bytes: source };
    const to: Endpoint | undefined = destination && { addr: packet.value('daddr') as string, port: dport ?? 0, bytes: destination };
    const direction = this.direction(packet, from, to, protocol, time);
    const [local, remote] = direction === 'ingress' ? [to, from] : [from, to];
    const ported = protocol !== undefined && PORT_PROTOCOLS.has(protocol) && sport !== undefined && dport !== undefined;
    const action = packet.number('action');
    return {
      kind: 'flow',
      flow: {
        v: FLOW_SCHEMA_VERSION,
        kind: 'flow',
        node: node === '' ? null : node,
        ts: time,
        serial,
        op: 'packet',
        syscall: null,
        source: 'netfilter',
        via: null,
        uring_op: null,
        direction,
        result: action === undefined ? null : (ACTIONS[action] ?? `action_${action}`),
        family,
        proto: protocol === undefined ? null : protocolName(protocol),
        proto_num: protocol ?? null,
        local_addr: local?.addr ?? null,
        local_port: local && ported ? local.port : null,
        remote_addr: remote?.addr ?? null,
        remote_port: remote && ported ? remote.port : null,
        remote_name: null,
        remote_cname: null,
        ipv4_mapped: false,
        scope_id: null,
        // The logged packet is a new connection's first: its source is the initiator.
        community_id: ported && from && to ? (communityId(protocol, from, to) ?? null) : null,
        mark: hexNumber(packet.value('mark')),
        in_if: interfaceName(packet.value('inif')),
        out_if: interfaceName(packet.value('outif')),
        ...noProcess(null),
        count: 1,
        first_ts: time,
        last_ts: time,
      },
    };
  }

  private direction(packet: RecordFields, from: Endpoint | undefined, to: Endpoint | undefined, protocol: number | undefined, time: number): Flow['direction'] {
    const hook = packet.number('hook');
    const fromLocal = from !== undefined && this.isLocal(from.bytes);
    const toLocal = to !== undefined && this.isLocal(to.bytes);
    switch (hook) {
      case 0:
        return toLocal ? 'ingress' : 'forward';
      case 1:
        return 'ingress';
      case 2:
        return 'forward';
      case 3:
        return 'egress';
      case 4:
        return fromLocal ? 'egress' : 'forward';
    }
    if (fromLocal && toLocal) return this.pairDirection(`${from?.addr}|${to?.addr}|${protocol}|${from?.port}|${to?.port}`, time);
    if (fromLocal) return 'egress';
    if (toLocal) return 'ingress';
    return 'forward';
  }

  /** The first record of a loopback pair is the output hook's, the second the input hook's. */
  private pairDirection(key: string, time: number): Flow['direction'] {
    // Oldest first: those past the window, and beyond the bound, go.
    for (const [first, at] of this.firsts) {
      if (at + PAIR_WINDOW_MS > time && this.firsts.size < MAX_PAIRS) break;
      this.firsts.delete(first);
    }
    if (this.firsts.delete(key)) return 'ingress';
    this.firsts.set(key, time);
    return 'egress';
  }
}

/** `0x1f` (nft's %#x) → 31. */
function hexNumber(text: string | undefined): number | null {
  return text !== undefined && /^0x[0-9a-f]{1,8}$/i.test(text) ? Number.parseInt(text.slice(2), 16) : null;
}

/** xt_AUDIT writes `?` for a hook without that interface. */
function interfaceName(text: string | undefined): string | null {
  return text === undefined || text === '?' || text === '' ? null : text;
}
