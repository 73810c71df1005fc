// The /proc socket resolver on a /proc-shaped directory: fd links, namespace links and
// net tables written by the test (rows in the kernel's format, as /proc/net/tcp prints them
// here), so what is read, and when, can be changed between lookups.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProcNetRow } from '../../../src/pipeline/proc-sockets.js';
import { procSocketResolver } from '../../../src/pipeline/sockets.js';
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM } from '../../../src/linux/socket.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const HEADER6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/** A row of /proc/net/tcp or udp: 127.0.0.1:<local> → 127.0.0.1:<remote> (0 = none). */
function row(slot: number, local: number, remote: number, inode: number, uid = 0): string {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const peer = remote === 0 ? '00000000:0000' : `0100007F:${hex(remote)}`;
  return `${String(slot).padStart(4)}: 0100007F:${hex(local)} ${peer} 01 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;
}

let root: string;
let clock: number;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'auditflow-proc-'));
  clock = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A process: its fds (fd → socket inode), its network namespace, and its net tables. */
function processDir(pid: number, fds: Record<number, number | string>, netns = 'net:[4026531840]', tables: Record<string, string[]> = {}): void {
  mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
  mkdirSync(join(root, String(pid), 'ns'), { recursive: true });
  mkdirSync(join(root, String(pid), 'net'), { recursive: true });
  symlinkSync(netns, join(root, String(pid), 'ns', 'net'));
  for (const [fd, target] of Object.entries(fds)) symlinkSync(typeof target === 'number' ? `socket:[${target}]` : target, join(root, String(pid), 'fd', fd));
  for (const [file, rows] of Object.entries(tables)) table(pid, file, rows);
}

function table(pid: number, file: string, rows: string[]): void {
  writeFileSync(join(root, String(pid), 'net', file), [file.endsWith('6') ? HEADER6 : HEADER, ...rows].join('\n') + '\n');
}

/** The resolver on the test's directory, with the test's clock. */
function resolver(options: { ttlMs?: number; maxNamespaces?: number; maxRows?: number } = {}) {
  return procSocketResolver({ procRoot: root, now: () => clock, ...options });
}

describe('procSocketResolver', () => {
  it('finds a socket by the inode of its fd: protocol, local side and peer', () => {
    processDir(100, { 3: 5001, 4: 5002 }, undefined, { tcp: [row(0, 8080, 0, 5001), row(1, 41000, 8080, 5002)] });
    const resolve = resolver();
    expect(resolve(100, 3)).toMatchObject({ family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { addr: '127.0.0.1', port: 8080 }, remote: undefined, source: 'proc' });
    expect(resolve(100, 4)).toMatchObject({ protocol: 6, local: { port: 41000 }, remote: { addr: '127.0.0.1', port: 8080 } });
  });

  it('finds nothing for an fd that is not a socket, a closed fd or a gone process', () => {
    processDir(100, { 0: '/dev/null', 3: 5001 }, undefined, { tcp: [row(0, 8080, 0, 5001)] });
    const resolve = resolver();
    expect(resolve(100, 0)).toBeUndefined();
    expect(resolve(100, 9)).toBeUndefined();
    expect(resolve(200, 3)).toBeUndefined();
  });

  it('answers from the table it read within ttlMs, and reads it again after', () => {
    processDir(100, { 4: 5002 }, undefined, { udp: [row(0, 41000, 0, 5002)] });
    const resolve = resolver({ ttlMs: 1000 });
    expect(resolve(100, 4)?.remote).toBeUndefined();
    table(100, 'udp', [row(0, 41000, 9000, 5002)]);
    clock = 999;
    expect(resolve(100, 4)?.remote, 'within the ttl: the rows read before').toBeUndefined();
    clock = 1000;
    expect(resolve(100, 4)?.remote, 'after it: read again').toMatchObject({ port: 9000 });
  });

  it('reads a kept table again, once, for a socket newer than the read', () => {
    processDir(100, { 3: 5001, 4: 5002 }, undefined, { tcp: [row(0, 8080, 0, 5001)] });
    const resolve = resolver();
    expect(resolve(100, 3)).toBeDefined();
    table(100, 'tcp', [row(0, 8080, 0, 5001), row(1, 41000, 8080, 5002)]);
    expect(resolve(100, 4)).toMatchObject({ local: { port: 41000 } });
  });

  it('shares one read among the processes of a network namespace, and keeps namespaces apart', () => {
    processDir(100, { 3: 5001 }, 'net:[1]', { tcp: [row(0, 8080, 0, 5001), row(1, 41000, 8080, 5002)] });
    processDir(101, { 7: 5002 }, 'net:[1]');
    processDir(102, { 7: 5002 }, 'net:[2]');
    const resolve = resolver();
    expect(resolve(100, 3)).toBeDefined();
    // 101 has no net tables of its own here: only the rows read through 100 can answer.
    expect(resolve(101, 7)).toMatchObject({ local: { port: 41000 } });
    expect(resolve(102, 7)).toBeUndefined();
  });

  it('reads only the tables of the type the socket() event named', () => {
    processDir(100, { 4: 5002 }, undefined, { udp: [row(0, 41000, 0, 5002)], tcp: [row(0, 41000, 0, 5002)] });
    const resolve = resolver({ ttlMs: 0 });
    expect(resolve(100, 4, { family: AF_INET, type: SOCK_DGRAM, protocol: 17 })).toMatchObject({ type: SOCK_DGRAM, protocol: 17 });
    expect(resolve(100, 4)).toMatchObject({ type: SOCK_STREAM, protocol: 6 });
    expect(resolve(100, 4, { family: AF_INET6, type: SOCK_DGRAM, protocol: 17 })).toBeUndefined();
    expect(resolve(100, 4, { family: 1, type: SOCK_STREAM, protocol: 0 }), 'AF_UNIX: no table lists it').toBeUndefined();
  });

  it('with ttlMs 0 reads the tables on every lookup', () => {
    processDir(100, { 4: 5002 }, undefined, { udp: [row(0, 41000, 0, 5002)] });
    const resolve = resolver({ ttlMs: 0 });
    expect(resolve(100, 4)?.remote).toBeUndefined();
    table(100, 'udp', [row(0, 41000, 9000, 5002)]);
    expect(resolve(100, 4)?.remote).toMatchObject({ port: 9000 });
  });

  it('keeps the tables of at most maxNamespaces namespaces, the least recently used going first', () => {
    processDir(100, { 3: 5001 }, 'net:[1]', { tcp: [row(0, 8080, 0, 5001)] });
    processDir(200, { 3: 6001 }, 'net:[2]', { tcp: [row(0, 9090, 0, 6001)] });
    const resolve = resolver({ maxNamespaces: 1 });
    resolve(100, 3);
    resolve(200, 3);
    // net:[1]'s rows were dropped for net:[2]'s: a change is seen at once.
    table(100, 'tcp', [row(0, 8081, 0, 5001)]);
    expect(resolve(100, 3)?.local?.port).toBe(8081);
  });

  it('searches a table with more than maxRows rows without keeping it', () => {
    processDir(100, { 3: 5001 }, undefined, { tcp: [row(0, 8080, 0, 5001), row(1, 8081, 0, 5003)] });
    const resolve = resolver({ maxRows: 1 });
    expect(resolve(100, 3)?.local?.port).toBe(8080);
    table(100, 'tcp', [row(0, 8090, 0, 5001), row(1, 8081, 0, 5003)]);
    expect(resolve(100, 3)?.local?.port, 'not kept: read again').toBe(8090);
  });

  it('finds nothing once the ttl passed and the table cannot be read (the process exited)', () => {
    processDir(100, { 3: 5001 }, undefined, { tcp: [row(0, 8080, 0, 5001)] });
    const resolve = resolver();
    expect(resolve(100, 3)).toBeDefined();
    unlinkSync(join(root, '100', 'net', 'tcp'));
    clock = 5000;
    expect(resolve(100, 3)).toBeUndefined();
  });
});

describe('findProcNetRow', () => {
  it('skips a line where the inode digits stand in another column', () => {
    const text = [HEADER, row(0, 8080, 0, 7, 5001), row(1, 9090, 0, 5001)].join('\n');
    expect(findProcNetRow(text, '5001', AF_INET)).toMatchObject({ local: { port: 9090 }, inode: '5001' });
    expect(findProcNetRow(text, '42', AF_INET)).toBeUndefined();
  });
});
