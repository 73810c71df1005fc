// The fast path (Pipeline.pushBatch: whole events read from the batch's bytes) against the generic
// path (each record through parseKernelRecord): the same flows, the same loss reports and the same
// counts, on every captured fixture cut into two batches at every record boundary, and on generated
// events (hex-encoded strings, odd and foreign records, gaps, duplicates, interleaving, bad headers,
// control replies) cut anywhere. PROPERTY_SEED / PROPERTY_RUNS as in properties.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeLookups } from '../../../src/native/socket-lookups.js';
import { lookupCalls } from '../../../src/pipeline/socket-calls.js';
import { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM } from '../../../src/linux/socket.js';
import type { SocketInfo, SocketResolver } from '../../../src/pipeline/sockets.js';
import { fixtureLines, fixtureNames, kernelRecord, recordBatch, runBatches, runWith, type KernelRecord, type Run } from './fixtures.js';

const seed = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);
const timeout = process.env.PROPERTY_RUNS === undefined ? 60_000 : 24 * 3600_000;
const runs = (count: number): { seed: number | undefined; numRuns: number } => ({ seed, numRuns: process.env.PROPERTY_RUNS === undefined ? count : Number(process.env.PROPERTY_RUNS) });

// include/uapi/linux/audit.h AUDIT_FIRST_USER_MSG: the socket hands types below it to the control plane.
const FIRST_USER_MSG = 1100;

type Options = Parameters<typeof runBatches>[2];

/** The generic path, as the daemon fed it before batches: each kernel record through pushKernelRecord. */
function runGeneric(records: KernelRecord[], options: Options = {}): Run {
  return runWith(options ?? {}, (pipeline) => {
    for (const { type, payload } of records) if (type >= FIRST_USER_MSG) pipeline.pushKernelRecord(type, payload);
  });
}

/** A resolver whose answer depends only on (pid, fd), so both paths can be given one each. */
const resolver: SocketResolver = (pid, fd) =>
  (pid + fd) % 3 === 0
    ? undefined
    : { family: fd % 2 === 0 ? AF_INET : AF_INET6, type: SOCK_STREAM, protocol: 6, local: fd % 2 === 0 ? { addr: '127.0.0.1', port: 40000 + fd, bytes: Buffer.from([127, 0, 0, 1]) } : undefined, remote: undefined, source: 'proc' };

function expectSame(fast: Run, generic: Run): void {
  expect(fast.flows).toEqual(generic.flows);
  expect(fast.losses).toEqual(generic.losses);
  expect(fast.stats).toEqual(generic.stats);
}

describe('fast path and generic path', () => {
  for (const name of fixtureNames()) {
    it(`${name}: the same flows and losses, in one batch and cut into two at every record boundary`, () => {
      const records = fixtureLines(name).map(kernelRecord);
      for (const options of [{}, { resolver, aggregateWindowMs: 0 }]) {
        const generic = runGeneric(records, options);
        expectSame(runBatches(records, [], options), generic);
        for (let cut = 1; cut < records.length; cut++) expectSame(runBatches(records, [cut], options), generic);
      }
    });
  }
});

const SYSCALL = 1300;
const SOCKETCALL = 1304;
const SOCKADDR = 1306;
const EOE = 1320;
const PROCTITLE = 1327;
const PATH = 1302;
const USER_LOGIN = 1112;
const REPLACE = 1329;

