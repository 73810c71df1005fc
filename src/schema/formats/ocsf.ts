// Entries as OCSF 1.3.0 events (https://schema.ocsf.io/1.3.0/): a flow is a Network Activity event
// (class_uid 4001, category_uid 4), its activity from the op and the result; the daemon's start and
// stop are Application Lifecycle events (6002); a loss report, for which OCSF has no class, is a Base
// Event (class_uid 0) with the count and time range. What OCSF has no attribute for goes into
// `unmapped`, the base event's place for it, so nothing of the native entry is lost.
import { FLOW_FIELDS, LIFECYCLE_FIELDS, LOSS_FIELDS } from '../entries.js';
import { applyRows, asText, baseName, commandLine, constant, copy, flowEnds, ipVersion, outcomeOf, type FlowEntry, type Outcome, type LifecycleEntry, type LossEntry, type Row, withRest } from './mapping.js';

export const OCSF_VERSION = '1.3.0';

const PRODUCT = { name: 'auditflow', vendor_name: 'auditflow' };

/** Network Activity activity_id (OCSF 1.3.0): 1 Open, 2 Close, 4 Fail, 5 Refuse, 6 Traffic, 99 Other. */
export const ACTIVITY = { open: 1, close: 2, fail: 4, refuse: 5, traffic: 6, other: 99 } as const;
const ACTIVITY_NAME: Record<number, string> = { 1: 'Open', 2: 'Close', 4: 'Fail', 5: 'Refuse', 6: 'Traffic', 99: 'Other' };

/**
 * connect and accept open a connection, or fail (ECONNREFUSED: refused); a non-blocking connect in
 * progress, and an io_uring one whose outcome is not known, is an open. So is the packet a netfilter
 * rule logs (the first of a new connection), unless it was rejected (refuse) or dropped (fail). A send
 * or a receive is traffic (a failed one too: status says so); a close entry is a Close. OCSF 1.3.0 has
 * no activity for a bind, nor for a connection found open at start: Other.
 */
const ACTIVITY_OF: Record<FlowEntry['op'], (result: string | null) => number> = {
  connect: connectActivity,
  accept: connectActivity,
  packet: (result) => (result === 'reject' ? ACTIVITY.refuse : result === 'drop' ? ACTIVITY.fail : ACTIVITY.open),
  sendto: () => ACTIVITY.traffic,
  sendmsg: () => ACTIVITY.traffic,
  recvfrom: () => ACTIVITY.traffic,
  recvmsg: () => ACTIVITY.traffic,
  bind: () => ACTIVITY.other,
  close: () => ACTIVITY.close,
  existing: () => ACTIVITY.other,
};

function connectActivity(result: string | null): number {
  if (outcomeOf(result) !== 'failure') return ACTIVITY.open;
  return result === 'ECONNREFUSED' ? ACTIVITY.refuse : ACTIVITY.fail;
}

export const activityId = (flow: Pick<FlowEntry, 'op' | 'result'>): number => ACTIVITY_OF[flow.op]?.(flow.result) ?? ACTIVITY.other;

/** status_id: 1 Success, 2 Failure, 0 Unknown (a connect in progress, an io_uring outcome not known, a packet without action). */
const STATUS_ID: Record<Outcome, number> = { success: 1, failure: 2, unknown: 0 };
const statusId = (result: string | null): number => STATUS_ID[outcomeOf(result)];
const STATUS = ['Unknown', 'Success', 'Failure'];

/** connection_info.direction_id: 1 Inbound, 2 Outbound, 0 Unknown (a bind, a close whose opener was not seen), 99 Other (a forwarded packet, `direction` says so). */
const DIRECTION_ID: Record<FlowEntry['direction'], number> = { ingress: 1, egress: 2, listen: 0, forward: 99, unknown: 0 };
const DIRECTION_NAME: Record<number, string> = { 0: 'Unknown', 1: 'Inbound', 2: 'Outbound', 99: 'Forward' };

const unmapped = <E>(name: keyof E & string): Row<E> => copy<E>(`unmapped.${name}`, name);

