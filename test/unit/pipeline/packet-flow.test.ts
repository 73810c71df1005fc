// NETFILTER_PKT records as packet flows (src/pipeline/packet-flow.ts): the records captured on this
// kernel (6.18, test/fixtures/netfilter-*.log, rules/netfilter.nft in a network namespace) and, for
// the formats this kernel does not write, records constructed from the kernel's format strings
// (labelled as such).
import { describe, expect, it } from 'vitest';
import { ipTextBytes } from '../../../src/linux/ip-text.js';
import { isLoopback } from '../../../src/pipeline/packet-flow.js';
import { fixtureLines, runLogLines, runWith } from './fixtures.js';

const packet = (serial: number, body: string, time = '1796498476.665'): string => `type=NETFILTER_PKT msg=audit(${time}:${serial}): ${body}`;
// The host of the constructed records: 10.0.0.5 and 2001:db8::5 are its own.
const HOST = [ipTextBytes('10.0.0.5'), ipTextBytes('2001:db8::5')] as Buffer[];
const hostLocal = (bytes: Buffer): boolean => isLoopback(bytes) || HOST.some((own) => own.equals(bytes));

describe('netfilter packets', () => {
  it('gives each captured record one packet flow: egress on output, then ingress on input, no process', () => {
    for (const [name, proto, family, addr] of [
      ['netfilter-connect-tcp4-ok', 'tcp', 'inet', '127.0.0.1'],
      ['netfilter-connect-tcp6-ok', 'tcp', 'inet6', '::1'],
      ['netfilter-sendto-udp4', 'udp', 'inet', '127.0.0.1'],
    ] as const) {
      const run = runLogLines(fixtureLines(name));
      expect(run.flows.map((flow) => flow.direction)).toEqual(['egress', 'ingress']);
      for (const flow of run.flows) {
        expect(flow).toMatchObject({ op: 'packet', source: 'netfilter', via: null, syscall: null, result: null, proto, family, local_addr: addr, remote_addr: addr, local_port: null, remote_port: null, community_id: null, mark: 0, pid: null, exe: null, argv: [] });
      }
      expect(run.stats.losses).toEqual({});
    }
  });

  it('is a whole event without EOE: nothing waits, nothing is lost', () => {
    const run = runLogLines([packet(1, 'mark=0x0 saddr=127.0.0.1 daddr=127.0.0.1 proto=6')]);
    expect(run.flows).toHaveLength(1);
    expect(run.stats.inFlight).toBe(0);
  });

  it('reads the pre-4.12 xt_AUDIT format (constructed): hook, interfaces, ports, action', () => {
    const run = runWith({ localAddresses: hostLocal }, (pipeline) => {
      pipeline.pushLogLine(packet(1, 'action=0 hook=1 len=60 inif=eth0 outif=? smac=52:54:00:12:34:56 dmac=52:54:00:65:43:21 macproto=0x0800 saddr=192.0.2.7 daddr=10.0.0.5 ipid=4711 proto=6 sport=51000 dport=22'));
      pipeline.pushLogLine(packet(2, 'action=1 hook=3 len=60 inif=? outif=eth0 mark=0x1f saddr=10.0.0.5 daddr=198.51.100.9 ipid=7 proto=17 sport=40000 dport=53'));
      pipeline.pushLogLine(packet(3, 'action=0 hook=2 len=60 inif=eth0 outif=eth1 saddr=192.0.2.7 daddr=198.51.100.9 ipid=8 proto=1 icmptype=8 icmpcode=0'));
      pipeline.pushLogLine(packet(4, 'action=2 hook=0 len=80 inif=eth0 outif=? saddr=2001:db8::7 daddr=2001:db8::5 proto=6 sport=51001 dport=443'));
    });
    expect(run.flows.map((f) => [f.direction, f.result, f.in_if, f.out_if, f.mark, f.proto, f.local_addr, f.local_port, f.remote_addr, f.remote_port])).toEqual([
      ['ingress', 'accept', 'eth0', null, null, 'tcp', '10.0.0.5', 22, '192.0.2.7', 51000],
      ['egress', 'drop', null, 'eth0', 31, 'udp', '10.0.0.5', 40000, '198.51.100.9', 53],
      ['forward', 'accept', 'eth0', 'eth1', null, 'icmp', '192.0.2.7', null, '198.51.100.9', null],
      ['ingress', 'reject', 'eth0', null, null, 'tcp', '2001:db8::5', 443, '2001:db8::7', 51001],
    ]);
    // The logged packet opens the connection: its source is the initiator (Community ID v1 of 192.0.2.7:51000 -> 10.0.0.5:22/tcp).
    expect(run.flows[0]?.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(run.flows[2]?.community_id).toBeNull();
  });

  it('reads the ports of the 7.0 format (constructed) and decides the direction by the host addresses', () => {
    const run = runWith({ localAddresses: hostLocal }, (pipeline) => {
      pipeline.pushLogLine(packet(1, 'mark=0x0 saddr=10.0.0.5 daddr=203.0.113.4 proto=6 sport=40000 dport=443'));
      pipeline.pushLogLine(packet(2, 'mark=0x0 saddr=203.0.113.4 daddr=10.0.0.5 proto=6 sport=50000 dport=22'));
      pipeline.pushLogLine(packet(3, 'mark=0x0 saddr=192.0.2.1 daddr=203.0.113.4 proto=17 sport=5353 dport=53'));
    });
    expect(run.flows.map((f) => [f.direction, f.local_addr, f.local_port, f.remote_addr, f.remote_port])).toEqual([
      ['egress', '10.0.0.5', 40000, '203.0.113.4', 443],
      ['ingress', '10.0.0.5', 22, '203.0.113.4', 50000],
      ['forward', '192.0.2.1', 5353, '203.0.113.4', 53],
    ]);
    expect(run.flows.every((flow) => flow.community_id !== null)).toBe(true);
  });

  it('pairs loopback records: first egress, second ingress, and a new pair after the window', () => {
    const body = 'mark=0x0 saddr=127.0.0.1 daddr=127.0.0.1 proto=6';
    const run = runLogLines([packet(1, body, '1000.000'), packet(2, body, '1000.000'), packet(3, body, '1000.010'), packet(4, body, '1003.000')]);
    expect(run.flows.map((flow) => flow.direction)).toEqual(['egress', 'ingress', 'egress', 'egress']);
  });

  it('drops a record of an unknown family, counted', () => {
    const run = runLogLines([packet(1, 'mark=0x0 saddr=? daddr=? proto=-1')]);
    expect(run.flows).toEqual([]);
    expect(run.stats.losses).toEqual({ family: 1, 'family:unknown': 1 });
  });
});

describe('ipTextBytes', () => {
  it('reads IPv4, IPv6 with and without ::, and a dotted tail', () => {
    expect(ipTextBytes('192.0.2.7')?.toString('hex')).toBe('c0000207');
    expect(ipTextBytes('::1')?.toString('hex')).toBe('00000000000000000000000000000001');
    expect(ipTextBytes('2001:db8::5')?.toString('hex')).toBe('20010db8000000000000000000000005');
    expect(ipTextBytes('fe80::1:2:3:4')?.toString('hex')).toBe('fe800000000000000001000200030004');
    expect(ipTextBytes('::ffff:192.0.2.7')?.toString('hex')).toBe('00000000000000000000ffffc0000207');
    expect(ipTextBytes('1:2:3:4:5:6:7:8')?.toString('hex')).toBe('00010002000300040005000600070008');
    expect(ipTextBytes('?')).toBeUndefined();
    expect(ipTextBytes('300.1.1.1')).toBeUndefined();
  });
});
