// Golden tests: every fixture captured from the real kernel (test/fixtures/*.log, see
// scripts/capture-fixture.ts) goes through the pipeline; the flows and losses must equal
// <scenario>.flows.json. Regenerate those only on request: UPDATE_GOLDEN=1, then review the diff.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURE_DIR, fixtureLines, fixtureNames, runKernelRecords, runLogLines } from './fixtures.js';

const update = process.env.UPDATE_GOLDEN === '1';

describe('golden flows of the captured fixtures', () => {
  it('has a fixture for every scenario', () => {
    expect(fixtureNames().length).toBeGreaterThanOrEqual(25);
  });

  for (const name of fixtureNames()) {
    it(`${name}: gives the expected flows and losses`, () => {
      const run = runLogLines(fixtureLines(name));
      const actual = { flows: run.flows, losses: run.stats.losses };
      const path = `${FIXTURE_DIR}${name}.flows.json`;
      if (update || !existsSync(path)) {
        if (!update) throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 and review it`);
        writeFileSync(path, JSON.stringify(actual, null, 2) + '\n');
      }
      expect(JSON.parse(JSON.stringify(actual))).toEqual(JSON.parse(readFileSync(path, 'utf8')));
    });

    it(`${name}: gives the same flows from netlink records as from log lines`, () => {
      const lines = fixtureLines(name);
      expect(runKernelRecords(lines).flows).toEqual(runLogLines(lines).flows);
    });
  }
});