export const OCSF_FLOW_ROWS = withRest<FlowEntry>(
  [
    constant('class_uid', 4001),
    constant('class_name', 'Network Activity'),
    constant('category_uid', 4),
    constant('category_name', 'Network Activity'),
    {
      to: 'activity_id',
      uses: ['op', 'result'],
      how: 'connect, accept: 1 Open (ok, inprogress, unknown), 5 Refuse (ECONNREFUSED), 4 Fail (another errno); packet: 1 Open, 5 Refuse (reject), 4 Fail (drop); sendto, sendmsg, recvfrom, recvmsg: 6 Traffic; close: 2 Close; bind, existing: 99 Other',
      value: activityId,
    },
    { to: 'activity_name', uses: ['op', 'result'], how: 'the name of `activity_id`', value: (f) => ACTIVITY_NAME[activityId(f)] },
    { to: 'type_uid', uses: ['op', 'result'], how: '`class_uid` × 100 + `activity_id`', value: (f) => 400100 + activityId(f) },
    constant('severity_id', 1),
    constant('severity', 'Informational'),
    { to: 'time', uses: ['ts'], how: 'ms since the epoch', value: (f) => f.ts },
    copy('start_time', 'first_ts'),
    copy('end_time', 'last_ts'),
    copy('count', 'count'),
    { to: 'status_id', uses: ['result'], how: '`ok`, a packet accepted: 1 Success; an errno, a packet dropped or rejected: 2 Failure; `inprogress`, `unknown`, null: 0 Unknown', value: (f) => statusId(f.result) },
    { to: 'status', uses: ['result'], how: 'the name of `status_id`', value: (f) => STATUS[statusId(f.result)] },
    { to: 'status_code', uses: ['result'], how: 'the errno name, or the packet\'s action, when it failed', value: (f) => (statusId(f.result) === 2 ? f.result : undefined) },
    { to: 'src_endpoint.ip', uses: ['direction', 'local_addr', 'remote_addr'], how: 'egress: local end; ingress: remote end; inet/inet6 only', value: (f) => flowEnds(f).source?.addr },
    { to: 'src_endpoint.port', uses: ['direction', 'local_port', 'remote_port'], how: 'as `src_endpoint.ip`', value: (f) => flowEnds(f).source?.port },
    { to: 'dst_endpoint.ip', uses: ['direction', 'local_addr', 'remote_addr'], how: 'egress: remote end; ingress and listen: local end', value: (f) => flowEnds(f).destination?.addr },
    { to: 'dst_endpoint.port', uses: ['direction', 'local_port', 'remote_port'], how: 'as `dst_endpoint.ip`', value: (f) => flowEnds(f).destination?.port },
    { to: 'src_endpoint.hostname', uses: ['direction', 'remote_name'], how: "ingress: the remote end's DNS name", value: (f) => (f.direction === 'ingress' ? (f.remote_name ?? undefined) : undefined) },
    { to: 'dst_endpoint.hostname', uses: ['direction', 'remote_name'], how: "egress, forward: the remote end's DNS name", value: (f) => (f.direction === 'egress' || f.direction === 'forward' ? (f.remote_name ?? undefined) : undefined) },
    copy('connection_info.protocol_name', 'proto'),
    copy('connection_info.protocol_num', 'proto_num'),
    { to: 'connection_info.protocol_ver_id', uses: ['family', 'ipv4_mapped'], how: '4 or 6, as the addresses are written', value: ipVersion },
    { to: 'connection_info.direction_id', uses: ['direction'], how: 'ingress: 1 Inbound; egress: 2 Outbound; listen: 0 Unknown; forward: 99 Other', value: (f) => DIRECTION_ID[f.direction] },
    { to: 'connection_info.direction', uses: ['direction'], how: 'the name of `direction_id` (`Forward` for 99)', value: (f) => DIRECTION_NAME[DIRECTION_ID[f.direction] ?? 0] },
    copy('connection_info.community_uid', 'community_id'),
    copy('actor.process.pid', 'pid'),
    copy('actor.process.name', 'comm'),
    copy('actor.process.file.path', 'exe'),
    { to: 'actor.process.file.name', uses: ['exe'], how: 'its last part', value: (f) => baseName(f.exe) },
    { to: 'actor.process.file.type_id', uses: ['exe'], how: '1 Regular File, when `exe` is known', value: (f) => (f.exe === null ? undefined : 1) },
    { to: 'actor.process.cmd_line', uses: ['argv'], how: 'joined by spaces', value: (f) => commandLine(f.argv) },
    copy('actor.process.created_time', 'proc_start'),
    copy('actor.process.parent_process.pid', 'ppid'),
    copy('actor.process.parent_process.name', 'parent_comm'),
    copy('actor.process.parent_process.file.path', 'parent_exe'),
    { to: 'actor.process.parent_process.file.name', uses: ['parent_exe'], how: 'its last part', value: (f) => baseName(f.parent_exe) },
    { to: 'actor.process.parent_process.file.type_id', uses: ['parent_exe'], how: '1 Regular File, when `parent_exe` is known', value: (f) => (f.parent_exe === null ? undefined : 1) },
    { to: 'actor.process.parent_process.cmd_line', uses: ['parent_argv'], how: 'joined by spaces', value: (f) => commandLine(f.parent_argv) },
    copy('actor.process.container.uid', 'container_id'),
    copy('actor.process.container.runtime', 'container_runtime'),
    copy('actor.process.container.pod_uuid', 'pod_uid'),
    { to: 'actor.user.uid', uses: ['uid'], how: 'as text', value: (f) => asText(f.uid) },
    copy('actor.user.name', 'user'),
    { to: 'device.hostname', uses: ['node', 'host'], how: '`node` (the log line\'s host) if set, else `host`', value: (f) => f.node ?? f.host },
    { to: 'device.type_id', uses: ['node', 'host'], how: '0 Unknown, with `device.hostname`', value: (f) => ((f.node ?? f.host ?? undefined) === undefined ? undefined : 0) },
    copy('metadata.uid', 'id'),
    constant('metadata.version', OCSF_VERSION),
    constant('metadata.product', PRODUCT),
    unmapped('op'),
    unmapped('family'),
    unmapped('ipv4_mapped'),
    { to: 'unmapped.remote_addr', uses: ['family', 'remote_addr'], how: 'families other than inet/inet6 (an AF_UNIX path)', value: (f) => (ipVersion(f) === undefined ? f.remote_addr : undefined) },
    unmapped('argv'),
    unmapped('parent_argv'),
  ],
  FLOW_FIELDS,
  'unmapped',
);

