// The addon's early socket lookups on the real kernel: a process that connects (or sends) and closes
// the socket at once, then exits, is still looked up, with the local port it saw itself.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditSocket } from '../../src/audit/socket.js';
import { AF_INET, AF_INET6, AF_UNIX } from '../../src/linux/socket.js';
import { finished } from '../helpers/child.js';
import { registerWithRules, useKernel, type TestAuditDaemon } from '../helpers/kernel.js';
import { lookupCalls } from '../../src/pipeline/socket-calls.js';
import { decodeLookups, nativeSyscallNumber, observedBinding, type DecodedLookup } from '../helpers/lookups.js';
import { networkRulesForChildren } from '../helpers/network-rules.js';
import { connectRuleForChildrenOf } from '../helpers/raw-rule.js';
import { AUDIT_SOCKADDR, AUDIT_SYSCALL, field } from '../helpers/records.js';
import { until } from '../helpers/until.js';

const kernel = useKernel();
const { EBADF, ESRCH } = constants.errno;

interface SeenSyscall {
  pid: number;
  syscall: number;
  serial: number;
  lookup: DecodedLookup | undefined;
}

// A child makes more calls of the same kind than the one under test: with HOME unset (as under CI),
// its user lookup goes through NSS, which connects to /var/run/nscd/socket over AF_UNIX first. So a
// call is told apart by its event's address family, from the SOCKADDR record of the same serial.
const seen: SeenSyscall[] = [];
const addresses = new Map<number, string>();

function familyOf(serial: number): number {
  const saddr = addresses.get(serial) ?? '';
  return saddr.length < 4 ? -1 : parseInt(saddr.slice(2, 4) + saddr.slice(0, 2), 16);
}

// Reads one batch: each SYSCALL record with its lookup entry, and each SOCKADDR record's address (hex;
// the family is its first two bytes, little-endian).
function readBatch(data: Buffer, meta: Uint32Array | number[], lookups: Parameters<typeof decodeLookups>[0], into: SeenSyscall[]): void {
  const entries = decodeLookups(lookups);
  for (let record = 0; record * 6 < meta.length; record++) {
    const type = meta[record * 6];
    const offset = meta[record * 6 + 4] ?? 0;
    const text = data.subarray(offset, offset + (meta[record * 6 + 5] ?? 0)).toString('latin1');
    const serial = Number(/^audit\(\d+\.\d+:(\d+)\)/.exec(text)?.[1] ?? -1);
    if (type === AUDIT_SOCKADDR) {
      addresses.set(serial, field(text, 'saddr') ?? '');
    } else if (type === AUDIT_SYSCALL) {
      into.push({ pid: Number(field(text, 'pid')), syscall: Number(field(text, 'syscall')), serial, lookup: entries.find((entry) => entry.record === record) });
    }
  }
}

function ofFamily(pid: number, syscall: string, inFamilies: readonly number[], from: readonly SeenSyscall[] = seen): SeenSyscall[] {
  const number = nativeSyscallNumber(syscall);
  return from.filter((s) => s.pid === pid && s.syscall === number && inFamilies.includes(familyOf(s.serial)));
}

let daemon: TestAuditDaemon;
let tcp4: Server;
let tcp6: Server;
let udp4: UdpSocket;
let tcp4Port: number;
let tcp6Port: number;
const scratch = mkdtempSync(join(tmpdir(), 'auditflow-lookups-'));

// Connects (tcp) or sends one datagram (udp) and, with `exchange`, waits for the one-line answer (a
// health check, a DNS query: the socket lives one loopback round trip); without it, closes at once,
// some 20-50 µs after the audited call. Then asks the socket its local port, closes it, prints the port
// and exits.
const CHILD = `
import socket, sys
family = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
host = '::1' if sys.argv[1] == '6' else '127.0.0.1'
s = socket.socket(family, socket.SOCK_STREAM if sys.argv[2] == 'tcp' else socket.SOCK_DGRAM)
if sys.argv[2] == 'tcp':
    s.connect((host, int(sys.argv[3])))
    if sys.argv[4] == 'exchange':
        s.sendall(b'PING\\r\\n')
        s.recv(64)
else:
    s.sendto(b'PING', (host, int(sys.argv[3])))
    if sys.argv[4] == 'exchange':
        s.recv(64)
port = s.getsockname()[1]
s.close()
print(port, flush=True)
`;

type Life = 'exchange' | 'close';

