// auditflow status: the kernel's audit status, whether the loaded rules are the configured ruleset,
// the running daemon's counters (from its status file) and the Redis stream's length and consumer
// groups; for a person, or --json for scripts.
import { AuditControl } from '../audit/control.js';
import { describeProcess, isProcessAlive } from '../audit/process-info.js';
import { featureNames, type AuditStatus } from '../audit/status.js';
import { loadConfig } from '../daemon/config.js';
import { compileRuleset } from '../daemon/kernel-session.js';
import { redisClient } from '../daemon/open-sink.js';
import type { Settings } from '../daemon/settings.js';
import type { DnsSnapshot } from '../daemon/dns-session.js';
import { readSnapshot, snapshotOwner, type DaemonSnapshot } from '../daemon/snapshot.js';
import { encodeRule, ruleIdentity } from '../rules/index.js';
import { redactRedisUrl, streamKey } from '../sink/index.js';

export interface RulesetReport {
  /** The configured ruleset's files, or the error that keeps it from compiling. */
  files: string[];
  error: string | null;
  configured: number;
  /** Configured rules the kernel does not hold. */
  missing: number;
  matches: boolean;
}

export interface RedisReport {
  url: string;
  stream: string;
  reachable: boolean;
  error: string | null;
  length: number | null;
  groups: Array<{ name: string; consumers: number; pending: number; lag: number | null; lastDeliveredId: string }>;
}

export interface StatusReport {
  status: AuditStatus;
  features: string[];
  rules: number;
  ruleset: RulesetReport;
  daemon: { pid: number; command: string | null };
  /** The auditflow daemon's last snapshot; `running` is false when it stopped or died. */
  auditflow: { running: boolean; snapshot: DaemonSnapshot } | null;
  redis: RedisReport | null;
}

function rulesetReport(settings: Settings, loaded: Buffer[]): RulesetReport {
  try {
    const { files, commands } = compileRuleset(settings.rules);
    const wanted = commands.flatMap((command) => (command.kind === 'add_rule' ? [ruleIdentity(encodeRule(command.rule))] : []));
    const have = new Set(loaded.map((bytes) => ruleIdentity(bytes)));
    const missing = wanted.filter((identity) => !have.has(identity)).length;
    return { files, error: null, configured: wanted.length, missing, matches: missing === 0 };
  } catch (error) {
    return { files: [], error: (error as Error).message, configured: 0, missing: 0, matches: false };
  }
}

async function redisReport(settings: Settings): Promise<RedisReport> {
  const stream = streamKey(settings.stream, settings.host);
  const report: RedisReport = { url: redactRedisUrl(settings.redis_cluster_nodes.length > 0 ? settings.redis_cluster_nodes.join(',') : settings.redis_url), stream, reachable: false, error: null, length: null, groups: [] };
  let client;
  try {
    client = redisClient(settings, { commandTimeoutMs: 2000, connectTimeoutMs: 2000 });
    client.on('error', () => {});
    await client.connect();
    report.reachable = true;
    // One MULTI, so the length and the groups' lag are read at the same moment: the daemon keeps
    // adding entries, and a lag read after the length could exceed it.
    const replies = (await client.multi().xlen(stream).xinfo('GROUPS', stream).exec()) ?? [];
    const [lengthError, length] = replies[0] ?? [new Error('no reply to XLEN'), 0];
    if (lengthError) throw lengthError;
    report.length = Number(length);
    const [groupsError, groups] = replies[1] ?? [null, []];
    // XINFO GROUPS of a stream that does not exist yet is an error reply: no groups.
    if (report.length > 0 && !groupsError) {
      for (const flat of groups as unknown[][]) {
        const info = new Map<string, unknown>();
        for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
        const lag = info.get('lag');
        report.groups.push({
          name: String(info.get('name')),
          consumers: Number(info.get('consumers')),
          pending: Number(info.get('pending')),
          lag: lag === null || lag === undefined ? null : Number(lag),
          lastDeliveredId: String(info.get('last-delivered-id')),
        });
      }
    }
  } catch (error) {
    report.error = (error as Error).message;
  } finally {
    client?.disconnect();
  }
  return report;
}

export async function readStatusReport(control: AuditControl, settings: Settings): Promise<StatusReport> {
  const status = await control.status();
  const loaded = await control.listRules();
  const snapshot = readSnapshot(settings.runtime_dir, snapshotOwner(settings.runtime_dir));
  return {
    status,
    features: featureNames(status.featureBitmap),
    rules: loaded.length,
    ruleset: rulesetReport(settings, loaded),
    daemon: { pid: status.pid, command: status.pid === 0 ? null : (describeProcess(status.pid) ?? null) },
    auditflow: snapshot === undefined ? null : { running: !snapshot.stopped && isProcessAlive(snapshot.pid), snapshot },
    redis: settings.sink === 'redis' ? await redisReport(settings) : null,
  };
}

