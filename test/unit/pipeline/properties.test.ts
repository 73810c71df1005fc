// Property tests on random and mutated input, driven by a seeded PRNG (mulberry32) so a
// failure names its seed and replays exactly: the parser, the sockaddr decoder and the
// reassembler never throw, and the pipeline's state stays within its bounds.
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { Reassembler } from '../../../src/pipeline/reassembler.js';
import { parseKernelRecord, parseLogLine } from '../../../src/pipeline/record.js';
import { decodeSockaddr, decodeSockaddrHex } from '../../../src/pipeline/sockaddr.js';
import { fixtureLines, fixtureNames } from './fixtures.js';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261121);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 2000);

type Random = () => number;

function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (random: Random, n: number): number => Math.floor(random() * n);
const pick = <T>(random: Random, list: readonly T[]): T => list[int(random, list.length)]!;
const ALPHABET = ' =:"\'()\x1d\x00\x01\xff0123456789ABCDEFabcdef.typemsgaudit{}[]\\\n';

function randomText(random: Random, max: number): string {
  let text = '';
  const length = int(random, max);
  for (let i = 0; i < length; i++) text += ALPHABET[int(random, ALPHABET.length)];
  return text;
}

/** A real line with a few bytes changed, inserted, deleted or the line cut short. */
function mutate(random: Random, line: string): string {
  let text = line;
  const edits = 1 + int(random, 4);
  for (let i = 0; i < edits; i++) {
    const at = int(random, text.length + 1);
    switch (int(random, 4)) {
      case 0:
        text = text.slice(0, at) + ALPHABET[int(random, ALPHABET.length)] + text.slice(at + 1);
        break;
      case 1:
        text = text.slice(0, at) + randomText(random, 8) + text.slice(at);
        break;
      case 2:
        text = text.slice(0, at) + text.slice(at + 1 + int(random, 10));
        break;
      default:
        text = text.slice(0, at);
    }
  }
  return text;
}

const realLines = fixtureNames().flatMap((name) => fixtureLines(name));

describe(`properties (seed ${SEED}, ${RUNS} runs; PROPERTY_SEED/PROPERTY_RUNS to change)`, () => {
  it('the record parser never throws on random or mutated lines', () => {
    const random = mulberry32(SEED);
    for (let i = 0; i < RUNS; i++) {
      const line = random() < 0.5 ? randomText(random, 300) : mutate(random, pick(random, realLines));
      expect(() => parseLogLine(line), `seed ${SEED} run ${i}: ${JSON.stringify(line)}`).not.toThrow();
      expect(() => parseKernelRecord(int(random, 3000), line.replace(/^type=\S+ msg=/, '')), `seed ${SEED} run ${i}`).not.toThrow();
    }
  });

  it('the sockaddr decoder never throws, whatever the bytes or the hex', () => {
    const random = mulberry32(SEED + 1);
    const families = [0, 1, 2, 10, 16, 17, 40, 0xffff];
    for (let i = 0; i < RUNS; i++) {
      const bytes = Buffer.alloc(int(random, 140));
      for (let j = 0; j < bytes.length; j++) bytes[j] = int(random, 256);
      if (bytes.length >= 2 && random() < 0.7) bytes.writeUInt16LE(pick(random, families), 0);
      expect(() => decodeSockaddr(bytes), `seed ${SEED + 1} run ${i}: ${bytes.toString('hex')}`).not.toThrow();
      const hex = random() < 0.5 ? bytes.toString('hex') : randomText(random, 80);
      const result = decodeSockaddrHex(hex);
      expect(typeof result.ok).toBe('boolean');
    }
  });

  it('the reassembler never throws and keeps its state within maxInFlight', () => {
    const random = mulberry32(SEED + 2);
    const maxInFlight = 16;
    let events = 0;
    const reassembler = new Reassembler({ maxInFlight, timeoutMs: 50, recentCompleted: 64, onEvent: () => events++, onLoss: () => {} });
    const types = [1300, 1306, 1320, 1327, 1112, 1305, 1400, 1701];
    let serial = 1;
    let time = 1_000_000;
    for (let i = 0; i < RUNS * 5; i++) {
      serial = random() < 0.05 ? int(random, 0xffffffff) + 1 : Math.max(1, serial + int(random, 5) - 1);
      time += int(random, 20) - 5;
      const parsed = parseKernelRecord(pick(random, types), `audit(${Math.floor(time / 1000)}.${String(time % 1000).padStart(3, '0')}:${serial}): x=1`);
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(() => reassembler.push(parsed.record)).not.toThrow();
      expect(reassembler.inFlightCount).toBeLessThanOrEqual(maxInFlight);
      expect(reassembler.trackedSerials).toBeLessThanOrEqual(maxInFlight + 64 + 1);
    }
    reassembler.flush();
    expect(reassembler.inFlightCount).toBe(0);
    expect(events).toBeGreaterThan(0);
  });

  it('the whole pipeline takes shuffled and mutated fixture lines without throwing, its tables bounded', () => {
    const random = mulberry32(SEED + 3);
    const pipeline = new Pipeline({ onFlow: () => {}, maxInFlight: 32, socketTableSize: 8 });
    for (let i = 0; i < RUNS * 2; i++) {
      const line = pick(random, realLines);
      const input = random() < 0.3 ? mutate(random, line) : line;
      expect(() => pipeline.pushLogLine(input), `seed ${SEED + 3} run ${i}: ${JSON.stringify(input)}`).not.toThrow();
      const stats = pipeline.stats();
      expect(stats.inFlight).toBeLessThanOrEqual(32);
      expect(stats.sockets).toBeLessThanOrEqual(8);
    }
    expect(() => pipeline.flush()).not.toThrow();
  });
});
