// --format ecs and ocsf, field by field, on flows replayed from the captured fixtures (IPv4, IPv6,
// TCP, UDP, accept, bind, a refused connect, one in progress, AF_UNIX), a flow whose process was gone,
// and loss and lifecycle entries; and the rule that no native field is dropped.
import { describe, expect, it } from 'vitest';
import { FlowEncoder } from '../../../src/daemon/flow-entry.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { FLOW_FIELDS, LIFECYCLE_FIELDS, LOSS_FIELDS } from '../../../src/schema/entries.js';
import { integerOrNull, text } from '../../../src/schema/field.js';
import { formatEntry } from '../../../src/schema/format.js';
import { ECS_FLOW_ROWS, ECS_LIFECYCLE_ROWS, ECS_LOSS_ROWS } from '../../../src/schema/formats/ecs.js';
import { applyRows, copy, withRest, type Row } from '../../../src/schema/formats/mapping.js';
import { OCSF_FLOW_ROWS, OCSF_LIFECYCLE_ROWS, OCSF_LOSS_ROWS } from '../../../src/schema/formats/ocsf.js';
import { typedEntry, type TypedEntry } from '../../../src/schema/typed.js';
import { decodeEntry, EntryStamper } from '../../../src/sink/entry-bytes.js';
import { lifecycleEntry, lossEntry } from '../../../src/sink/entries.js';
import type { EncodableEntry, SinkEntry } from '../../../src/sink/types.js';
import { fixtureLines, runLogLines } from '../pipeline/fixtures.js';

const BOOT = '2b1a6c8e-0000-4000-8000-000000000003';
const stamper = new EntryStamper(BOOT);
const encoder = new FlowEncoder('web-1');
let n = 0;

/** The entry as a consumer of the stream has it: stamped, encoded, decoded, typed. */
function fromStream(entry: SinkEntry | EncodableEntry): TypedEntry {
  n++;
  const decoded = decodeEntry(stamper.stamp(`1795252599301-${n}`, n, entry));
  return typedEntry(decoded?.fields ?? {}, decoded?.id);
}

function flowOf(fixture: string, match: (flow: Flow) => boolean, families?: 'all'): TypedEntry {
  const flow = runLogLines(fixtureLines(fixture), families === undefined ? {} : { families }).flows.find(match);
  if (flow === undefined) throw new Error(`${fixture}: no such flow`);
  return fromStream(encoder.entry(flow));
}

const ecs = (entry: TypedEntry): Record<string, unknown> => formatEntry(entry, 'ecs');
const ocsf = (entry: TypedEntry): Record<string, unknown> => formatEntry(entry, 'ocsf');
const iso = (ms: unknown): string => new Date(ms as number).toISOString();

