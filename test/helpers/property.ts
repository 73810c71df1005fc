// Property tests with fast-check, and the fixtures their counterexamples become.
//
// In `npm test` each property runs a few hundred cases with a fixed seed, so a run is repeatable.
// `npm run fuzz -- --minutes N` (scripts/fuzz.mjs) runs the same properties again and again with
// fresh seeds and many more cases (PROPERTY_SEED, PROPERTY_RUNS, AUDITFLOW_FUZZ_SAVE=1); a
// counterexample it finds is written, shrunk, to test/fixtures/fuzz/<property>/<hash>.txt, and from
// then on every `npm test` checks that fixture too (savedCounterexamples).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const FIXTURES = fileURLToPath(new URL('../fixtures/fuzz/', import.meta.url));
const SEED = Number(process.env.PROPERTY_SEED ?? 20261121);

/** A property's input as the text of a fixture file, and back. */
export interface Codec<T> {
  toText(value: T): string;
  fromText(text: string): T;
}

export const textCodec: Codec<string> = { toText: (value) => value, fromText: (text) => text };
export const bytesCodec: Codec<Uint8Array> = {
  toText: (value) => `${Buffer.from(value).toString('hex')}\n`,
  fromText: (text) => Buffer.from(text.trim(), 'hex'),
};

/** The test timeout of a property test: vitest's default, or none under PROPERTY_RUNS (a long run). */
export const propertyTimeout: number | undefined = process.env.PROPERTY_RUNS === undefined ? undefined : 24 * 3600_000;

/** How many cases a property runs: `normal` in the test suite, PROPERTY_RUNS when set (the fuzz script). */
export function propertyRuns(normal: number): number {
  return Number(process.env.PROPERTY_RUNS ?? normal);
}

/**
 * Checks `check` (which throws when the property fails) on `runs` generated inputs. On a failure it
 * throws fast-check's report (seed, path, shrunk counterexample); under the fuzz script it first
 * saves the counterexample as a fixture.
 */
export function assertProperty<T>(name: string, arbitrary: fc.Arbitrary<T>, codec: Codec<T>, check: (value: T) => void, runs: number): void {
  const details = fc.check(
    fc.property(arbitrary, (value) => {
      check(value);
    }),
    { numRuns: propertyRuns(runs), seed: SEED },
  );
  if (!details.failed) return;
  if (process.env.AUDITFLOW_FUZZ_SAVE === '1' && details.counterexample !== null) {
    const text = codec.toText(details.counterexample[0]);
    const directory = join(FIXTURES, name);
    mkdirSync(directory, { recursive: true });
    const file = join(directory, `${createHash('sha256').update(text).digest('hex').slice(0, 16)}.txt`);
    writeFileSync(file, text);
    process.stderr.write(`fuzz: saved the counterexample of ${name} as ${file}\n`);
  }
  throw new Error(fc.defaultReportMessage(details) ?? `${name} failed`);
}

/** The counterexamples saved for a property (file name, input), oldest name first. */
export function savedCounterexamples<T>(name: string, codec: Codec<T>): Array<[string, T]> {
  const directory = join(FIXTURES, name);
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith('.txt'))
    .sort()
    .map((file) => [file, codec.fromText(readFileSync(join(directory, file), 'utf8'))]);
}