const hexOf = (text: string): string => Buffer.from(text, 'latin1').toString('hex').toUpperCase();
const SADDRS = [
  '020000357F0000010000000000000000', // inet 127.0.0.1:53
  '0A000035000000000000000000000000000000000000000100000000', // inet6 ::1
  '0A00003500000000000000000000FFFF7F00000100000000', // inet6 mapped, 24 bytes
  '01002F746D702F736F636B', // unix path
  '100000000000000000000000', // netlink
  '0200', // too short
  'XYZ', // not hex
  '',
];
const string = fc.oneof(
  fc.constantFrom('curl', 'a b', 'x"y', '(null)', 'é', '/usr/bin/ssh').map((text) => (/^[!#-~]+$/.test(text) && text !== '(null)' ? `"${text}"` : text === '(null)' ? text : hexOf(text))),
  fc.stringMatching(/^[a-z]{1,8}$/).map((text) => `"${text}"`),
);
const hex = fc.oneof(fc.integer({ min: 0, max: 40 }).map((n) => n.toString(16)), fc.constantFrom('7fffbd5dec40', 'ffffffffffffff9c', 'zz', ''));

const event = fc.record({
  serialStep: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: -2, max: 5 }) }),
  timeStep: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4000 }) }),
  arch: fc.constantFrom('c000003e', 'c000003e', '40000003', 'c00000b7', '40000028', 'deadbeef'),
  syscall: fc.constantFrom(41, 42, 43, 44, 46, 49, 288, 102, 203, 206, 59, 999999999999999999),
  success: fc.boolean(),
  exit: fc.constantFrom(0, 3, 4, -111, -115, -2, 12345678901234567),
  args: fc.tuple(hex, hex, hex, hex),
  pid: fc.integer({ min: 100, max: 104 }),
  comm: string,
  exe: string,
  key: fc.constantFrom('"net"', '(null)', hexOf('a\x01b')),
  saddr: fc.option(fc.constantFrom(...SADDRS), { nil: undefined }),
  socketcall: fc.option(fc.tuple(hex, hex, hex, hex), { nil: undefined }),
  path: fc.boolean(),
  proctitle: fc.option(fc.constantFrom(hexOf('curl\x00-s\x00x'), '"sleep"', '(null)', hexOf('a\x00\x00')), { nil: undefined }),
  end: fc.constantFrom('eoe', 'eoe', 'proctitle-only', 'none'),
  noise: fc.array(fc.constantFrom('control', 'replace', 'login', 'bad-header', 'separator', 'nul', 'long-serial'), { maxLength: 2 }),
});

type GeneratedEvent = typeof event extends fc.Arbitrary<infer T> ? T : never;

/** Events printed as the kernel prints them (kernel/auditsc.c audit_log_exit), with noise between them. */
function printEvents(events: Array<GeneratedEvent>): KernelRecord[] {
  const records: KernelRecord[] = [];
  let serial = 5000;
  let time = 1_795_252_393_000;
  const add = (type: number, text: string): void => void records.push({ type, payload: Buffer.from(text, 'latin1') });
  for (const e of events) {
    serial += e.serialStep;
    time += e.timeStep;
    const header = `audit(${Math.floor(time / 1000)}.${String(time % 1000).padStart(3, '0')}:${serial}): `;
    for (const noise of e.noise) {
      if (noise === 'control') add(1000, 'control reply bytes');
      if (noise === 'replace') records.push({ type: REPLACE, payload: Buffer.from([1, 2, 0, 0]) });
      if (noise === 'login') add(USER_LOGIN, `${header}pid=1 uid=0 msg='op=login acct="x" res=success'`);
      if (noise === 'bad-header') add(PATH, `audit(12:${serial}): item=0`);
    }
    const [a0, a1, a2, a3] = e.args;
    const separator = e.noise.includes('separator') ? '\x1dUID="root"' : '';
    add(SYSCALL, `${header}arch=${e.arch} syscall=${e.syscall} success=${e.success ? 'yes' : 'no'} exit=${e.exit} a0=${a0} a1=${a1} a2=${a2} a3=${a3} items=1 ppid=1 pid=${e.pid} auid=4294967295 uid=0 gid=0 euid=0 ses=4294967295 tty=(none) comm=${e.comm} exe=${e.exe} key=${e.key}${separator}`);
    if (e.socketcall) add(SOCKETCALL, `${header}nargs=4 a0=${e.socketcall[0]} a1=${e.socketcall[1]} a2=${e.socketcall[2]} a3=${e.socketcall[3]}`);
    if (e.saddr !== undefined) add(SOCKADDR, `${header}saddr=${e.saddr}${e.noise.includes('nul') ? '\0' : ''}`);
    if (e.path) add(PATH, `${header}item=0 name="/tmp" inode=1`);
    if (e.noise.includes('long-serial')) add(PATH, `audit(${Math.floor(time / 1000)}.000:0000000000000000${serial}): item=1`);
    if (e.end !== 'none' && e.proctitle !== undefined) add(PROCTITLE, `${header}proctitle=${e.proctitle}`);
    if (e.end === 'eoe' || (e.end === 'proctitle-only' && e.proctitle === undefined)) add(EOE, header);
  }
  return records;
}