describe('--format ecs (ECS 8.17)', () => {
  it('maps an IPv6 TCP connect: egress, the local end as source, the process and users', () => {
    const f = flowOf('connect-tcp6-ok', (flow) => flow.op === 'connect');
    const e = ecs(f);
    expect(e).toMatchObject({
      '@timestamp': iso(f.ts),
      ecs: { version: '8.17.0' },
      event: { kind: 'event', category: ['network'], type: ['connection', 'start'], action: 'connect', outcome: 'success', id: f.id, sequence: f.serial, start: iso(f.first_ts), end: iso(f.last_ts), module: 'auditflow', dataset: 'auditflow.flow' },
      destination: { ip: '::1', port: f.remote_port },
      network: { type: 'ipv6', transport: 'tcp', iana_number: '6', direction: 'egress' },
      process: { pid: f.pid, name: f.comm, executable: f.exe, args: f.argv, args_count: (f.argv as string[]).length, command_line: (f.argv as string[]).join(' '), parent: { pid: f.ppid } },
      user: { id: String(f.uid), effective: { id: String(f.euid) } },
      group: { id: String(f.gid) },
      host: { name: 'web-1', boot: { id: BOOT } },
      auditflow: { v: 1, seq: f.seq, syscall: 'connect', family: 'inet6', ipv4_mapped: false, auid: f.auid, ses: f.ses, count: 1, fd: f.fd },
    });
    // replay has no /proc: the local end of a connect is unknown, so there is no source, and nulls are left out.
    expect(e).not.toHaveProperty('source');
    expect(e).not.toHaveProperty('error');
    expect(e).not.toHaveProperty('container');
    expect(f.community_id).toBeNull();
  });

  it('maps an accept as ingress: the peer is the source, the listener the destination, with the Community ID', () => {
    const f = flowOf('accept-peer', (flow) => flow.op === 'accept');
    const e = ecs(f);
    expect(e).toMatchObject({ source: { ip: f.remote_addr, port: f.remote_port }, network: { direction: 'ingress', type: 'ipv4' }, event: { type: ['connection', 'start'], action: 'accept' } });
    const live = fromStream(encoder.entry({ ...(runLogLines(fixtureLines('accept-peer')).flows.find((fl) => fl.op === 'accept') as Flow), local_addr: '127.0.0.1', local_port: 8080, community_id: '1:abc=' }));
    expect(ecs(live)).toMatchObject({ source: { ip: live.remote_addr, port: live.remote_port }, destination: { ip: '127.0.0.1', port: 8080 }, network: { community_id: '1:abc=' } });
  });

  it("gives the remote end's DNS name to the destination of an egress flow and to the source of an ingress one, in ECS and OCSF", () => {
    const connect = { ...flowOf('connect-tcp4-ok', (flow) => flow.op === 'connect'), remote_name: 'files.example.test', remote_cname: 'edge.cdn.example.test' };
    const accept = { ...flowOf('accept-peer', (flow) => flow.op === 'accept'), remote_name: 'client.example.test' };
    expect(ecs(connect)).toMatchObject({ destination: { domain: 'files.example.test' }, auditflow: { remote_cname: 'edge.cdn.example.test' } });
    expect(ecs(connect)).not.toHaveProperty('source.domain');
    expect(ecs(accept)).toMatchObject({ source: { domain: 'client.example.test' } });
    expect(ocsf(connect)).toMatchObject({ dst_endpoint: { hostname: 'files.example.test' } });
    expect(ocsf(accept)).toMatchObject({ src_endpoint: { hostname: 'client.example.test' } });
  });

  it('maps UDP sends, a bind (destination, direction unknown) and a refused and an in-progress connect', () => {
    expect(ecs(flowOf('sendto-udp6', (flow) => flow.op === 'sendto'))).toMatchObject({ network: { transport: 'udp', iana_number: '17', type: 'ipv6', direction: 'egress' }, event: { type: ['connection'] } });
    expect(ecs(flowOf('sendmsg-name', (flow) => flow.op === 'sendmsg'))).toMatchObject({ network: { transport: 'udp' }, event: { action: 'sendmsg' } });
    const bind = flowOf('bind-ipv4', (flow) => flow.op === 'bind');
    expect(ecs(bind)).toMatchObject({ destination: { ip: '127.0.0.1', port: bind.local_port }, network: { direction: 'unknown' }, event: { type: ['info'] } });
    expect(ecs(bind)).not.toHaveProperty('source');
    const refused = ecs(flowOf('connect-tcp4-refused', (flow) => flow.op === 'connect'));
    expect(refused).toMatchObject({ event: { outcome: 'failure' }, error: { code: 'ECONNREFUSED' }, destination: { ip: '127.0.0.1', port: 9 } });
    const pending = ecs(flowOf('connect-tcp4-nonblock', (flow) => flow.op === 'connect'));
    expect(pending).toMatchObject({ event: { outcome: 'unknown' } });
    expect(pending).not.toHaveProperty('error');
  });

  it('keeps an AF_UNIX path out of the IP fields', () => {
    const e = ecs(flowOf('unix-ignored', (flow) => flow.family === 'unix', 'all'));
    expect(e).not.toHaveProperty('source');
    expect(e).not.toHaveProperty('destination');
    expect(e).not.toHaveProperty('network.type');
    expect((e.auditflow as Record<string, unknown>).remote_addr).toEqual(expect.any(String));
  });

  it('maps a flow whose process was gone, with a container and labels, and an IPv4-mapped address', () => {
    const base = runLogLines(fixtureLines('connect-ipv4-mapped')).flows.find((flow) => flow.op === 'connect') as Flow;
    const gone = fromStream(encoder.entry({ ...base, proc_gone: true, container_id: 'c'.repeat(64), container_runtime: 'docker', pod_uid: 'pod-1', labels: ['web'], unit: null, argv_truncated: true }));
    expect(ecs(gone)).toMatchObject({
      container: { id: 'c'.repeat(64), runtime: 'docker' },
      tags: ['web'],
      network: { type: 'ipv4' },
      auditflow: { proc_gone: true, pod_uid: 'pod-1', argv_truncated: true, ipv4_mapped: true, family: 'inet6' },
    });
    expect(ecs(gone)).not.toHaveProperty('process.working_directory');
  });

  it('maps loss and lifecycle entries', () => {
    const loss = fromStream(lossEntry({ reason: 'serial_gap', count: 3, firstTs: 1795252599301, lastTs: 1795252600301, host: 'web-1', firstSerial: 10, lastSerial: 12 }));
    expect(ecs(loss)).toEqual({
      '@timestamp': iso(1795252599301),
      ecs: { version: '8.17.0' },
      event: { kind: 'event', type: ['info'], action: 'loss', outcome: 'failure', reason: 'serial_gap', id: loss.id, start: iso(1795252599301), end: iso(1795252600301), module: 'auditflow', dataset: 'auditflow.loss' },
      message: '3 lost: serial_gap',
      host: { name: 'web-1', boot: { id: BOOT } },
      auditflow: { v: 1, seq: loss.seq, loss: { count: 3, first_serial: 10, last_serial: 12 } },
    });
    const stop = fromStream(lifecycleEntry({ event: 'stop', host: 'web-1', ts: 1795252599301, version: '0.1.0', pid: 4242, reason: 'SIGTERM' }));
    expect(ecs(stop)).toMatchObject({ event: { category: ['process'], type: ['end'], action: 'stop', reason: 'SIGTERM' }, service: { name: 'auditflow', version: '0.1.0' }, process: { pid: 4242 } });
  });
});

