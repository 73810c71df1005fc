// The status file: written where no one else can redirect or read it, and read back only when the
// daemon's user wrote it and it is a snapshot (a restarted daemon counts its predecessor's downtime
// from it).
import { chmodSync, chownSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { preparePrivateDir } from '../../../src/daemon/private-dir.js';
import { inspectSnapshot, readSnapshot, snapshotOwner, writeSnapshot, type DaemonSnapshot } from '../../../src/daemon/snapshot.js';
import { readerStats } from '../../helpers/fake-kernel.js';

const NOBODY = 65534;
const SNAPSHOT = {
  pid: 4242,
  version: '0.1.0',
  host: 'h',
  mode: 'unicast',
  sink: 'redis',
  stream: 'auditflow:flows',
  started: 1_700_000_000_000,
  updated: 1_700_000_060_000,
  stopped: false,
  lastSerial: 5,
  firstSerial: 1,
  safeSerial: 4,
  lastRecordTs: 1_700_000_059_000,
  pipeline: { records: 40, events: 10, flows: 7, inFlight: 1, sockets: 3, losses: {} },
  reader: readerStats({ datagrams: 40, records: 40, bytes: 4000, batches: 2 }),
  kernel: { enabled: 1, lost: 7, backlog: 0, backlogLimit: 8192, immutable: false },
  losses: {},
  selfFlows: 0,
  sinkHealth: { state: 'ready', lastError: undefined, queued: 0, spoolBytes: 0, counters: { accepted: 8, written: 8, duplicatesSuppressed: 0, droppedFull: 0, blocked: 0, rejected: 0, spoolCorrupt: 0, spoolTornBytes: 0 } },
  backpressure: { blocked: false, heldBatches: 0, heldBytes: 0 },
  memory: { rss: 1000, heapUsed: 10 },
  cpuSeconds: 1.5,
} satisfies DaemonSnapshot;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'auditflow-status-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const status = (): string => join(dir, 'status.json');

describe('writeSnapshot', () => {
  it('writes mode 0600 and leaves no temporary file', () => {
    writeSnapshot(dir, SNAPSHOT);
    expect(statSync(status()).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['status.json']);
    expect(readSnapshot(dir)).toEqual(JSON.parse(JSON.stringify(SNAPSHOT)));
  });

  it('follows no symbolic link: neither at status.json nor at the names a temporary file could have', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, status());
    // The old predictable temporary name, and the directory full of links does not matter either.
    symlinkSync(target, `${status()}.${process.pid}.tmp`);
    writeSnapshot(dir, SNAPSHOT);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(lstatSync(status()).isSymbolicLink()).toBe(false);
    expect(readSnapshot(dir)?.pid).toBe(SNAPSHOT.pid);
  });
});

describe('inspectSnapshot', () => {
  const write = (value: unknown): void => writeFileSync(status(), typeof value === 'string' ? value : JSON.stringify(value), { mode: 0o600 });

  it('finds none where there is none', () => {
    expect(inspectSnapshot(dir)).toEqual({ kind: 'none' });
  });

  it("refuses a symbolic link, another user's file, and one others may write", () => {
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify(SNAPSHOT), { mode: 0o600 });
    symlinkSync(elsewhere, status());
    expect(inspectSnapshot(dir)).toEqual({ kind: 'refused', reason: `${status()} is a symbolic link` });
    rmSync(status());

    write(SNAPSHOT);
    chownSync(status(), NOBODY, NOBODY);
    expect(inspectSnapshot(dir, 0)).toEqual({ kind: 'refused', reason: `${status()} belongs to uid ${NOBODY}, not to the daemon's user` });
    chownSync(status(), 0, 0);
    chmodSync(status(), 0o666);
    expect(inspectSnapshot(dir, 0)).toEqual({ kind: 'refused', reason: `${status()} is writable by group or others (mode 666)` });
    chmodSync(status(), 0o600);
    expect(inspectSnapshot(dir, 0).kind).toBe('ok');
  });

  it.each([
    ['not JSON', '{"pid":', 'is not JSON'],
    ['an array', '[1,2]', 'not an object'],
    ['a negative serial', { ...SNAPSHOT, safeSerial: -5 }, '(safeSerial)'],
    ['a serial past 2^32', { ...SNAPSHOT, lastSerial: 2 ** 40 }, '(lastSerial)'],
    ['a string pid', { ...SNAPSHOT, pid: '1; rm -rf /' }, '(pid)'],
    ['stopped as text', { ...SNAPSHOT, stopped: 'no' }, '(stopped)'],
    ['a fractional lost counter', { ...SNAPSHOT, kernel: { ...SNAPSHOT.kernel, lost: 1.5 } }, '(kernel)'],
    ['no time', { ...SNAPSHOT, updated: undefined }, '(updated)'],
  ])('refuses a file that is no snapshot: %s', (_name, value, reason) => {
    write(value);
    const read = inspectSnapshot(dir);
    expect(read.kind).toBe('refused');
    expect(read.kind === 'refused' && read.reason).toContain(reason);
    expect(readSnapshot(dir)).toBeUndefined();
  });

  it("lets a reader (auditflow status as root) trust the status file of the service's user, the runtime directory's owner, and no one's in a directory others may write", () => {
    write(SNAPSHOT);
    chownSync(status(), NOBODY, NOBODY);
    expect(readSnapshot(dir), "the reader's own uid: refused").toBeUndefined();
    chownSync(dir, NOBODY, NOBODY);
    expect(snapshotOwner(dir)).toBe(NOBODY);
    expect(readSnapshot(dir, snapshotOwner(dir))?.pid).toBe(SNAPSHOT.pid);
    chmodSync(dir, 0o777);
    expect(snapshotOwner(dir)).toBe(process.getuid?.());
    expect(readSnapshot(dir, snapshotOwner(dir))).toBeUndefined();
    chownSync(dir, 0, 0);
  });

  it('refuses a file far larger than a snapshot', () => {
    write(JSON.stringify({ ...SNAPSHOT, host: 'x'.repeat(2 * 1024 * 1024) }));
    expect(inspectSnapshot(dir)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('more than a status file holds') });
  });
});

describe('preparePrivateDir', () => {
  it('creates a missing directory with the mode asked for', () => {
    const made = join(dir, 'a', 'run');
    preparePrivateDir('runtime_dir', made, 0o755);
    expect(statSync(made).mode & 0o777).toBe(0o755);
  });

  it("refuses a symbolic link, a directory others may write, and another user's, naming the setting", () => {
    const real = join(dir, 'real');
    preparePrivateDir('state_dir', real, 0o700);
    symlinkSync(real, join(dir, 'link'));
    expect(() => preparePrivateDir('state_dir', join(dir, 'link'), 0o700)).toThrow(`state_dir: ${join(dir, 'link')} is a symbolic link; give the real directory`);
    chmodSync(real, 0o775);
    expect(() => preparePrivateDir('runtime_dir', real, 0o755)).toThrow(`runtime_dir: ${real} is writable by group or others (mode 775); chmod 755 it`);
    chmodSync(real, 0o700);
    chownSync(real, NOBODY, NOBODY);
    expect(() => preparePrivateDir('state_dir', real, 0o700)).toThrow(`state_dir: ${real} belongs to uid ${NOBODY}, not to the daemon's user`);
    const file = join(dir, 'file');
    writeFileSync(file, '');
    expect(() => preparePrivateDir('state_dir', file, 0o700)).toThrow();
  });
});
