// Property tests (fast-check) on generated, random and mutated input: the record parser reads
// back what the kernel's format says and never throws; the sockaddr decoder never throws for
// any bytes of any length 0-128 and agrees with the struct layouts; the reassembler never
// throws, stays within its bounds, and accounts for every record; the whole pipeline takes
// mutated real lines. A failure prints its seed and path; PROPERTY_SEED=<seed> replays it,
// PROPERTY_RUNS=<n> runs each property n times (default: each property's own count; the
// sockaddr property runs n times per length), without the test timeout.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LossReport } from '../../../src/pipeline/loss.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { Reassembler, type AuditEvent } from '../../../src/pipeline/reassembler.js';
import { parseKernelRecord, parseLogLine } from '../../../src/pipeline/record.js';
import { decodeSockaddr, decodeSockaddrHex } from '../../../src/pipeline/sockaddr.js';
import { AUDIT_TYPE_NAMES } from '../../../src/linux/record-types.js';
import { fixtureLines, fixtureNames } from './fixtures.js';

const seed = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);
const timeout = process.env.PROPERTY_RUNS === undefined ? undefined : 24 * 3600_000;
const runs = (count: number): { seed: number | undefined; numRuns: number } => ({ seed, numRuns: process.env.PROPERTY_RUNS === undefined ? count : Number(process.env.PROPERTY_RUNS) });

const realLines = fixtureNames().flatMap((name) => fixtureLines(name));

/** A real fixture line with up to four edits: a character replaced, text inserted, a span deleted, or the line cut. */
const mutatedLine = fc
  .tuple(fc.constantFrom(...realLines), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 4 }))
  .map(([line, edits]) =>
    edits.reduce((text, [position, kind, insert]) => {
      const at = position % (text.length + 1);
      if (kind === 0) return text.slice(0, at) + (insert[0] ?? '\x00') + text.slice(at + 1);
      if (kind === 1) return text.slice(0, at) + insert + text.slice(at);
      if (kind === 2) return text.slice(0, at) + text.slice(at + 1 + insert.length);
      return text.slice(0, at);
    }, line),
  );

const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.constantFrom(...' =:"\'()\x1d\x00\x01\xff0123456789ABCDEFabcdef.typemsgaudit{}[]\\\n'), maxLength: 300 }), mutatedLine);

// kernel/audit.c audit_string_contains_control(): a byte below 0x21 or above 0x7e, or '"'.
const needsHex = (bytes: Uint8Array): boolean => bytes.some((byte) => byte < 0x21 || byte > 0x7e || byte === 0x22);

/** A field value as the kernel prints it, and what parsing must give back. */
const untrustedValue = fc.uint8Array({ maxLength: 40 }).map((bytes) => {
  const buffer = Buffer.from(bytes);
  if (buffer.length > 0 && needsHex(bytes)) return { text: buffer.toString('hex').toUpperCase(), value: buffer.toString('utf8') };
  return { text: `"${buffer.toString('latin1')}"`, value: buffer.toString('latin1') };
});
const plainValue = fc.stringMatching(/^[!#-&(-z|~][!-~]{0,20}$/).filter((text) => !text.includes('"') && !text.includes("'")).map((text) => ({ text, value: text }));
const fieldKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/).filter((key) => !['comm', 'exe', 'proctitle', 'key', 'cwd', 'name', 'path', 'new', 'old', 'data', 'root_dir', 'watch', 'vm', 'sauid', 'filter_key'].includes(key));

const generatedRecord = fc.record({
  type: fc.constantFrom(...AUDIT_TYPE_NAMES.keys()),
  seconds: fc.integer({ min: 0, max: 0xffffffff }),
  millis: fc.integer({ min: 0, max: 999 }),
  serial: fc.integer({ min: 1, max: 0xffffffff }),
  plain: fc.uniqueArray(fc.tuple(fieldKey, plainValue), { selector: ([key]) => key, maxLength: 8 }),
  untrusted: fc.uniqueArray(fc.tuple(fc.constantFrom('comm', 'exe', 'key', 'cwd', 'name'), untrustedValue), { selector: ([key]) => key, maxLength: 3 }),
  node: fc.option(fc.stringMatching(/^[a-z][a-z0-9.-]{0,15}$/), { nil: undefined }),
  enriched: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[A-Z][A-Z_]{0,7}$/), fc.stringMatching(/^[a-z0-9_]{1,10}$/)), { selector: ([key]) => key, maxLength: 4 }),
});

