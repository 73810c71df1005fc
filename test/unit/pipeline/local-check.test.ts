// The local check (src/pipeline/local-check.ts) on the captured loop of connect → close on one fd
// (test/fixtures/connect-reuse-fd.log: three sockets in a row on fd 4, all within one millisecond),
// with the addon's early lookups as a reader that came late, or in time, would have made them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeLookups, type LookupEntry } from '../../../src/native/socket-lookups.js';
import { LocalCheck, endsRead } from '../../../src/pipeline/local-check.js';
import type { SocketFacts } from '../../../src/pipeline/socket-update.js';
import type { SocketInfo } from '../../../src/pipeline/socket-kinds.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { FIXTURE_DIR, fixtureLines, kernelRecord, recordBatch, type KernelRecord } from './fixtures.js';

const HEADER = readFileSync(`${FIXTURE_DIR}connect-reuse-fd.log`, 'utf8');
const SERVER = Number(/^# workload: server (\d+)$/m.exec(HEADER)?.[1]);
/** The local port of each connect, as the workload saw it (getsockname before close). */
const LOCALS = [...HEADER.matchAll(/^# workload: local (\d+)$/gm)].map((match) => Number(match[1]));
/** The loop's events all carry this time (ms): the coarse clock did not tick during it. */
const EVENT_MS = 1796529143038;
const PID = 11280;

function sockaddrIn(port: number): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt16LE(2, 0);
  bytes.writeUInt16BE(port, 2);
  Buffer.from([127, 0, 0, 1]).copy(bytes, 4);
  return bytes;
}

/** The records with each event's timestamp moved by `shiftMs(serial)`. */
function records(shiftMs: (serial: number) => number = () => 0): KernelRecord[] {
  return fixtureLines('connect-reuse-fd').map((line) =>
    kernelRecord(line.replace(/audit\((\d+)\.(\d{3}):(\d+)\)/, (_, sec: string, ms: string, serial: string) => {
      const at = Number(sec) * 1000 + Number(ms) + shiftMs(Number(serial));
      return `audit(${Math.floor(at / 1000)}.${String(at % 1000).padStart(3, '0')}:${serial})`;
    })),
  );
}

/** An early lookup of record `record` (fd 4) that found a socket on local port `port`, read at `readAtUs`. */
function found(record: number, port: number, readAtUs: number): LookupEntry {
  return { record, pid: PID, fd: 4, status: 0, family: 2, type: 1, protocol: 6, flags: 1, local: sockaddrIn(port), remote: sockaddrIn(SERVER), readAtUs };
}

function run(batch: KernelRecord[], lookups: LookupEntry[], advanceTo?: number): { connects: Flow[]; pipeline: Pipeline } {
  const flows: Flow[] = [];
  const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow) });
  pipeline.pushBatch(recordBatch(batch, encodeLookups(lookups)));
  if (advanceTo !== undefined) pipeline.advance(advanceTo);
  else pipeline.flush();
  return { connects: flows.filter((flow) => flow.op === 'connect').sort((a, b) => a.serial - b.serial), pipeline };
}

const connectRecords = (batch: KernelRecord[]): number[] =>
  batch.flatMap((record, index) => (record.type === 1300 && record.payload.toString('latin1').includes(' syscall=42 ') ? [index] : []));

describe('the local check on a loop of connects on one fd', () => {
  it('has the fixture it reads: three connects to one server, three local ports', () => {
    expect(LOCALS).toHaveLength(3);
    expect(new Set(LOCALS).size).toBe(3);
    expect(connectRecords(records())).toHaveLength(3);
  });

  it('drops the local end a late read took from the next socket on the fd, and keeps the last one', () => {
    // A reader that came after the loop found the third socket on fd 4 for all three connects.
    const batch = records();
    const late = (EVENT_MS + 0.9) * 1000;
    const { connects, pipeline } = run(
      batch,
      connectRecords(batch).map((record) => found(record, LOCALS[2] as number, late)),
    );
    expect(connects.map((flow) => flow.local_port)).toEqual([null, null, LOCALS[2]]);
    expect(connects.map((flow) => flow.remote_port)).toEqual([SERVER, SERVER, SERVER]);
    expect(connects.slice(0, 2).every((flow) => flow.community_id === null && flow.local_addr === null)).toBe(true);
    expect(connects[2]?.community_id).toMatch(/^1:/);
    // The last one: no later socket on fd 4, and no later event to say so before the input ended.
    expect(pipeline.stats().localCheck).toMatchObject({ replaced: 2, kept: 0, timedOut: 1, held: 0 });
  });

  it('keeps local ends read before the next socket() began, once a later event shows the records are all in', () => {
    // Each socket() after the first connect began 10 ms later than captured, each read was made
    // between: every read met its own socket.
    const batch = records((serial) => (serial >= 16064 ? 10 : 0) + (serial >= 16066 ? 10 : 0));
    const reads = [(EVENT_MS + 2) * 1000, (EVENT_MS + 12) * 1000, (EVENT_MS + 22) * 1000];
    const { connects, pipeline } = run(
      batch,
      connectRecords(batch).map((record, n) => found(record, LOCALS[n] as number, reads[n] as number)),
    );
    expect(connects.map((flow) => flow.local_port)).toEqual(LOCALS);
    // The first two are decided by the events after them; the third by the end of the input.
    expect(pipeline.stats().localCheck).toMatchObject({ replaced: 0, kept: 2, timedOut: 1 });
  });

  it('holds a flow until an event shows that every record queued before its read has come, or its wait ends', () => {
    const batch = records();
    const read = (EVENT_MS + 0.5) * 1000;
    const lookups = connectRecords(batch).map((record, n) => found(record, LOCALS[n] as number, read));
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), localCheckWaitMs: 250 });
    pipeline.pushBatch(recordBatch(batch, encodeLookups(lookups)));
    // The first two are already known to be replaced (their fd got later sockets before the read),
    // the third waits: nothing after it yet.
    expect(flows.filter((flow) => flow.op === 'connect').map((flow) => flow.local_port)).toEqual([null, null]);
    expect(pipeline.stats().localCheck?.held).toBe(1);
    expect(pipeline.oldestPendingSerial()).toBe(16067);
    pipeline.advance(EVENT_MS + 249);
    expect(pipeline.stats().localCheck?.held).toBe(1);
    pipeline.advance(EVENT_MS + 250);
    expect(flows.filter((flow) => flow.op === 'connect').map((flow) => flow.local_port)).toEqual([null, null, LOCALS[2]]);
  });
});