async function shortLived(version: '4' | '6', kind: 'tcp' | 'udp', port: number, life: Life): Promise<{ pid: number; localPort: number }> {
  const child = spawn('python3', ['-c', CHILD, version, kind, String(port), life], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await finished(child);
  expect(result.code, result.stderr).toBe(0);
  return { pid: child.pid ?? 0, localPort: Number(result.stdout.trim()) };
}

function listening(server: Server, host: string): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  // Answer one line after ANSWER_MS, as a service does its work, then close; a client that closed at
  // once just goes away.
  const answer = (connection: import('node:net').Socket): void => {
    connection.on('error', () => {});
    connection.once('data', () => setTimeout(() => connection.end('PONG\r\n'), ANSWER_MS));
    connection.on('end', () => connection.end());
  };
  tcp4 = createServer(answer);
  tcp6 = createServer(answer);
  tcp4Port = await listening(tcp4, '127.0.0.1');
  tcp6Port = await listening(tcp6, '::1');
  udp4 = createSocket('udp4');
  await new Promise<void>((resolve) => udp4.bind(0, '127.0.0.1', resolve));
  udp4.on('message', (_message, from) => setTimeout(() => udp4.send('PONG', from.port, from.address), ANSWER_MS));
  // The default ruleset for the children, plus connect without saddr_fam (AF_UNIX ones too).
  const rules = [...networkRulesForChildren(process.pid), connectRuleForChildrenOf(process.pid, 'auditflow-test-lookups')];
  daemon = await registerWithRules(kernel.control, rules, () => {}, {
    lookupCalls: lookupCalls(),
    selfPid: process.pid,
    binding: observedBinding((data, meta, _error, lookups) => {
      if (data !== null && meta !== null) readBatch(data, meta, lookups, seen);
    }),
  });
});