describe('record parser properties', () => {
  it('never throws on random, binary or mutated lines, in either form', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 0, max: 3000 }), (line, type) => {
        const asLog = parseLogLine(line);
        const asKernel = parseKernelRecord(type, line.replace(/^type=\S+ msg=/, ''));
        for (const result of [asLog, asKernel]) {
          if (result.ok) {
            expect(result.record.serial).toBeGreaterThanOrEqual(0);
            expect(result.record.serial).toBeLessThanOrEqual(0xffffffff);
            expect(Number.isFinite(result.record.time)).toBe(true);
          } else {
            expect(['no-header', 'bad-header', 'no-type']).toContain(result.error.kind);
          }
        }
      }),
      runs(3000),
    );
  }, timeout);

  it('reads back the header and every field of a record printed in the kernel format, hex-encoded strings decoded', () => {
    fc.assert(
      fc.property(generatedRecord, (generated) => {
        const fields = [...generated.plain, ...generated.untrusted];
        const body = `audit(${generated.seconds}.${String(generated.millis).padStart(3, '0')}:${generated.serial}): ${fields.map(([key, value]) => `${key}=${value.text}`).join(' ')}`;
        const name = AUDIT_TYPE_NAMES.get(generated.type) ?? '';
        const enriched = generated.enriched.map(([key, value]) => `${key}=${value}`).join(' ');
        const line = `${generated.node === undefined ? '' : `node=${generated.node} `}type=${name} msg=${body}${enriched === '' ? '' : `\x1d${enriched}`}`;
        for (const result of [parseKernelRecord(generated.type, Buffer.from(body, 'latin1')), parseLogLine(line)]) {
          expect(result.ok, line).toBe(true);
          if (!result.ok) return;
          expect(result.record).toMatchObject({ type: generated.type, typeName: name, serial: generated.serial, time: generated.seconds * 1000 + generated.millis });
          expect(Object.fromEntries(result.record.fields)).toEqual(Object.fromEntries(fields.map(([key, value]) => [key, value.value])));
        }
        const logged = parseLogLine(line);
        if (!logged.ok) return;
        expect(logged.record.node).toBe(generated.node ?? '');
        expect(Object.fromEntries(logged.record.enriched)).toEqual(Object.fromEntries(generated.enriched));
      }),
      runs(1000),
    );
  }, timeout);
});

// include/linux/socket.h families the decoder knows, and some it does not.
const FAMILIES = [0, 1, 2, 10, 16, 17, 40, 0xffff];
const MIN_LENGTH: Record<number, number> = { 1: 2, 2: 8, 10: 24, 16: 12 };

describe('sockaddr decoder properties', () => {
  it('decodes any bytes of every length 0-128 without throwing, the same from hex, ok exactly when the struct fits', () => {
    for (let length = 0; length <= 128; length++) {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: length, maxLength: length }), fc.option(fc.constantFrom(...FAMILIES), { freq: 2 }), (random, family) => {
          const bytes = Buffer.from(random);
          if (family !== null && bytes.length >= 2) bytes.writeUInt16LE(family, 0);
          const result = decodeSockaddr(bytes);
          expect(decodeSockaddrHex(bytes.toString('hex'))).toEqual(length === 0 ? { ok: false, error: expect.objectContaining({ kind: 'empty' }) } : result);
          if (length < 2) {
            expect(result).toMatchObject({ ok: false, error: { kind: 'too-short', family: undefined } });
            return;
          }
          const number = bytes.readUInt16LE(0);
          expect(result.ok).toBe(length >= (MIN_LENGTH[number] ?? 2));
          if (!result.ok) {
            expect(result.error).toMatchObject({ kind: 'too-short', family: number });
            return;
          }
          const value = result.value;
          if (value.family === 'inet') {
            expect(value.port).toBe(bytes.readUInt16BE(2));
            expect(value.addr).toBe([...bytes.subarray(4, 8)].join('.'));
          } else if (value.family === 'inet6') {
            expect(value.port).toBe(bytes.readUInt16BE(2));
            expect(value.scopeId).toBe(length >= 28 ? bytes.readUInt32LE(24) : undefined);
            if (!value.ipv4Mapped) {
              // Node's URL parser (WHATWG) serialises IPv6 as RFC 5952 does: an independent oracle.
              const groups = [...Array(8).keys()].map((i) => bytes.readUInt16BE(8 + 2 * i).toString(16)).join(':');
              expect(`[${value.addr}]`).toBe(new URL(`http://[${groups}]/`).hostname);
            }
          } else if (value.family === 'other') {
            expect(value.number).toBe(number);
            expect(value.data.length).toBe(length - 2);
          }
        }),
        runs(40),
      );
    }
  }, timeout);

  it('gives a typed error, never an exception, for text that is not even-length hex', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const result = decodeSockaddrHex(text);
        if (!result.ok) expect(['empty', 'not-hex', 'too-short']).toContain(result.error.kind);
        else expect(text).toMatch(/^([0-9A-Fa-f]{2})+$/);
      }),
      runs(2000),
    );
  }, timeout);
});

