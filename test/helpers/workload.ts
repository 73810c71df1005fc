// The scenario workload (scripts/fixture-workload.c), compiled with gcc on first use, and
// the list of scenarios the fixtures and the live pipeline test cover.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKLOAD_SOURCE = fileURLToPath(new URL('../../scripts/fixture-workload.c', import.meta.url));

export const SCENARIOS = [
  'connect-tcp4-ok',
  'connect-reuse-fd',
  'connect-tcp4-refused',
  'connect-tcp4-nonblock',
  'connect-tcp6-ok',
  'connect-tcp6-refused',
  'connect-tcp6-nonblock',
  'connect-ipv4-mapped',
  'accept-peer',
  'accept-nopeer',
  'accept4-peer',
  'accept4-nopeer',
  'accept6-peer',
  'bind-ipv4',
  'bind-ipv6',
  'bind-port0',
  'sendto-udp4',
  'sendto-udp6',
  'sendto-repeat',
  'sendmsg-name',
  'sendmsg-noname',
  'udp-connected-send',
  'unix-ignored',
  'netlink-ignored',
  'socket-tcp-vs-udp',
  'comm-hex',
] as const;

export type Scenario = (typeof SCENARIOS)[number];

/**
 * Scenarios of a 32-bit x86 process (the workload built with gcc -m32): socket calls through
 * socketcall(2) and through i386's own syscalls. Only scripts/capture-fixture.ts runs them
 * (gcc-multilib is needed to build it); the tests read their captured fixtures.
 */
export const I386_SCENARIOS = ['socketcall-i386-connect', 'socketcall-i386-refused', 'socketcall-i386-sendto', 'socketcall-i386-accept', 'i386-connect'] as const;

export type I386Scenario = (typeof I386_SCENARIOS)[number];

/** UDP receives with the sender's address (recvfrom, recvmsg with msg_name): the optional ingress rules' events. */
export const INGRESS_SCENARIOS = ['recvfrom-udp4', 'recvmsg-udp6'] as const;

export const URING_WORKLOAD_SOURCE = fileURLToPath(new URL('../../scripts/uring-workload.c', import.meta.url));

/** Network operations through io_uring (scripts/uring-workload.c, built against Debian's liburing-dev). */
export const URING_SCENARIOS = ['uring-connect-tcp4', 'uring-connect-tcp6', 'uring-connect-refused', 'uring-sendmsg-udp4', 'uring-accept', 'uring-accept-wait'] as const;

/** Compiles the io_uring workload once per process; returns the binary's path. */
export function buildUringWorkload(): string {
  const done = built.get('uring');
  if (done && existsSync(done)) return done;
  const output = join(mkdtempSync(join(tmpdir(), 'auditflow-uring-')), 'uring-workload');
  execFileSync('gcc', ['-O1', '-Wall', '-o', output, URING_WORKLOAD_SOURCE, '-luring'], { stdio: ['ignore', 'inherit', 'inherit'] });
  built.set('uring', output);
  return output;
}

const built = new Map<string, string>();

/** Compiles the workload once per process (`m32`: as a 32-bit x86 program); returns the binary's path. */
export function buildWorkload(options: { m32?: boolean } = {}): string {
  const flavour = options.m32 ? 'm32' : 'native';
  const done = built.get(flavour);
  if (done && existsSync(done)) return done;
  const output = join(mkdtempSync(join(tmpdir(), 'auditflow-workload-')), 'fixture-workload');
  execFileSync('gcc', [...(options.m32 ? ['-m32'] : []), '-O1', '-Wall', '-o', output, WORKLOAD_SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  built.set(flavour, output);
  return output;
}

/** The workload's "<name> <value>" lines, each name's values in the order printed. */
export function workloadOutput(stdout: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const name = line.slice(0, space);
    values.set(name, [...(values.get(name) ?? []), line.slice(space + 1)]);
  }
  return values;
}