describe('--format ocsf (OCSF 1.3.0)', () => {
  it('maps a TCP connect to Network Activity: Open, with endpoints, connection info, the actor and metadata', () => {
    const f = flowOf('connect-tcp4-ok', (flow) => flow.op === 'connect');
    const o = ocsf(f);
    expect(o).toMatchObject({
      class_uid: 4001,
      category_uid: 4,
      activity_id: 1,
      activity_name: 'Open',
      type_uid: 400101,
      severity_id: 1,
      time: f.ts,
      start_time: f.first_ts,
      end_time: f.last_ts,
      count: 1,
      status_id: 1,
      status: 'Success',
      dst_endpoint: { ip: f.remote_addr, port: f.remote_port },
      connection_info: { protocol_name: 'tcp', protocol_num: 6, protocol_ver_id: 4, direction_id: 2, direction: 'Outbound' },
      actor: {
        process: { pid: f.pid, name: f.comm, file: { path: f.exe, name: (f.exe as string).split('/').pop(), type_id: 1 }, cmd_line: (f.argv as string[]).join(' '), parent_process: { pid: f.ppid } },
        user: { uid: String(f.uid) },
      },
      device: { hostname: 'web-1', type_id: 0 },
      metadata: { uid: f.id, version: '1.3.0', product: { name: 'auditflow', vendor_name: 'auditflow' } },
      unmapped: { serial: f.serial, op: 'connect', syscall: 'connect', argv: f.argv, euid: f.euid, auid: f.auid, boot_id: BOOT },
    });
    expect(o).not.toHaveProperty('status_code');
  });

  it('maps activities from op and result: refuse, fail, traffic, other; and an IPv6 accept as inbound', () => {
    expect(ocsf(flowOf('connect-tcp4-refused', (flow) => flow.op === 'connect'))).toMatchObject({ activity_id: 5, activity_name: 'Refuse', type_uid: 400105, status_id: 2, status_code: 'ECONNREFUSED' });
    const unreachable = runLogLines(fixtureLines('connect-tcp4-refused')).flows[0] as Flow;
    expect(ocsf(fromStream(encoder.entry({ ...unreachable, result: 'ENETUNREACH' })))).toMatchObject({ activity_id: 4, activity_name: 'Fail', status_code: 'ENETUNREACH' });
    expect(ocsf(flowOf('connect-tcp6-nonblock', (flow) => flow.op === 'connect'))).toMatchObject({ activity_id: 1, status_id: 0, status: 'Unknown', connection_info: { protocol_ver_id: 6 } });
    expect(ocsf(flowOf('sendto-udp4', (flow) => flow.op === 'sendto'))).toMatchObject({ activity_id: 6, activity_name: 'Traffic', connection_info: { protocol_name: 'udp', protocol_num: 17 } });
    const bind = ocsf(flowOf('bind-ipv6', (flow) => flow.op === 'bind'));
    expect(bind).toMatchObject({ activity_id: 99, activity_name: 'Other', type_uid: 400199, dst_endpoint: { ip: '::1' }, connection_info: { direction_id: 0, direction: 'Unknown' } });
    const accept = flowOf('accept6-peer', (flow) => flow.op === 'accept');
    expect(ocsf(accept)).toMatchObject({ activity_id: 1, src_endpoint: { ip: accept.remote_addr, port: accept.remote_port }, connection_info: { direction_id: 1, direction: 'Inbound', protocol_ver_id: 6 } });
  });

  it('maps a flow whose process was gone, in a container, with its parent', () => {
    const base = runLogLines(fixtureLines('connect-tcp4-ok')).flows.find((flow) => flow.op === 'connect') as Flow;
    const f = fromStream(encoder.entry({ ...base, proc_gone: true, container_id: 'd'.repeat(64), container_runtime: 'containerd', pod_uid: 'pod-2', parent_exe: '/usr/bin/bash', parent_argv: ['bash', '-c', 'x'], proc_start: 1795252590000 }));
    expect(ocsf(f)).toMatchObject({
      actor: {
        process: {
          created_time: 1795252590000,
          container: { uid: 'd'.repeat(64), runtime: 'containerd', pod_uuid: 'pod-2' },
          parent_process: { pid: f.ppid, file: { path: '/usr/bin/bash', name: 'bash', type_id: 1 }, cmd_line: 'bash -c x' },
        },
      },
      unmapped: { proc_gone: true },
    });
  });

  it('maps a loss entry to a Base Event and a stop to Application Lifecycle: Stop', () => {
    const loss = fromStream(lossEntry({ reason: 'spool_full', count: 7, firstTs: 1000, lastTs: 2000, host: 'web-1', detail: 'x' }));
    expect(ocsf(loss)).toEqual({
      class_uid: 0,
      class_name: 'Base Event',
      category_uid: 0,
      category_name: 'Uncategorized',
      activity_id: 99,
      activity_name: 'Other',
      type_uid: 99,
      severity_id: 3,
      severity: 'Medium',
      time: 1000,
      start_time: 1000,
      end_time: 2000,
      count: 7,
      status_id: 2,
      status: 'Failure',
      status_code: 'spool_full',
      message: '7 lost: spool_full',
      device: { hostname: 'web-1', type_id: 0 },
      metadata: { uid: loss.id, version: '1.3.0', product: { name: 'auditflow', vendor_name: 'auditflow' } },
      unmapped: { v: 1, boot_id: BOOT, seq: loss.seq, reason: 'spool_full', detail: 'x' },
    });
    const stop = fromStream(lifecycleEntry({ event: 'stop', host: 'web-1', ts: 5, version: '0.1.0', pid: 42 }));
    expect(ocsf(stop)).toMatchObject({ class_uid: 6002, category_uid: 6, activity_id: 4, type_uid: 600204, time: 5, app: { name: 'auditflow', version: '0.1.0' }, actor: { process: { pid: 42 } } });
    expect(ocsf(fromStream(lifecycleEntry({ event: 'start', host: 'h', ts: 5, version: '0.1.0', pid: 42 })))).toMatchObject({ activity_id: 3, activity_name: 'Start' });
  });
});

