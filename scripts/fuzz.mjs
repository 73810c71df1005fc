// npm run fuzz -- --minutes N [--runs R]: runs the property tests (test/unit/**/properties*.test.ts)
// round after round for N minutes (default 5; no round starts after that, the last one finishes), each
// round with a fresh seed and R cases per property (default 2,000, several times what `npm test`
// runs with its fixed seed; a round takes about a minute here). A counterexample found is saved,
// shrunk, as a fixture under test/fixtures/fuzz/<property>/ (test/helpers/property.ts), which every
// later `npm test` checks. Prints one line per round and exits 1 if any round failed.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '5' }, runs: { type: 'string', default: '2000' } } });
const minutes = Number(values.minutes);
const runs = Number(values.runs);
if (!(minutes > 0) || !(runs > 0)) {
  console.error('usage: npm run fuzz -- --minutes N [--runs R]');
  process.exit(2);
}

const deadline = Date.now() + minutes * 60_000;
const report = 'test-results/fuzz.json';
const failures = [];
let round = 0;
while (Date.now() < deadline) {
  round++;
  const seed = randomInt(2 ** 31);
  const started = Date.now();
  const result = spawnSync('npx', ['vitest', 'run', '--project', 'unit', '--reporter', 'json', '--outputFile', report, 'properties'], {
    env: { ...process.env, PROPERTY_SEED: String(seed), PROPERTY_RUNS: String(runs), AUDITFLOW_FUZZ_SAVE: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const before = failures.length;
  let summary = `exit ${result.status}`;
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    summary = `${json.numPassedTests} passed, ${json.numFailedTests} failed`;
    for (const file of json.testResults) {
      for (const test of file.assertionResults.filter((t) => t.status === 'failed')) failures.push({ seed, test: test.fullName, message: test.failureMessages.join('\n').slice(0, 2000) });
    }
  } catch {
    failures.push({ seed, test: '(the run itself)', message: `${result.stdout}\n${result.stderr}`.slice(-2000) });
  }
  const saved = (result.stderr.match(/^fuzz: saved .*$/gm) ?? []).join('\n');
  console.log(`round ${round}: seed ${seed}, ${runs} runs per property, ${summary} (${((Date.now() - started) / 1000).toFixed(1)} s)${saved ? `\n${saved}` : ''}`);
  if (result.status !== 0 && failures.length === before) failures.push({ seed, test: '(vitest)', message: result.stderr.slice(-2000) });
}

if (failures.length > 0) {
  console.log(`\n${failures.length} failure(s); rerun one with PROPERTY_SEED=<seed> PROPERTY_RUNS=${runs} npx vitest run properties`);
  for (const failure of failures) console.log(`\nseed ${failure.seed}: ${failure.test}\n${failure.message}`);
  process.exitCode = 1;
} else {
  console.log(`${round} round(s), no failure`);
}