const ENABLED = ['off', 'on', 'on, immutable until reboot'];
// include/uapi/linux/audit.h AUDIT_FAIL_SILENT, AUDIT_FAIL_PRINTK, AUDIT_FAIL_PANIC
const FAILURE = ['silent', 'printk', 'panic'];

export function formatStatusReport(report: StatusReport): string {
  const { status, daemon } = report;
  const rows: Array<[string, string]> = [
    ['enabled', `${status.enabled} (${ENABLED[status.enabled] ?? 'unknown'})`],
    ['audit daemon', daemon.pid === 0 ? 'none' : `pid ${daemon.pid} (${daemon.command ?? 'exited'})`],
    ['failure action', `${status.failure} (${FAILURE[status.failure] ?? 'unknown'})`],
    ['rate limit', status.rateLimit === 0 ? 'none' : `${status.rateLimit} records/s`],
    ['backlog', `${status.backlog} of ${status.backlogLimit} records`],
    ['backlog wait time', `${status.backlogWaitTime} jiffies${status.backlogWaitTime === 0 ? ' (tasks never wait; records are dropped)' : ''}`],
    ['time tasks waited', `${status.backlogWaitTimeActual} jiffies`],
    ['lost', `${status.lost} records`],
    ['rules loaded', String(report.rules)],
    ['configured ruleset', rulesetLine(report.ruleset)],
    ['kernel features', report.features.join(', ') || 'none'],
    ...auditflowRows(report),
    ...redisRows(report.redis),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

function rulesetLine(ruleset: RulesetReport): string {
  if (ruleset.error !== null) return `does not compile: ${ruleset.error}`;
  const what = `${ruleset.configured} rules (${ruleset.files.join(', ')})`;
  return ruleset.matches ? `${what}, all loaded` : `${what}, ${ruleset.missing} not loaded`;
}

function auditflowRows(report: StatusReport): Array<[string, string]> {
  if (report.auditflow === null) return [['auditflow', 'has not run here (no status file)']];
  const { running, snapshot: s } = report.auditflow;
  const seen = new Date(s.updated).toISOString();
  if (!running) return [['auditflow', `not running (pid ${s.pid} ${s.stopped ? 'stopped' : 'died'}; last seen ${seen})`]];
  const lost = Object.entries(s.losses).map(([reason, count]) => `${reason} ${count}`);
  return [
    ['auditflow', `running, pid ${s.pid}, ${s.mode}, since ${new Date(s.started).toISOString()} (updated ${seen})`],
    ['  records', `${s.pipeline.records} records, ${s.pipeline.events} events, ${s.pipeline.flows} flows`],
    ['  losses', lost.length === 0 ? 'none' : lost.join(', ')],
    ['  sink', `${s.sink} ${s.sinkHealth.state}: ${s.sinkHealth.counters.written} written, ${s.sinkHealth.queued} queued, ${s.sinkHealth.spoolBytes} bytes spooled${s.sinkHealth.lastError ? ` (last error: ${s.sinkHealth.lastError})` : ''}`],
    ['  memory', `${Math.round(s.memory.rss / 1024 / 1024)} MiB resident, ${s.cpuSeconds.toFixed(1)} s CPU`],
    ...(s.dns === undefined ? [] : [['  dns names', dnsLine(s.dns)] as [string, string]]),
  ];
}

function dnsLine(dns: DnsSnapshot): string {
  if (dns.capture !== 'on') return `${dns.capture} (${dns.reason ?? 'no reason given'})`;
  const drops = (dns.reader?.kernelDrops ?? 0) + (dns.reader?.queueDrops ?? 0);
  return `on: ${dns.answers} answers, ${dns.cacheAddresses} addresses cached, ${dns.flowsNamed} flows named, ${drops} packets dropped`;
}

function redisRows(redis: RedisReport | null): Array<[string, string]> {
  if (redis === null) return [];
  if (!redis.reachable) return [['redis', `${redis.url} unreachable (${redis.error ?? 'no answer'})`]];
  const rows: Array<[string, string]> = [['redis', `${redis.url} stream ${redis.stream}: ${redis.length ?? 0} entries`]];
  for (const group of redis.groups) {
    rows.push([`  group ${group.name}`, `${group.consumers} consumers, ${group.pending} pending, lag ${group.lag ?? 'unknown'}, last delivered ${group.lastDeliveredId}`]);
  }
  return rows;
}

export async function statusCommand(options: { json?: boolean; config?: string }): Promise<void> {
  const { settings } = loadConfig({ file: options.config });
  const control = AuditControl.open();
  try {
    const report = await readStatusReport(control, settings);
    process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatStatusReport(report));
  } finally {
    await control.close();
  }
}