describe('packets, io_uring operations and receives', () => {
  it('maps a packet a netfilter rule logged: no process, ends by direction, its mark; a forwarded one dropped', () => {
    const packet = flowOf('netfilter-connect-tcp4-ok', (flow) => flow.op === 'packet' && flow.direction === 'egress');
    const e = ecs(packet);
    expect(e).toMatchObject({ event: { action: 'packet', type: ['connection', 'start'], outcome: 'unknown' }, source: { ip: '127.0.0.1' }, destination: { ip: '127.0.0.1' }, network: { transport: 'tcp', direction: 'egress' }, auditflow: { source: 'netfilter', mark: 0 } });
    expect(e).not.toHaveProperty('process');
    expect(e).not.toHaveProperty('source.port');
    expect(ocsf(packet)).toMatchObject({ activity_id: 1, status_id: 0, status: 'Unknown', src_endpoint: { ip: '127.0.0.1' }, unmapped: { source: 'netfilter', mark: 0, op: 'packet' } });
    expect(ocsf(packet)).not.toHaveProperty('actor');

    const base = runLogLines(fixtureLines('netfilter-connect-tcp4-ok')).flows.find((flow) => flow.op === 'packet') as Flow;
    const forwarded = fromStream(encoder.entry({ ...base, direction: 'forward', result: 'drop', local_addr: '10.0.0.2', remote_addr: '10.0.0.3', in_if: 'eth0', out_if: 'eth1' }));
    expect(ecs(forwarded)).toMatchObject({
      event: { type: ['connection', 'start', 'denied'], outcome: 'failure' },
      source: { ip: '10.0.0.2' },
      destination: { ip: '10.0.0.3' },
      network: { direction: 'unknown' },
      observer: { ingress: { interface: { name: 'eth0' } }, egress: { interface: { name: 'eth1' } } },
    });
    expect(ecs(forwarded)).not.toHaveProperty('error');
    expect(ocsf(forwarded)).toMatchObject({ activity_id: 4, status_id: 2, status_code: 'drop', connection_info: { direction_id: 99, direction: 'Forward' }, unmapped: { in_if: 'eth0', out_if: 'eth1' } });
    const rejected = fromStream(encoder.entry({ ...base, result: 'reject' }));
    expect(ocsf(rejected)).toMatchObject({ activity_id: 5, activity_name: 'Refuse' });
    const accepted = fromStream(encoder.entry({ ...base, result: 'accept' }));
    expect(ecs(accepted)).toMatchObject({ event: { type: ['connection', 'start', 'allowed'], outcome: 'success' } });
    expect(ocsf(accepted)).toMatchObject({ activity_id: 1, status_id: 1 });
  });

  it('maps an io_uring connect whose outcome the record does not carry as unknown, not failed', () => {
    const f = flowOf('uring-connect-refused', (flow) => flow.via === 'io_uring');
    expect(f.result).toBe('unknown');
    expect(ecs(f)).toMatchObject({ event: { action: 'connect', outcome: 'unknown' }, auditflow: { via: 'io_uring', uring_op: 'connect' } });
    expect(ecs(f)).not.toHaveProperty('error');
    expect(ocsf(f)).toMatchObject({ activity_id: 1, status_id: 0, unmapped: { via: 'io_uring', uring_op: 'connect' } });
  });

  it('maps a UDP receive as ingress traffic from its sender', () => {
    const f = flowOf('recvmsg-udp6', (flow) => flow.op === 'recvmsg');
    expect(ecs(f)).toMatchObject({ event: { type: ['connection'], action: 'recvmsg' }, source: { ip: '::1', port: f.remote_port }, network: { direction: 'ingress', transport: 'udp', type: 'ipv6' } });
    expect(ocsf(flowOf('recvfrom-udp4', (flow) => flow.op === 'recvfrom'))).toMatchObject({ activity_id: 6, connection_info: { direction_id: 1, protocol_ver_id: 4 }, src_endpoint: { ip: '127.0.0.1' } });
  });
});

