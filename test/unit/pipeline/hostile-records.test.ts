// Hostile records, through the Pipeline and through `auditflow replay`: cut records, events without
// their end, repeated serials, a huge PROCTITLE, saddr of every length, unknown types, bytes that are
// not UTF-8, comm and exe beyond the kernel's bounds. Nothing throws, every record is either taken or counted, and the pipeline's state stays
// within its bounds. The records are real ones (test/fixtures/connect-tcp4-refused.log) with one thing
// changed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../../src/pipeline/flow.js';
import type { LossReport } from '../../../src/pipeline/loss.js';
import { Pipeline, type PipelineOptions } from '../../../src/pipeline/pipeline.js';
import { AUDIT_EOE, AUDIT_PROCTITLE, AUDIT_SOCKADDR, AUDIT_SYSCALL } from '../../../src/linux/record-types.js';
import { run } from '../../helpers/child.js';
import { cli } from '../../helpers/daemon.js';
import { fixtureLines, kernelRecord, runBatches, runKernelRecords, runLogLines } from './fixtures.js';

// The connect event of the fixture: SYSCALL, SOCKADDR, PROCTITLE, EOE (serial 711768).
const [socketLines, connectLines] = ((lines) => [lines.slice(0, 3), lines.slice(3)])(fixtureLines('connect-tcp4-refused'));
const SERIAL = 711768;

/** The connect event's lines with another serial, and the changes `edit` makes. */
function connectEvent(serial: number, edit: (lines: string[]) => string[] = (lines) => lines): string[] {
  return edit((connectLines as string[]).map((line) => line.replace(`:${SERIAL})`, `:${serial})`)));
}

function setType(lines: string[], type: string, change: (line: string) => string): string[] {
  return lines.map((line) => (line.startsWith(`type=${type} `) ? change(line) : line));
}

function collect(options: Partial<PipelineOptions> = {}): { pipeline: Pipeline; flows: Flow[]; losses: LossReport[]; lost: (reason: string) => number } {
  const flows: Flow[] = [];
  const losses: LossReport[] = [];
  const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), onLoss: (loss) => losses.push(loss), ...options });
  return { pipeline, flows, losses, lost: (reason) => losses.filter((l) => l.reason === reason).reduce((sum, l) => sum + l.count, 0) };
}

/** The kernel form of a log line: its type number and the text after `msg=`. */
function kernelForm(line: string): { type: number; payload: Buffer } {
  const match = /^type=(\w+) msg=(.*)$/s.exec(line);
  const type = { SYSCALL: AUDIT_SYSCALL, SOCKADDR: AUDIT_SOCKADDR, PROCTITLE: AUDIT_PROCTITLE, EOE: AUDIT_EOE }[match?.[1] ?? ''];
  if (match === null || type === undefined) throw new Error(`not a record line: ${line}`);
  return { type, payload: Buffer.from(match[2] ?? '', 'latin1') };
}

