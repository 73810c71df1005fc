// The `rules` setting's items (src/rules/ruleset.ts): files, directories, default, optional:<name>.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFiles, optionalRulesets, packagedRulesFile, RulesFileError, rulesetFiles } from '../../../src/rules/ruleset.js';

const scratch = mkdtempSync(join(tmpdir(), 'auditflow-ruleset-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('rulesetFiles', () => {
  it('reads empty and default as the packaged ruleset, and optional:<name> as a packaged optional file', () => {
    expect(rulesetFiles('')).toEqual([packagedRulesFile()]);
    expect(rulesetFiles('default')).toEqual([packagedRulesFile()]);
    expect(optionalRulesets()).toContain('udp-ingress');
    const files = rulesetFiles('default, optional:udp-ingress');
    expect(files[0]).toBe(packagedRulesFile());
    expect(files[1]).toMatch(/rules\/optional\/udp-ingress\.rules$/);
    // Both compile, and together they audit UDP receives.
    const compiled = compileFiles(files);
    expect(compiled.flatMap((c) => c.errors)).toEqual([]);
    expect(compiled[1]?.commands.length).toBeGreaterThan(0);
  });

  it('takes files and directories in the order given', () => {
    const directory = join(scratch, 'rules.d');
    rmSync(directory, { recursive: true, force: true });
    const file = join(scratch, 'one.rules');
    writeFileSync(file, '');
    expect(() => rulesetFiles(directory)).toThrow(RulesFileError);
    mkdirSync(directory);
    writeFileSync(join(directory, 'b.rules'), '');
    writeFileSync(join(directory, 'a.rules'), '');
    writeFileSync(join(directory, 'c.txt'), '');
    expect(rulesetFiles(`${file},${directory}`)).toEqual([file, join(directory, 'a.rules'), join(directory, 'b.rules')]);
  });

  it('names the packaged optional rulesets when asked for one that does not exist', () => {
    expect(() => rulesetFiles('optional:nope')).toThrow('no packaged optional ruleset "nope": there are optional:udp-ingress');
  });
});