const scenario = fc.record({
  events: fc.array(event, { minLength: 1, maxLength: 12 }),
  cuts: fc.array(fc.nat({ max: 80 }), { maxLength: 6 }),
  swaps: fc.array(fc.nat({ max: 80 }), { maxLength: 2 }),
  maxInFlight: fc.constantFrom(1, 2, 4096),
  eventTimeoutMs: fc.constantFrom(0, 1000, 2000),
  families: fc.constantFrom<Array<Options>>({}, { families: 'all' as const }),
  resolve: fc.boolean(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** A scenario's records, with the swaps applied: records of neighbouring events interleaved, as tasks on two CPUs can leave them. */
function scenarioRecords(s: Scenario): KernelRecord[] {
  const records = printEvents(s.events);
  for (const at of s.swaps) {
    const i = at % records.length;
    const j = Math.min(i + 1, records.length - 1);
    [records[i], records[j]] = [records[j] as KernelRecord, records[i] as KernelRecord];
  }
  return records;
}

const scenarioOptions = (s: Scenario): Options => ({ ...s.families, maxInFlight: s.maxInFlight, eventTimeoutMs: s.eventTimeoutMs, aggregateWindowMs: 0, ...(s.resolve ? { resolver } : {}) });

describe('fast path properties', () => {
  it('gives the same flows, losses and counts as the generic path on generated events, cut into two batches at every record boundary', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const records = scenarioRecords(s);
        const options = scenarioOptions(s);
        const generic = runGeneric(records, options);
        for (let cut = 0; cut < records.length; cut++) expectSame(runBatches(records, [cut], options), generic);
      }),
      runs(150),
    );
  }, timeout);

  it('gives the same as the generic path on generated events cut into many batches anywhere', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const records = scenarioRecords(s);
        expectSame(runBatches(records, s.cuts, scenarioOptions(s)), runGeneric(records, scenarioOptions(s)));
      }),
      runs(400),
    );
  }, timeout);
});

