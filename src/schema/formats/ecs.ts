// Entries in Elastic Common Schema 8.17 field names (https://www.elastic.co/guide/en/ecs/8.17/):
// a flow is an event of category `network`; the ends become source/destination by direction, the
// process and user fields their ECS names. What ECS has no field for goes under `auditflow.*`, ECS's
// advice for custom fields, so nothing of the native entry is lost.
import { FLOW_FIELDS, LIFECYCLE_FIELDS, LOSS_FIELDS, type Flow } from '../entries.js';
import { applyRows, asText, commandLine, constant, copy, errnoOf, flowEnds, ipVersion, isoTime, outcomeOf, type FlowEntry, type LifecycleEntry, type LossEntry, type Row, withRest } from './mapping.js';

export const ECS_VERSION = '8.17.0';

/**
 * ECS `event.type` by op: connect and accept start a connection, and so does the packet a netfilter
 * rule logs (the first of a new connection); a send or receive is part of one; a bind is none yet.
 */
const EVENT_TYPE: Record<Flow['op'], string[]> = {
  connect: ['connection', 'start'],
  accept: ['connection', 'start'],
  packet: ['connection', 'start'],
  sendto: ['connection'],
  sendmsg: ['connection'],
  recvfrom: ['connection'],
  recvmsg: ['connection'],
  bind: ['info'],
  close: ['connection', 'end'],
  existing: ['connection', 'info'],
};

/** A packet's netfilter action as ECS's `allowed` / `denied` event type. */
const VERDICT: Record<string, string> = { accept: 'allowed', drop: 'denied', reject: 'denied' };

function eventType(flow: FlowEntry): string[] | undefined {
  const types = EVENT_TYPE[flow.op];
  const verdict = flow.op === 'packet' && flow.result !== null ? VERDICT[flow.result] : undefined;
  return types === undefined || verdict === undefined ? types : [...types, verdict];
}

/** ECS network.direction, host-based: ingress or egress; a bind says nothing of which way traffic will go, ECS has no host-based word for a forwarded packet, and a close whose opener was not seen does not say. */
const DIRECTION: Record<Flow['direction'], string> = { egress: 'egress', ingress: 'ingress', listen: 'unknown', forward: 'unknown', unknown: 'unknown' };

const nonEmpty = (list: unknown): unknown[] | undefined => (Array.isArray(list) && list.length > 0 ? list : undefined);

const custom = <E>(name: keyof E & string): Row<E> => copy<E>(`auditflow.${name}`, name);

export const ECS_FLOW_ROWS = withRest<FlowEntry>(
  [
    { to: '@timestamp', uses: ['ts'], how: 'ISO 8601', value: (f) => isoTime(f.ts) },
    constant('ecs.version', ECS_VERSION),
    constant('event.kind', 'event'),
    constant('event.category', ['network']),
    {
      to: 'event.type',
      uses: ['op', 'result'],
      how: 'connect, accept, packet: `["connection","start"]`, a packet also `allowed` (accept) or `denied` (drop, reject); sendto, sendmsg, recvfrom, recvmsg: `["connection"]`; bind: `["info"]`; close: `["connection","end"]`; existing: `["connection","info"]`',
      value: eventType,
    },
    copy('event.action', 'op'),
    { to: 'event.outcome', uses: ['result'], how: '`ok`, a packet accepted: success; an errno, a packet dropped or rejected: failure; `inprogress`, `unknown`, null: unknown', value: (f) => outcomeOf(f.result) },
    copy('event.id', 'id'),
    copy('event.sequence', 'serial'),
    { to: 'event.start', uses: ['first_ts'], how: 'ISO 8601', value: (f) => isoTime(f.first_ts) },
    { to: 'event.end', uses: ['last_ts'], how: 'ISO 8601', value: (f) => isoTime(f.last_ts) },
    constant('event.module', 'auditflow'),
    constant('event.dataset', 'auditflow.flow'),
    { to: 'error.code', uses: ['result'], how: 'the errno name, when the call failed', value: (f) => errnoOf(f.result) },
    { to: 'source.ip', uses: ['direction', 'local_addr', 'remote_addr'], how: 'egress: local end; ingress: remote end; inet/inet6 only', value: (f) => flowEnds(f).source?.addr },
    { to: 'source.port', uses: ['direction', 'local_port', 'remote_port'], how: 'as `source.ip`', value: (f) => flowEnds(f).source?.port },
    { to: 'destination.ip', uses: ['direction', 'local_addr', 'remote_addr'], how: 'egress: remote end; ingress and listen: local end', value: (f) => flowEnds(f).destination?.addr },
    { to: 'destination.port', uses: ['direction', 'local_port', 'remote_port'], how: 'as `destination.ip`', value: (f) => flowEnds(f).destination?.port },
    { to: 'source.domain', uses: ['direction', 'remote_name'], how: "ingress: the remote end's DNS name", value: (f) => (f.direction === 'ingress' ? (f.remote_name ?? undefined) : undefined) },
    { to: 'destination.domain', uses: ['direction', 'remote_name'], how: "egress, forward: the remote end's DNS name", value: (f) => (f.direction === 'egress' || f.direction === 'forward' ? (f.remote_name ?? undefined) : undefined) },
    { to: 'network.type', uses: ['family', 'ipv4_mapped'], how: '`ipv4` or `ipv6`, as the addresses are written', value: (f) => (ipVersion(f) === undefined ? undefined : `ipv${ipVersion(f)}`) },
    copy('network.transport', 'proto'),
    { to: 'network.iana_number', uses: ['proto_num'], how: 'as text', value: (f) => asText(f.proto_num) },
    { to: 'network.direction', uses: ['direction'], how: 'egress, ingress; listen, forward: unknown', value: (f) => DIRECTION[f.direction] },
    copy('network.community_id', 'community_id'),
    copy('observer.ingress.interface.name', 'in_if'),
    copy('observer.egress.interface.name', 'out_if'),
    copy('process.pid', 'pid'),
    copy('process.name', 'comm'),
    copy('process.executable', 'exe'),
    { to: 'process.args', uses: ['argv'], how: 'left out when empty (a packet)', value: (f) => nonEmpty(f.argv) },
    { to: 'process.args_count', uses: ['argv'], how: 'its length, likewise', value: (f) => nonEmpty(f.argv)?.length },
    { to: 'process.command_line', uses: ['argv'], how: 'joined by spaces', value: (f) => commandLine(f.argv) },
    copy('process.working_directory', 'cwd'),
    { to: 'process.start', uses: ['proc_start'], how: 'ISO 8601', value: (f) => isoTime(f.proc_start) },
    copy('process.parent.pid', 'ppid'),
    copy('process.parent.name', 'parent_comm'),
    copy('process.parent.executable', 'parent_exe'),
    copy('process.parent.args', 'parent_argv'),
    { to: 'user.id', uses: ['uid'], how: 'as text', value: (f) => asText(f.uid) },
    copy('user.name', 'user'),
    { to: 'user.effective.id', uses: ['euid'], how: 'as text', value: (f) => asText(f.euid) },
    copy('user.effective.name', 'euser'),
    { to: 'group.id', uses: ['gid'], how: 'as text', value: (f) => asText(f.gid) },
    copy('group.name', 'group'),
    copy('container.id', 'container_id'),
    copy('container.runtime', 'container_runtime'),
    { to: 'host.name', uses: ['node', 'host'], how: '`node` (the log line\'s host) if set, else `host`', value: (f) => f.node ?? f.host },
    copy('host.boot.id', 'boot_id'),
    copy('rule.name', 'key'),
    { to: 'tags', uses: ['labels'], how: 'left out when empty', value: (f) => nonEmpty(f.labels) },
    custom('family'),
    custom('ipv4_mapped'),
    { to: 'auditflow.remote_addr', uses: ['family', 'remote_addr'], how: 'families other than inet/inet6 (an AF_UNIX path)', value: (f) => (ipVersion(f) === undefined ? f.remote_addr : undefined) },
  ],
  FLOW_FIELDS,
  'auditflow',
);