export const OCSF_LOSS_ROWS = withRest<LossEntry>(
  [
    constant('class_uid', 0),
    constant('class_name', 'Base Event'),
    constant('category_uid', 0),
    constant('category_name', 'Uncategorized'),
    constant('activity_id', 99),
    constant('activity_name', 'Other'),
    constant('type_uid', 99),
    constant('severity_id', 3),
    constant('severity', 'Medium'),
    copy('time', 'first_ts'),
    copy('start_time', 'first_ts'),
    copy('end_time', 'last_ts'),
    copy('count', 'count'),
    constant('status_id', 2),
    constant('status', 'Failure'),
    copy('status_code', 'reason'),
    { to: 'message', uses: ['count', 'reason'], how: '`<count> lost: <reason>`', value: (l) => `${l.count} lost: ${l.reason}` },
    copy('device.hostname', 'host'),
    { to: 'device.type_id', uses: ['host'], how: '0 Unknown, with `device.hostname`', value: (l) => (l.host === undefined ? undefined : 0) },
    copy('metadata.uid', 'id'),
    constant('metadata.version', OCSF_VERSION),
    constant('metadata.product', PRODUCT),
    unmapped('reason'),
  ],
  LOSS_FIELDS,
  'unmapped',
);

export const OCSF_LIFECYCLE_ROWS = withRest<LifecycleEntry>(
  [
    constant('class_uid', 6002),
    constant('class_name', 'Application Lifecycle'),
    constant('category_uid', 6),
    constant('category_name', 'Application Activity'),
    { to: 'activity_id', uses: ['event'], how: 'start: 3 Start; stop: 4 Stop', value: (e) => (e.event === 'stop' ? 4 : 3) },
    { to: 'activity_name', uses: ['event'], how: 'Start, Stop', value: (e) => (e.event === 'stop' ? 'Stop' : 'Start') },
    { to: 'type_uid', uses: ['event'], how: '600203 or 600204', value: (e) => (e.event === 'stop' ? 600204 : 600203) },
    constant('severity_id', 1),
    constant('severity', 'Informational'),
    copy('time', 'ts'),
    constant('status_id', 1),
    constant('status', 'Success'),
    copy('message', 'reason'),
    constant('app.name', 'auditflow'),
    constant('app.vendor_name', 'auditflow'),
    copy('app.version', 'version'),
    copy('actor.process.pid', 'pid'),
    copy('device.hostname', 'host'),
    { to: 'device.type_id', uses: ['host'], how: '0 Unknown, with `device.hostname`', value: (e) => (e.host === undefined ? undefined : 0) },
    copy('metadata.uid', 'id'),
    constant('metadata.version', OCSF_VERSION),
    constant('metadata.product', PRODUCT),
  ],
  LIFECYCLE_FIELDS,
  'unmapped',
);

export const ocsfFlow = (flow: FlowEntry): Record<string, unknown> => applyRows(OCSF_FLOW_ROWS, flow);
export const ocsfLoss = (loss: LossEntry): Record<string, unknown> => applyRows(OCSF_LOSS_ROWS, loss);
export const ocsfLifecycle = (event: LifecycleEntry): Record<string, unknown> => applyRows(OCSF_LIFECYCLE_ROWS, event);
