// auditflow status: the kernel's audit status for a person, or --json for scripts.
import { AuditControl } from '../audit/control.js';
import { describeProcess } from '../audit/process-info.js';
import { featureNames, type AuditStatus } from '../audit/status.js';

export interface StatusReport {
  status: AuditStatus;
  features: string[];
  rules: number;
  daemon: { pid: number; command: string | null };
}

export async function readStatusReport(control: AuditControl): Promise<StatusReport> {
  const status = await control.status();
  const rules = (await control.listRules()).length;
  return {
    status,
    features: featureNames(status.featureBitmap),
    rules,
    daemon: { pid: status.pid, command: status.pid === 0 ? null : (describeProcess(status.pid) ?? null) },
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
    ['kernel features', report.features.join(', ') || 'none'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

export async function statusCommand(options: { json?: boolean }): Promise<void> {
  const control = AuditControl.open();
  try {
    const report = await readStatusReport(control);
    process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatStatusReport(report));
  } finally {
    await control.close();
  }
}