describe('LocalCheck', () => {
  const flow = (serial: number, ts: number, fd = 4): Flow => ({ serial, ts, pid: PID, fd, local_addr: '127.0.0.1', local_port: 40000 + serial, remote_addr: '127.0.0.1', remote_port: SERVER, community_id: '1:x' }) as Flow;

  it('keeps a read once an event that began more than the exit margin (5 ms) after it has come, not before', () => {
    const out: Flow[] = [];
    const check = new LocalCheck({ onFlow: (f) => out.push(f), maxWaitMs: 250 });
    check.see(1000);
    const f = flow(1, 1000);
    check.noteRead(f, { atUs: 1_000_300, local: true, remote: false });
    check.push(f);
    check.see(1005);
    check.advance(1005);
    expect(out).toHaveLength(0);
    check.see(1006);
    check.push(flow(2, 1006));
    expect(out.map((x) => [x.serial, x.local_port])).toEqual([
      [1, 40001],
      [2, 40002],
    ]);
    expect(check.stats()).toMatchObject({ kept: 1, replaced: 0, held: 0 });
  });

  it('takes only a later socket on the same fd of the same process that began by the read for a replacement', () => {
    const out: Flow[] = [];
    const check = new LocalCheck({ onFlow: (f) => out.push(f), maxWaitMs: 250 });
    check.opened(PID, 4, 1, 1000); // the flow's own socket: before it
    check.opened(PID, 5, 3, 1000); // another fd
    check.opened(PID + 1, 4, 3, 1000); // another process
    check.opened(PID, 4, 4, 1002); // began after the read
    const kept = flow(2, 1000);
    check.noteRead(kept, { atUs: 1_001_500, local: true, remote: false });
    check.see(1007);
    check.push(kept);
    const replaced = flow(5, 1003);
    check.opened(PID, 4, 6, 1004);
    check.noteRead(replaced, { atUs: 1_004_000, local: true, remote: true });
    check.push(replaced);
    expect(out.map((x) => [x.serial, x.local_port, x.remote_port])).toEqual([
      [2, 40002, SERVER],
      [5, null, null],
    ]);
  });

  it('lets the oldest held flow go on unchecked when the table is full, counted', () => {
    const out: Flow[] = [];
    const check = new LocalCheck({ onFlow: (f) => out.push(f), maxWaitMs: 250, maxHeld: 2 });
    for (let serial = 1; serial <= 3; serial++) {
      const f = flow(serial, 1000);
      check.noteRead(f, { atUs: 1_000_500, local: true, remote: false });
      check.push(f);
    }
    expect(out.map((x) => x.serial)).toEqual([1]);
    expect(check.stats()).toMatchObject({ held: 2, unchecked: 1 });
    check.flush();
    expect(out.map((x) => x.serial)).toEqual([1, 2, 3]);
  });
});

describe('endsRead', () => {
  const end = (port: number, bytes: number[]): { addr: string; port: number; bytes: Buffer } => ({ addr: bytes.join('.'), port, bytes: Buffer.from(bytes) });
  const facts = (known: Partial<SocketInfo> | undefined, proc: Partial<SocketInfo> | undefined, addressEnd: ReturnType<typeof end> | undefined): SocketFacts =>
    ({ op: 'accept', addressEnd, known: known && { family: 2, type: 1, protocol: 6, local: undefined, remote: undefined, source: 'socket', ...known }, proc: proc && { family: 2, type: 1, protocol: 6, local: undefined, remote: undefined, source: 'proc', ...proc } }) as SocketFacts;

  it("takes an accept's local end as the records' when its listener was bound to one address, and the peer as read only when the accept had no address", () => {
    const listener = end(8080, [127, 0, 0, 1]);
    const read = { local: end(8080, [127, 0, 0, 1]), remote: end(40000, [127, 0, 0, 1]), readAtUs: 5 };
    expect(endsRead(facts({ local: listener }, read, end(40000, [127, 0, 0, 1])))).toBeUndefined();
    expect(endsRead(facts({ local: listener }, read, undefined))).toEqual({ atUs: 5, local: false, remote: true });
    // A wildcard listener: each connection's local address is only in its socket.
    expect(endsRead(facts({ local: end(8080, [0, 0, 0, 0]) }, read, end(40000, [127, 0, 0, 1])))).toEqual({ atUs: 5, local: true, remote: false });
  });
});