describe('hostile records through the pipeline', () => {
  it('a record cut at every length is taken or counted as a parse error, never thrown', () => {
    const { pipeline } = collect();
    let fed = 0;
    for (const line of [...socketLines, ...connectLines] as string[]) {
      for (let length = 0; length <= line.length; length++) {
        const cut = line.slice(0, length);
        expect(() => pipeline.pushLogLine(cut), JSON.stringify(cut)).not.toThrow();
        if (cut.trim() !== '') fed++;
        const { type, payload } = kernelForm(line);
        expect(() => pipeline.pushKernelRecord(type, payload.subarray(0, Math.min(length, payload.length)))).not.toThrow();
        fed++;
      }
    }
    pipeline.flush();
    const stats = pipeline.stats();
    expect(stats.records + (stats.losses['parse_error'] ?? 0)).toBe(fed);
    expect(stats.inFlight).toBe(0);
  });

  it('events without their EOE and PROCTITLE end by timeout, each counted as incomplete', () => {
    const { pipeline, flows, lost } = collect();
    for (let i = 0; i < 50; i++) for (const line of connectEvent(SERIAL + i, (lines) => lines.slice(0, 2))) pipeline.pushLogLine(line);
    expect(pipeline.stats().inFlight).toBe(50);
    pipeline.advance(1795252393453 + 60_000);
    expect(pipeline.stats().inFlight).toBe(0);
    expect(lost('reassembly_timeout')).toBe(50);
    // The SYSCALL and SOCKADDR are there: each is still a flow, without its argv.
    expect(flows).toHaveLength(50);
    expect(flows.every((flow) => flow.remote_port === 9 && flow.argv.length === 0)).toBe(true);
  });

  it('an event sent twice under one serial is one flow; its repeated records are counted as late', () => {
    const { pipeline, flows, lost } = collect();
    for (const line of [...connectEvent(SERIAL), ...connectEvent(SERIAL)]) pipeline.pushLogLine(line);
    pipeline.flush();
    expect(flows).toHaveLength(1);
    // SYSCALL, SOCKADDR and PROCTITLE again; an EOE after its event ended is expected.
    expect(lost('late_record')).toBe(3);
  });

  it('two different events under one serial do not throw and end in one counted event', () => {
    const { pipeline, flows, losses } = collect();
    const other = connectEvent(SERIAL, (lines) => setType(lines, 'SOCKADDR', (line) => line.replace(/saddr=\w+/, 'saddr=0A0000350000000000000000000000000000000000000001000000000')));
    expect(() => [...connectEvent(SERIAL).slice(0, 2), ...other].forEach((line) => pipeline.pushLogLine(line))).not.toThrow();
    pipeline.flush();
    expect(flows.length + losses.filter((l) => l.count > 0).length).toBeGreaterThanOrEqual(1);
    expect(pipeline.stats().inFlight).toBe(0);
  });

  it('a huge PROCTITLE (1 MiB of argv) decodes exactly, and a flood of huge ones leaves nothing behind', () => {
    const { pipeline, flows } = collect();
    const argv = ['/bin/huge', 'a'.repeat(512 * 1024), 'b'.repeat(512 * 1024)];
    const hex = Buffer.from(argv.join('\0')).toString('hex').toUpperCase();
    for (let i = 0; i < 20; i++) {
      for (const line of connectEvent(SERIAL + i, (lines) => setType(lines, 'PROCTITLE', (l) => l.replace(/proctitle=\w+/, `proctitle=${hex}`)))) pipeline.pushLogLine(line);
    }
    pipeline.flush();
    expect(flows).toHaveLength(20);
    expect(flows[19]?.argv).toEqual(argv);
    expect(pipeline.stats()).toMatchObject({ inFlight: 0 });
  });

  it('a saddr of every length from 0 to 128 bytes, of each family, is a flow or a counted loss', () => {
    const { pipeline, flows, lost } = collect({ families: new Set(['inet', 'inet6']) });
    const families = ['0200', '0A00', '0100', '1000', 'FFFF'];
    let events = 0;
    for (const family of families) {
      for (let length = 0; length <= 128; length++) {
        // The family, then bytes of a real address and its padding, then 0xAB.
        const bytes = Buffer.alloc(length, 0xab);
        Buffer.from(`${family}0009${'7F000001'}${'00'.repeat(24)}`, 'hex').copy(bytes, 0, 0, length);
        for (const hex of [bytes.toString('hex').toUpperCase(), bytes.toString('hex').toUpperCase() + 'A']) {
          const lines = connectEvent(SERIAL + events, (l) => setType(l, 'SOCKADDR', (line) => line.replace(/saddr=\w+/, `saddr=${hex}`)));
          for (const line of lines) expect(() => pipeline.pushLogLine(line), line).not.toThrow();
          events++;
        }
      }
    }
    pipeline.flush();
    // Each event is a flow, an address that could not be decoded, or a family the filter drops.
    expect(flows.length + lost('bad_sockaddr') + (pipeline.stats().losses.family ?? 0)).toBe(events);
    expect(lost('bad_sockaddr')).toBeGreaterThan(0);
    expect(flows.filter((flow) => flow.remote_port === 9 && flow.remote_addr === '127.0.0.1').length).toBeGreaterThan(0);
    for (const flow of flows) expect(() => JSON.parse(JSON.stringify(flow))).not.toThrow();
  });

  it('records of unknown types join their event or stand alone, never thrown', () => {
    const { pipeline, flows } = collect();
    const lines = connectEvent(SERIAL);
    lines.splice(2, 0, `type=UNKNOWN[1999] msg=audit(1795252393.453:${SERIAL}): what=ever`);
    for (const line of lines) pipeline.pushLogLine(line);
    expect(() => pipeline.pushKernelRecord(9999, Buffer.from(`audit(1795252393.453:${SERIAL + 1}): \x00\xff\x01=\x02`, 'latin1'))).not.toThrow();
    expect(() => pipeline.pushKernelRecord(0, Buffer.from('garbage'))).not.toThrow();
    expect(() => pipeline.pushKernelRecord(65535, Buffer.alloc(0))).not.toThrow();
    pipeline.flush();
    expect(flows).toHaveLength(1);
    expect(pipeline.stats().losses['parse_error']).toBe(2);
  });

  it('bytes that are not UTF-8 decode to U+FFFD in comm, exe and argv, and the flow stays valid JSON', () => {
    const { pipeline, flows } = collect();
    const hex = (bytes: number[]): string => Buffer.from(bytes).toString('hex').toUpperCase();
    const bad = [0x66, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x0a, 0x1b, 0x5b, 0x33, 0x31, 0x6d];
    const lines = connectEvent(SERIAL, (l) =>
      setType(setType(l, 'SYSCALL', (line) => line.replace(/comm="[^"]*"/, `comm=${hex(bad)}`).replace(/exe="[^"]*"/, `exe=${hex([0x2f, ...bad])}`)), 'PROCTITLE', (line) =>
        line.replace(/proctitle=\w+/, `proctitle=${hex([...bad, 0, 0xed, 0xa0, 0x80])}`),
      ),
    );
    for (const line of lines) pipeline.pushLogLine(line);
    // The kernel form, with raw bytes above 0x7F in a value the kernel never writes raw.
    for (const line of connectEvent(SERIAL + 1)) {
      const { type, payload } = kernelForm(line);
      pipeline.pushKernelRecord(type, Buffer.concat([payload, Buffer.from(' junk=\xff\xfe\x80', 'latin1')]));
    }
    pipeline.flush();
    expect(flows).toHaveLength(2);
    const decoded = Buffer.from(bad).toString('utf8');
    expect(flows[0]).toMatchObject({ comm: decoded, exe: `/${decoded}`, argv: [decoded, Buffer.from([0xed, 0xa0, 0x80]).toString('utf8')] });
    expect(decoded).toContain('\ufffd');
    for (const flow of flows) expect(JSON.parse(JSON.stringify(flow))).toEqual(flow);
  });

  it("comm and exe longer than the kernel writes are cut at its bounds, alike in the log, kernel and fast paths", () => {
    const hex = (text: string): string => Buffer.from(text).toString('hex').toUpperCase();
    // TASK_COMM_LEN - 1 = 15 bytes, the 15th and 16th an é the bound would split; PATH_MAX + 10 bytes.
    const comm = `${'c'.repeat(14)}é${'x'.repeat(1 << 20)}`;
    const exe = `/${'e'.repeat(1 << 20)}`;
    const events = [
      connectEvent(SERIAL, (l) => setType(l, 'SYSCALL', (line) => line.replace(/comm="[^"]*"/, `comm=${hex(comm)}`).replace(/exe="[^"]*"/, `exe="${exe}"`))),
      connectEvent(SERIAL + 1, (l) => setType(l, 'SYSCALL', (line) => line.replace(/comm="[^"]*"/, `comm="${comm.replace('é', 'e')}"`).replace(/exe="[^"]*"/, `exe=${hex(exe)}`))),
    ].flat();
    const paths = [runLogLines(events), runKernelRecords(events), runBatches(events.map(kernelRecord), [])];
    for (const { flows } of paths) {
      expect(flows.map((flow) => flow.comm)).toEqual(['c'.repeat(14), `${'c'.repeat(14)}e`]);
      expect(flows.map((flow) => flow.exe)).toEqual([exe.slice(0, 4106), exe.slice(0, 4106)]);
    }
    expect(paths[2]?.flows).toEqual(paths[0]?.flows);
  });

  it('long runs of line ends and NULs are stripped in one pass, not one per position', () => {
    const { pipeline } = collect();
    // A quadratic trailing-whitespace strip would take minutes on these.
    pipeline.pushLogLine(`${'\r'.repeat(400_000)}x`);
    pipeline.pushKernelRecord(AUDIT_SYSCALL, Buffer.concat([Buffer.alloc(400_000), Buffer.from('x')]));
    pipeline.pushKernelRecord(AUDIT_EOE, Buffer.concat([Buffer.from(`audit(1795252393.453:${SERIAL}): `), Buffer.alloc(400_000)]));
    pipeline.flush();
    expect(pipeline.stats()).toMatchObject({ records: 1, losses: { 'parse_error': 2 } });
  }, 20_000);

  it('a flood of events that never end, and of sockets, stays within maxInFlight and the socket table size', () => {
    const { pipeline, lost } = collect({ maxInFlight: 256, socketTableSize: 512 });
    const [syscall] = socketLines as string[];
    for (let i = 0; i < 20_000; i++) {
      // A socket() SYSCALL of another pid and fd each time, never ended by its PROCTITLE or EOE.
      const line = (syscall as string)
        .replace(':711767)', `:${1_000_000 + i})`)
        .replace(/ exit=3 /, ` exit=${3 + (i % 1000)} `)
        .replace(/ pid=16610 /, ` pid=${100_000 + i} `);
      pipeline.pushLogLine(line);
      const stats = pipeline.stats();
      expect(stats.inFlight).toBeLessThanOrEqual(256);
      expect(stats.sockets).toBeLessThanOrEqual(512);
    }
    pipeline.flush();
    expect(lost('reassembly_timeout')).toBe(20_000);
    expect(pipeline.stats()).toMatchObject({ records: 20_000, events: 20_000, inFlight: 0 });
  });
});

