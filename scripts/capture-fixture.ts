// Captures test/fixtures/<scenario>.log from this machine's kernel: takes the kernel lock,
// snapshots the audit state, registers as the audit daemon, loads rules filtered to this
// script's children, runs the workload once per scenario, and writes each child's records
// (in auditd's raw log form, EOE kept) under a header naming kernel, rule and command.
// The audit state is restored in `finally`, also when a step failed.
//
// The 64-bit scenarios run under one broad b64 rule. The i386 scenarios run the workload
// built with gcc -m32 (Debian's gcc-multilib must be installed) under the default ruleset,
// rules/network.rules, whose b32 rules (direct syscalls and socketcall) must catch them.
//
//   node --import tsx scripts/capture-fixture.ts [scenario ...]     (default: all)
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditControl } from '../src/audit/control.js';
import { acquireKernelLock } from '../src/audit/kernel-lock.js';
import { AuditSocket, batchRecords } from '../src/audit/socket.js';
import { restoreAuditState, snapshotAuditState } from '../src/audit/state-guard.js';
import { parseKernelRecord } from '../src/pipeline/record.js';
import { AUDIT_NETFILTER_PKT, AUDIT_SYSCALL, AUDIT_TYPE_NAMES, AUDIT_URINGOP } from '../src/linux/record-types.js';
import { compileRule, encodeRule } from '../src/rules/index.js';
import { finished } from '../test/helpers/child.js';
import { networkRulesForChildren } from '../test/helpers/network-rules.js';
import { buildUringWorkload, buildWorkload, I386_SCENARIOS, INGRESS_SCENARIOS, SCENARIOS, URING_SCENARIOS } from '../test/helpers/workload.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const KEY = 'auditflow-fixture';
// No saddr_fam filter (unlike rules/network.rules): the fixtures also hold the AF_UNIX,
// netlink and connected-socket events the pipeline must drop or resolve itself.
const RULE_TEXT = `-a always,exit -F arch=b64 -S socket,connect,accept,accept4,bind,sendto,sendmsg -F ppid=${process.pid} -k ${KEY}`;
// UDP receives that return the sender's address (the optional ingress rules, without their saddr_fam filter).
const INGRESS_RULE_TEXT = `-a always,exit -F arch=b64 -S recvfrom,recvmsg -F ppid=${process.pid} -k ${KEY}`;
// io_uring operations: syscall rules never see them, only a rule on the io_uring list.
const URING_RULE_TEXT = `-a always,io_uring -S connect,accept,bind,listen,sendmsg,sendmsg_zc,recvmsg,shutdown -F ppid=${process.pid} -k ${KEY}`;
const forScript = (text: string): string => text.replace(String(process.pid), '<capture script pid>');
const NETFILTER_RULES = fileURLToPath(new URL('../rules/netfilter.nft', import.meta.url));
const NETNS = `auditflow-fixture-${process.pid}`;
/** Scenarios of NETFILTER_PKT records: fixture-workload scenarios run inside a network namespace with rules/netfilter.nft. */
const NETFILTER_SCENARIOS = ['connect-tcp4-ok', 'connect-tcp6-ok', 'sendto-udp4'].map((name) => `netfilter-${name}`);

interface Captured {
  type: number;
  text: string;
}

interface Group {
  scenarios: string[];
  workload: () => string;
  /** Built when the group runs, so the rules name this script's pid. */
  rules: () => Buffer[];
  rule: string;
  build: string;
  /** Runs each scenario inside a network namespace made for it, with this nft ruleset loaded there. */
  netns?: string;
}

