// Runs bench/workload.c and reads what it did.
import type { Mode } from './options.js';
import { spawnGroup } from './processes.js';

export interface WorkloadResult {
  /** Syscalls of the kinds the ruleset watches (socket, bind, connect, accept4, sendto). */
  syscalls: number;
  /** Of those, the ones rules/network.rules audits. */
  audited: number;
  /** The flows auditflow should publish for them (a socket() is no flow). */
  flows: number;
  /** Calls that failed unexpectedly (a refused connect is expected). */
  failures: number;
  seconds: number;
}

const LINE = /^syscalls (\d+) audited (\d+) flows (\d+) failures (\d+) seconds ([\d.]+)$/m;

export function parseWorkloadOutput(text: string): WorkloadResult {
  const match = LINE.exec(text);
  if (match === null) throw new Error(`the workload printed no result line: ${JSON.stringify(text.slice(0, 200))}`);
  const [syscalls, audited, flows, failures, seconds] = match.slice(1).map(Number) as [number, number, number, number, number];
  return { syscalls, audited, flows, failures, seconds };
}

export async function runWorkload(path: string, mode: Mode, workers: number, seconds: number, rate = 0): Promise<WorkloadResult> {
  const args = [mode, String(workers), String(seconds), ...(rate > 0 ? [String(rate)] : [])];
  const child = spawnGroup(path, args, { role: 'workload' });
  const { code, signal } = await child.exited;
  if (code !== 0) throw new Error(`workload ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${child.stderr().trim()}`);
  return parseWorkloadOutput(child.stdout());
}