describe('early socket lookups', () => {
  it('asks the addon to look up every socket call but socketcall(2), by what the call names', () => {
    const triples = lookupCalls();
    const kinds = new Map<string, number>();
    for (let i = 0; i + 3 <= triples.length; i += 3) kinds.set(`${(triples[i] as number).toString(16)}:${triples[i + 1]}`, triples[i + 2] as number);
    // x86_64 (AUDIT_ARCH_X86_64 = c000003e): socket 41 remembered, connect 42 / sendto 44 / bind 49 by a0, accept 43 / accept4 288 by exit.
    expect([41, 42, 44, 49, 43, 288].map((call) => kinds.get(`c000003e:${call}`))).toEqual([0, 1, 1, 1, 2, 2]);
    // i386's socketcall (102) carries its arguments in a record of its own: not looked up.
    expect(kinds.has('40000003:102')).toBe(false);
    expect(kinds.get('40000003:362')).toBe(1);
  });

  const records = fixtureLines('connect-tcp4-ok').map(kernelRecord);
  const connectIndex = records.findIndex((record) => record.type === SYSCALL && / syscall=42 .* exit=0 /.test(record.payload.toString('latin1')));
  const connect = records[connectIndex]?.payload.toString('latin1') ?? '';
  const pid = Number(/ pid=(\d+)/.exec(connect)?.[1]);
  const fd = Number.parseInt(/ a0=([0-9a-f]+)/.exec(connect)?.[1] ?? '', 16);
  const local = Buffer.from('0200D4317F0000010000000000000000', 'hex'); // 127.0.0.1:54321
  const entry = (status: number, at = connectIndex) => ({ record: at, pid, fd, status, family: AF_INET, type: SOCK_STREAM, protocol: 6, flags: 0, local, remote: null });
  const asked: Array<[number, number]> = [];
  // The resolver's calls about the connect's socket (the listener's bind is looked up too).
  const counting: SocketResolver = (p, f): SocketInfo | undefined => {
    if (f === fd) asked.push([p, f]);
    return undefined;
  };
  const connectFlow = (lookups: Buffer | null) => {
    asked.length = 0;
    const run = runWith({ resolver: counting }, (pipeline) => pipeline.pushBatch(recordBatch(records, lookups)));
    return run.flows.find((flow) => flow.op === 'connect');
  };

  it('takes the local side of a connect from the lookup the addon made, and does not ask the resolver', () => {
    expect(connectFlow(encodeLookups([entry(0)]))).toMatchObject({ local_addr: '127.0.0.1', local_port: 54321 });
    expect(asked).toEqual([]);
  });

  it('keeps the lookup of a SYSCALL record whose event ends in the next batch, for that event', () => {
    asked.length = 0;
    const cut = connectIndex + 1;
    const run = runWith({ resolver: counting }, (pipeline) => {
      pipeline.pushBatch(recordBatch(records.slice(0, cut), encodeLookups([entry(0)])));
      pipeline.pushBatch(recordBatch(records.slice(cut)));
    });
    expect(run.flows.find((flow) => flow.op === 'connect')).toMatchObject({ local_addr: '127.0.0.1', local_port: 54321 });
    expect(asked).toEqual([]);
  });

  it('asks the resolver as before when the lookup failed (EPERM), or names another record or socket', () => {
    for (const lookups of [encodeLookups([entry(1)]), encodeLookups([entry(0, connectIndex + 1)]), encodeLookups([{ ...entry(0), fd: fd + 1 }]), null]) {
      expect(connectFlow(lookups)).toMatchObject({ local_port: null });
      expect(asked).toEqual([[pid, fd]]);
    }
  });

  it("asks an accept's listener only when the addon found the accepted socket gone or of its kind, not another family's", () => {
    // accept4(listener, NULL, ...) of a listener made before: its socket() and bind are not in the records.
    const lines = fixtureLines('accept4-nopeer');
    const accepts = lines.slice(lines.findIndex((line) => line.includes('syscall=41 success=yes exit=4'))).map(kernelRecord);
    const at = accepts.findIndex((record) => record.type === SYSCALL && / syscall=288 /.test(record.payload.toString('latin1')));
    const text = accepts[at]?.payload.toString('latin1') ?? '';
    const acceptPid = Number(/ pid=(\d+)/.exec(text)?.[1]);
    const listenerFd = Number.parseInt(/ a0=([0-9a-f]+)/.exec(text)?.[1] ?? '', 16);
    const acceptedFd = Number(/ exit=(\d+)/.exec(text)?.[1]);
    const listener: SocketInfo = { family: AF_INET, type: SOCK_STREAM, protocol: 6, local: { addr: '127.0.0.1', port: 56311, bytes: Buffer.from([127, 0, 0, 1]) }, remote: undefined, source: 'socket' };
    const lookup = (status: number, family: number) => encodeLookups([{ record: at, pid: acceptPid, fd: acceptedFd, status, family, type: SOCK_STREAM, protocol: family === AF_UNIX ? 0 : 6, flags: 0, local: Buffer.alloc(16), remote: null }]);
    const ask = (lookups: Buffer) => {
      const listeners: number[] = [];
      const run = runWith({ resolver: (_p, f) => (f === listenerFd ? (listeners.push(f), listener) : undefined) }, (pipeline) => pipeline.pushBatch(recordBatch(accepts, lookups)));
      return { listeners, accept: run.flows.find((flow) => flow.op === 'accept') };
    };
    // Gone (EBADF): the listener answers for its family and local end.
    expect(ask(lookup(9, AF_INET))).toEqual({ listeners: [listenerFd], accept: expect.objectContaining({ family: 'inet', local_port: 56311, remote_addr: null }) });
    // Found, an AF_UNIX socket: no inet listener to ask.
    expect(ask(lookup(0, AF_UNIX))).toEqual({ listeners: [], accept: undefined });
  });

  it('asks no resolver when the addon found the process or the fd already gone (the fd may name another socket by now)', () => {
    for (const status of [3, 9, 88]) {
      expect(connectFlow(encodeLookups([entry(status)]))).toMatchObject({ local_port: null });
      expect(asked).toEqual([]);
    }
  });
});