const I386_RULES = 'rules/network.rules (the default ruleset: its b32 rules match a 32-bit process), each rule with -F ppid=<capture script pid>';
const wanted = process.argv.slice(2);
const known: readonly string[] = [...SCENARIOS, ...I386_SCENARIOS, ...INGRESS_SCENARIOS, ...URING_SCENARIOS, ...NETFILTER_SCENARIOS];
const unknown = wanted.filter((name) => !known.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\nknown: ${known.join(', ')}\n`);
  process.exit(2);
}
const chosen = (list: readonly string[]): string[] => list.filter((name) => wanted.length === 0 || wanted.includes(name));
const groups: Group[] = [
  { scenarios: chosen(SCENARIOS), workload: () => buildWorkload(), rules: () => [encodeRule(compileRule(RULE_TEXT))], rule: forScript(RULE_TEXT), build: 'scripts/fixture-workload.c, gcc -O1' },
  {
    scenarios: chosen(INGRESS_SCENARIOS),
    workload: () => buildWorkload(),
    rules: () => [encodeRule(compileRule(RULE_TEXT)), encodeRule(compileRule(INGRESS_RULE_TEXT))],
    rule: `${forScript(RULE_TEXT)}; ${forScript(INGRESS_RULE_TEXT)}`,
    build: 'scripts/fixture-workload.c, gcc -O1',
  },
  {
    scenarios: chosen(NETFILTER_SCENARIOS),
    workload: () => buildWorkload(),
    rules: () => [],
    rule: `none: rules/netfilter.nft loaded in a network namespace made for the scenario (${NETFILTER_RULES})`,
    build: 'scripts/fixture-workload.c, gcc -O1, run with ip netns exec',
    netns: NETFILTER_RULES,
  },
  {
    scenarios: chosen(URING_SCENARIOS),
    workload: () => buildUringWorkload(),
    rules: () => [encodeRule(compileRule(RULE_TEXT)), encodeRule(compileRule(URING_RULE_TEXT))],
    rule: `${forScript(RULE_TEXT)}; ${forScript(URING_RULE_TEXT)}`,
    build: 'scripts/uring-workload.c, gcc -O1 -luring',
  },
  { scenarios: chosen(I386_SCENARIOS), workload: () => buildWorkload({ m32: true }), rules: () => networkRulesForChildren(), rule: I386_RULES, build: 'scripts/fixture-workload.c, gcc -m32 -O1' },
].filter((group) => group.scenarios.length > 0);

const lock = await acquireKernelLock();
const control = AuditControl.open();
const snapshot = await snapshotAuditState(control);
const records: Captured[] = [];
const socket = new AuditSocket({
  onBatch: (batch) => {
    for (const message of batchRecords(batch)) records.push({ type: message.type, text: message.payload.toString('latin1').replace(/\0+$/, '') });
  },
});
const daemon = new AuditControl(socket);
const loaded: Buffer[] = [];
try {
  await daemon.register();
  await daemon.set({ enabled: 1 });
  for (const group of groups) {
    const workload = group.workload();
    for (const rule of group.rules()) {
      await daemon.addRule(rule);
      loaded.push(rule);
    }
    for (const scenario of group.scenarios) {
      const from = records.length;
      if (group.netns !== undefined) makeNamespace(group.netns);
      try {
        const command = group.netns === undefined ? [workload, scenario] : ['ip', 'netns', 'exec', NETNS, workload, scenario.replace(/^netfilter-/, '')];
        const child = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
        const result = await finished(child);
        if (result.code !== 0) throw new Error(`${scenario}: workload exited ${result.code}: ${result.stderr}`);
        await quiet(() => records.length);
        writeFixture(scenario, group, workload, child.pid ?? -1, result.stdout, group.netns === undefined ? undefined : from);
      } finally {
        if (group.netns !== undefined) execFileSync('ip', ['netns', 'delete', NETNS]);
      }
    }
    while (loaded.length > 0) await daemon.deleteRule(loaded.pop()!);
  }
} finally {
  await daemon.unregister().catch(() => {});
  for (const rule of loaded) await control.deleteRule(rule).catch(() => {});
  await socket.close();
  await restoreAuditState(control, snapshot);
  await control.close();
  lock.release();
}

/** A network namespace for one scenario: loopback up, the nft ruleset loaded in it (deleted with the namespace). */
function makeNamespace(nftRules: string): void {
  execFileSync('ip', ['netns', 'add', NETNS]);
  execFileSync('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['netns', 'exec', NETNS, 'nft', '-f', nftRules]);
}

/** Waits until no record arrived for 300 ms: the kernel delivered the child's events. */
async function quiet(count: () => number): Promise<void> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * Writes the records of the child's events; for a namespace scenario (`packetsFrom`), the
 * NETFILTER_PKT records that arrived since the index given (they name no process).
 */
function parseKernelRecordSerial(record: Captured): number {
  const parsed = parseKernelRecord(record.type, record.text);
  return parsed.ok ? parsed.record.serial : -1;
}

function writeFixture(scenario: string, group: Group, workload: string, pid: number, stdout: string, packetsFrom?: number): void {
  const serials = new Set<number>();
  for (const [index, record] of records.entries()) {
    if (packetsFrom !== undefined) {
      if (index >= packetsFrom && record.type === AUDIT_NETFILTER_PKT) serials.add(parseKernelRecordSerial(record));
      continue;
    }
    const parsed = parseKernelRecord(record.type, record.text);
    // An io_uring operation completed by a kernel worker has a URINGOP record and no SYSCALL.
    const owned = parsed.ok && (parsed.record.type === AUDIT_SYSCALL || parsed.record.type === AUDIT_URINGOP) && parsed.record.fields.get('pid') === String(pid);
    if (parsed.ok && owned) serials.add(parsed.record.serial);
  }
  const lines = records.filter((record) => {
    const parsed = parseKernelRecord(record.type, record.text);
    return parsed.ok && serials.has(parsed.record.serial);
  });
  const header = [
    `# auditflow fixture: ${scenario}`,
    `# kernel: ${release()} (${process.arch})`,
    `# rule: ${group.rule}`,
    `# command: ${basename(workload)} ${scenario}   (${group.build}, pid ${pid})`,
    `# captured: ${new Date().toISOString()} by scripts/capture-fixture.ts`,
    ...stdout
      .trim()
      .split('\n')
      .map((line) => `# workload: ${line}`),
    `# records: the kernel's, one per line in auditd's raw form (type=NAME msg=...), EOE kept`,
  ];
  const body = lines.map((record) => `type=${AUDIT_TYPE_NAMES.get(record.type) ?? `UNKNOWN[${record.type}]`} msg=${record.text}`);
  writeFileSync(`${FIXTURES}${scenario}.log`, [...header, ...body].join('\n') + '\n');
  process.stdout.write(`${scenario}: ${serials.size} events, ${lines.length} records\n`);
}