const SYSCALL = 1300;
const SOCKADDR = 1306;
const EOE = 1320;
const PROCTITLE = 1327;
const CONFIG_CHANGE = 1305;
const USER_LOGIN = 1112;
const DAEMON_START = 1200;
const AVC = 1400;

const step = fc.record({
  type: fc.constantFrom(SYSCALL, SYSCALL, SOCKADDR, EOE, PROCTITLE, CONFIG_CHANGE, USER_LOGIN, DAEMON_START, AVC),
  // Mostly the next serials, sometimes back (out of order, duplicates), sometimes far (gaps, resets).
  serialStep: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -3, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: -0xffffffff, max: 0xffffffff }) }),
  timeStep: fc.integer({ min: -50, max: 400 }),
  node: fc.constantFrom('', '', 'a', 'b'),
  advance: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }) }),
});

describe('reassembler properties', () => {
  it('never throws, stays within maxInFlight, and every record pushed ends in an event or is counted', () => {
    fc.assert(
      fc.property(
        fc.record({ maxInFlight: fc.integer({ min: 1, max: 16 }), timeoutMs: fc.integer({ min: 0, max: 500 }), recentCompleted: fc.integer({ min: 1, max: 64 }), maxSerialJump: fc.integer({ min: 1, max: 2_000_000 }) }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.array(step, { maxLength: 400 }),
        (options, firstSerial, steps) => {
          const events: AuditEvent[] = [];
          const losses: LossReport[] = [];
          const reassembler = new Reassembler({ ...options, onEvent: (event) => events.push(event), onLoss: (loss) => losses.push(loss) });
          const nodes = new Set<string>();
          let serial = firstSerial;
          let time = 1_700_000_000_000;
          for (const { type, serialStep, timeStep, node, advance } of steps) {
            serial = ((((serial - 1 + serialStep) % 0xffffffff) + 0xffffffff) % 0xffffffff) + 1;
            time = Math.max(0, time + timeStep);
            nodes.add(node);
            const prefix = node === '' ? '' : `node=${node} `;
            const parsed = parseLogLine(`${prefix}type=${AUDIT_TYPE_NAMES.get(type)} msg=audit(${Math.floor(time / 1000)}.${String(time % 1000).padStart(3, '0')}:${serial}): x=1`);
            if (!parsed.ok) throw new Error(parsed.error.message);
            reassembler.push(parsed.record);
            if (advance !== null) reassembler.advance(time + advance);
            expect(reassembler.inFlightCount).toBeLessThanOrEqual(options.maxInFlight);
            expect(reassembler.trackedSerials).toBeLessThanOrEqual(nodes.size * options.maxInFlight + options.recentCompleted);
          }
          reassembler.flush();
          expect(reassembler.inFlightCount).toBe(0);
          const inEvents = events.reduce((sum, event) => sum + event.records.length, 0);
          const late = losses.filter((loss) => loss.reason === 'late_record').reduce((sum, loss) => sum + loss.count, 0);
          expect(inEvents + late + reassembler.trailingEnds).toBe(steps.length);
          expect(reassembler.eventCount).toBe(events.length);
          for (const event of events) expect(event.records.every((record) => record.serial === event.serial && record.node === event.node)).toBe(true);
          for (const loss of losses) expect(loss.count).toBeGreaterThanOrEqual(0);
        },
      ),
      runs(500),
    );
  }, timeout);
});

describe('pipeline properties', () => {
  it('takes shuffled and mutated real lines without throwing, its tables bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 7, arbitrary: fc.constantFrom(...realLines) }, { weight: 3, arbitrary: mutatedLine }), { maxLength: 200 }), (lines) => {
        const pipeline = new Pipeline({ onFlow: () => {}, maxInFlight: 32, socketTableSize: 8 });
        for (const line of lines) {
          pipeline.pushLogLine(line);
          const stats = pipeline.stats();
          expect(stats.inFlight).toBeLessThanOrEqual(32);
          expect(stats.sockets).toBeLessThanOrEqual(8);
        }
        pipeline.flush();
        expect(pipeline.stats().inFlight).toBe(0);
      }),
      runs(300),
    );
  }, timeout);
});