describe('every native field reaches every format', () => {
  const uses = (rows: ReadonlyArray<Row<never>>): Set<string> => new Set(rows.flatMap((row) => row.uses));
  const ENVELOPE = ['id', 'boot_id', 'seq', 'host'];

  it('flows, loss and lifecycle entries: each field is read by at least one row of ECS and of OCSF', () => {
    const cases: Array<[string[], ReadonlyArray<Row<never>>]> = [
      [Object.keys(FLOW_FIELDS), ECS_FLOW_ROWS as ReadonlyArray<Row<never>>],
      [Object.keys(FLOW_FIELDS), OCSF_FLOW_ROWS as ReadonlyArray<Row<never>>],
      [Object.keys(LOSS_FIELDS), ECS_LOSS_ROWS as ReadonlyArray<Row<never>>],
      [Object.keys(LOSS_FIELDS), OCSF_LOSS_ROWS as ReadonlyArray<Row<never>>],
      [Object.keys(LIFECYCLE_FIELDS), ECS_LIFECYCLE_ROWS as ReadonlyArray<Row<never>>],
      [Object.keys(LIFECYCLE_FIELDS), OCSF_LIFECYCLE_ROWS as ReadonlyArray<Row<never>>],
    ];
    for (const [fields, rows] of cases) {
      const read = uses(rows);
      // `kind` is what picks the mapping; the class and event fields say it.
      expect([...fields, ...ENVELOPE].filter((name) => name !== 'kind' && !read.has(name))).toEqual([]);
    }
  });

  it('no two rows write the same target field', () => {
    for (const rows of [ECS_FLOW_ROWS, OCSF_FLOW_ROWS, ECS_LOSS_ROWS, OCSF_LOSS_ROWS, ECS_LIFECYCLE_ROWS, OCSF_LIFECYCLE_ROWS] as Array<ReadonlyArray<Row<never>>>) {
      const targets = rows.map((row) => row.to);
      expect(targets.filter((to, i) => targets.indexOf(to) !== i)).toEqual([]);
    }
  });

  it('gives a field no row reads a row of its own under the namespace, so a new schema field needs no mapping line', () => {
    const rows = withRest<Record<string, unknown>>([copy('a.b', 'x')], { x: text('read'), kind: text('the kind'), y: integerOrNull('new') }, 'ns');
    expect(rows.map((row) => row.to)).toEqual(['a.b', 'ns.id', 'ns.boot_id', 'ns.seq', 'ns.host', 'ns.y']);
    expect(applyRows(rows, { x: 's', y: 4, seq: 2, host: null })).toEqual({ a: { b: 's' }, ns: { seq: 2, y: 4 } });
  });

  it('prints an entry of a kind it does not know as it is', () => {
    const future = typedEntry({ kind: 'future', a: 'b' });
    expect(formatEntry(future, 'ecs')).toEqual(future);
    expect(formatEntry(future, 'ocsf')).toEqual(future);
  });
});