export const ECS_LOSS_ROWS = withRest<LossEntry>(
  [
    { to: '@timestamp', uses: ['first_ts'], how: 'ISO 8601', value: (l) => isoTime(l.first_ts) },
    constant('ecs.version', ECS_VERSION),
    constant('event.kind', 'event'),
    constant('event.type', ['info']),
    constant('event.action', 'loss'),
    constant('event.outcome', 'failure'),
    copy('event.reason', 'reason'),
    copy('event.id', 'id'),
    { to: 'event.start', uses: ['first_ts'], how: 'ISO 8601', value: (l) => isoTime(l.first_ts) },
    { to: 'event.end', uses: ['last_ts'], how: 'ISO 8601', value: (l) => isoTime(l.last_ts) },
    constant('event.module', 'auditflow'),
    constant('event.dataset', 'auditflow.loss'),
    { to: 'message', uses: ['count', 'reason'], how: '`<count> lost: <reason>`', value: (l) => `${l.count} lost: ${l.reason}` },
    copy('host.name', 'host'),
    copy('host.boot.id', 'boot_id'),
    copy('auditflow.loss.count', 'count'),
    copy('auditflow.loss.first_serial', 'first_serial'),
    copy('auditflow.loss.last_serial', 'last_serial'),
    copy('auditflow.loss.detail', 'detail'),
  ],
  LOSS_FIELDS,
  'auditflow',
);

export const ECS_LIFECYCLE_ROWS = withRest<LifecycleEntry>(
  [
    { to: '@timestamp', uses: ['ts'], how: 'ISO 8601', value: (e) => isoTime(e.ts) },
    constant('ecs.version', ECS_VERSION),
    constant('event.kind', 'event'),
    constant('event.category', ['process']),
    { to: 'event.type', uses: ['event'], how: 'start: `["start"]`; stop: `["end"]`', value: (e) => [e.event === 'stop' ? 'end' : 'start'] },
    copy('event.action', 'event'),
    copy('event.reason', 'reason'),
    copy('event.id', 'id'),
    constant('event.module', 'auditflow'),
    constant('event.dataset', 'auditflow.lifecycle'),
    constant('service.name', 'auditflow'),
    copy('service.version', 'version'),
    copy('process.pid', 'pid'),
    copy('host.name', 'host'),
    copy('host.boot.id', 'boot_id'),
  ],
  LIFECYCLE_FIELDS,
  'auditflow',
);

export const ecsFlow = (flow: FlowEntry): Record<string, unknown> => applyRows(ECS_FLOW_ROWS, flow);
export const ecsLoss = (loss: LossEntry): Record<string, unknown> => applyRows(ECS_LOSS_ROWS, loss);
export const ecsLifecycle = (event: LifecycleEntry): Record<string, unknown> => applyRows(ECS_LIFECYCLE_ROWS, event);