afterAll(async () => {
  await daemon?.close();
  tcp4?.close();
  tcp6?.close();
  udp4?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function lookupOf(pid: number, syscall: string): Promise<DecodedLookup | undefined> {
  await until(() => ofFamily(pid, syscall, [AF_INET, AF_INET6]).length > 0);
  return ofFamily(pid, syscall, [AF_INET, AF_INET6])[0]?.lookup;
}

// Every outcome is checked: a lookup that found the socket has exactly the ends the child saw; one that
// did not says the fd or the process was gone, never a wrong socket. A socket that lives one exchange
// with a service taking ANSWER_MS (`exchange`) must be caught every time. One closed some 20-50 µs
// after the call races the record through kauditd and three thread wake-ups (on this 2-core VM about a
// millisecond; measured: such sockets, and those of an exchange answered at once, are caught only
// sometimes): for those only correctness is required; the destroy broadcast (issue 14) is what gives
// their local end.
const TRIALS = 10;
const ANSWER_MS = 5;
let trials = 0;
let caughtTotal = 0;
async function lookUp(version: '4' | '6', kind: 'tcp' | 'udp', port: number, syscall: string, life: Life, expected: Partial<DecodedLookup>): Promise<number> {
  const outcomes: string[] = [];
  let caught = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const child = await shortLived(version, kind, port, life);
    trials++;
    const lookup = await lookupOf(child.pid, syscall);
    if (lookup === undefined) throw new Error(`no lookup entry for the ${syscall} of pid ${child.pid}`);
    if (lookup.status === 0) {
      caught++;
      expect(lookup).toMatchObject({ ...expected, pid: child.pid, localPort: child.localPort, localFamily: expected.family });
      // The socket() record was seen: family, type and protocol came from it, not from getsockopt.
      expect(lookup.flags).toBe(1);
    } else {
      expect([EBADF, ESRCH]).toContain(lookup.status);
    }
    outcomes.push(lookup.status === 0 ? 'caught' : `errno ${lookup.status}`);
  }
  caughtTotal += caught;
  console.log(`IPv${version} ${kind} ${syscall} (${life}): ${outcomes.join(', ')}`);
  if (life === 'exchange') expect(caught, outcomes.join(', ')).toBe(TRIALS);
  return caught;
}

describe('early socket lookups', () => {
  it('catches the local port of a TCP connect over IPv4 whose socket lived one request answered in 5 ms', async () => {
    await lookUp('4', 'tcp', tcp4Port, 'connect', 'exchange', { family: AF_INET, type: 1, remotePort: tcp4Port });
  });

  it('catches the local port of a TCP connect over IPv6 whose socket lived one request answered in 5 ms', async () => {
    await lookUp('6', 'tcp', tcp6Port, 'connect', 'exchange', { family: AF_INET6, type: 1, remotePort: tcp6Port });
  });

  it('catches the local port of a UDP sendto whose socket lived one query answered in 5 ms', async () => {
    const port = (udp4.address() as AddressInfo).port;
    await lookUp('4', 'udp', port, 'sendto', 'exchange', { family: AF_INET, type: 2, remotePort: null });
  });

  it('never answers with a wrong socket when the process closed it at once and exited', async () => {
    const port = (udp4.address() as AddressInfo).port;
    await lookUp('4', 'tcp', tcp4Port, 'connect', 'close', { family: AF_INET, type: 1, remotePort: tcp4Port });
    await lookUp('6', 'tcp', tcp6Port, 'connect', 'close', { family: AF_INET6, type: 1, remotePort: tcp6Port });
    await lookUp('4', 'udp', port, 'sendto', 'close', { family: AF_INET, type: 2, remotePort: null });
  });

  it('makes no lookup for a connect whose SOCKADDR record shows AF_UNIX', async () => {
    const path = join(scratch, 'unix.sock');
    const server = createServer((connection) => connection.end());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const before = daemon.socket.stats().lookups;
      const child = spawn('python3', ['-c', `import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.close()`, path]);
      expect((await finished(child)).code).toBe(0);
      const pid = child.pid ?? 0;
      // The child's own connect is the one to the path; any before it were its NSS lookups (see `seen`).
      const pathHex = Buffer.from(path).toString('hex').toUpperCase();
      await until(() => ofFamily(pid, 'connect', [AF_UNIX]).some((s) => addresses.get(s.serial)?.includes(pathHex)));
      const connects = ofFamily(pid, 'connect', [AF_UNIX]);
      expect(connects.map((s) => s.lookup)).toEqual(connects.map(() => undefined));
      const after = daemon.socket.stats().lookups;
      expect(after.skipped.sockaddr).toBe(before.skipped.sockaddr + connects.length);
      expect(after.made).toBe(before.made);
    } finally {
      server.close();
    }
  });

  it('makes no lookup for the records of selfPid', async () => {
    // The kernel never audits the registered daemon itself (kernel/auditsc.c skips auditd's tasks), so
    // selfPid matters to a multicast reader beside it: one here, told a waiting child is itself.
    const child = spawn('python3', ['-c', `import socket, sys\nsys.stdin.readline()\ns = socket.socket()\ns.connect(('127.0.0.1', ${tcp4Port}))\ns.close()`], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exit = finished(child);
    const pid = child.pid ?? 0;
    const mine: SeenSyscall[] = [];
    const reader = new AuditSocket({
      mode: 'multicast',
      lookupCalls: lookupCalls(),
      selfPid: pid,
      binding: observedBinding((data, meta, _error, lookups) => {
        if (data !== null && meta !== null) readBatch(data, meta, lookups, mine);
      }),
    });
    try {
      child.stdin.end('go\n');
      expect((await exit).code).toBe(0);
      await until(() => ofFamily(pid, 'connect', [AF_INET], mine).length > 0);
      // Its NSS connects (see `seen`), if the reader was there for them, are skipped as self too.
      const connects = mine.filter((s) => s.pid === pid && s.syscall === nativeSyscallNumber('connect'));
      expect(connects.map((s) => s.lookup)).toEqual(connects.map(() => undefined));
      expect(reader.stats().lookups.skipped.self).toBe(connects.length);
      expect(reader.stats().lookups.made).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('counts what it made and found, and the time it took', () => {
    const stats = daemon.socket.stats().lookups;
    expect(stats.made).toBeGreaterThanOrEqual(trials);
    expect(stats.found).toBeGreaterThanOrEqual(caughtTotal);
    expect(caughtTotal).toBeGreaterThanOrEqual(3 * TRIALS);
    expect(stats.found + (stats.failed.EBADF ?? 0) + (stats.failed.ESRCH ?? 0)).toBe(stats.made);
    expect(stats.timeNs).toBeGreaterThan(0);
    // One pidfd per child, opened at its socket() record.
    expect(stats.pidfds.opened).toBeGreaterThanOrEqual(trials);
    console.log(`early lookups: ${JSON.stringify(stats)}; ${(stats.timeNs / stats.made / 1000).toFixed(1)} µs per lookup`);
  });
});