describe('hostile records through auditflow replay', () => {
  it('reads a log of every kind of hostile line to the end: exit 0, JSON flows, each bad line counted', async () => {
    const lines: string[] = [
      ...socketLines,
      ...connectEvent(SERIAL),
      ...connectEvent(SERIAL),
      ...connectEvent(SERIAL + 1, (l) => l.slice(0, 2)),
      ...connectEvent(SERIAL + 2, (l) => setType(l, 'SOCKADDR', (line) => line.replace(/saddr=\w+/, 'saddr=0200'))),
      ...connectEvent(SERIAL + 3, (l) => setType(l, 'SYSCALL', (line) => line.replace(/comm="[^"]*"/, 'comm=FFFE1B5B33316D0A22'))),
      `type=UNKNOWN[1999] msg=audit(1795252393.453:${SERIAL + 4}): what=ever`,
      ((connectLines as string[])[0] as string).slice(0, 40),
      'type=SYSCALL msg=audit(',
      '\x00\x01\x02',
      ...connectEvent(SERIAL + 5, (l) => setType(l, 'PROCTITLE', (line) => line.replace(/proctitle=\w+/, `proctitle=${'41'.repeat(300_000)}`))),
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'auditflow-hostile-')), 'audit.log');
    writeFileSync(file, Buffer.concat([Buffer.from(lines.join('\n') + '\n', 'latin1'), Buffer.from([0xff, 0xfe, 0x0a])]));
    const result = await run(process.execPath, [cli, 'replay', file]);
    expect(result.code).toBe(0);
    const flows = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Flow);
    // SERIAL + 2 has a 2-byte saddr: no address, counted; SERIAL + 1 lacks its end and comes out last.
    const bySerial = new Map(flows.map((flow) => [flow.serial, flow]));
    expect(flows.map((flow) => flow.serial)).toEqual([SERIAL, SERIAL + 3, SERIAL + 5, SERIAL + 1]);
    expect(bySerial.get(SERIAL + 3)?.comm).toBe(Buffer.from('FFFE1B5B33316D0A22', 'hex').toString('utf8'));
    expect(bySerial.get(SERIAL + 5)?.argv[0]).toHaveLength(300_000);
    expect(result.stderr).toMatch(/^auditflow replay: \d+ lines, \d+ records, \d+ events, 4 flows$/m);
    expect(result.stderr).toMatch(/losses: .*bad_sockaddr=1/);
    expect(result.stderr).toMatch(/reassembly_timeout=1/);
    expect(result.stderr).toMatch(/late_record=3/);
    expect(result.stderr).toMatch(/4 malformed line\(s\) skipped/);
  });
});
