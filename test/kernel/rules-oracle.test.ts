// auditflow against Debian's auditctl (3.0.9, fetched by scripts/fetch-auditd.sh, never
// installed): a ruleset loaded by either tool must give the kernel the same rules, and both
// tools must print them as the same text.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditctl, ensureAuditctl } from '../helpers/auditctl.js';
import { run } from '../helpers/child.js';
import { useKernel } from '../helpers/kernel.js';

const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const kernel = useKernel();
const stateDir = mkdtempSync(join(tmpdir(), 'auditflow-oracle-state-'));
const auditflow = (...args: string[]) => run(process.execPath, [cli, ...args], { env: { ...process.env, AUDITFLOW_STATE_DIR: stateDir } });

// auditctl learned the io_uring list in audit-userspace 3.1; Debian's 3.0.9 refuses those lines, so it
// gets the default ruleset without them (test/kernel/rules-cli.test.ts loads one and lists it back; the daemon tests load the whole file).
const withoutUring = join(stateDir, 'network-without-io_uring.rules');
writeFileSync(
  withoutUring,
  readFileSync(new URL('../../rules/network.rules', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('-a always,io_uring'))
    .join('\n'),
);

const rulesets = [
  ['the default ruleset (its io_uring rules left out)', withoutUring, 27],
  ['a large hardening ruleset (watches, exe filters, uid ranges, keys)', fileURLToPath(new URL('../fixtures/rules/hardening.rules', import.meta.url)), 87],
] as const;

/**
 * auditctl 3.0.9 prints an exe field as "exe=" whatever its operator (print_rule in
 * src/auditctl-listing.c); auditflow prints "exe!=" (docs/rules.md). Every other character
 * of the two listings must agree.
 */
const asAuditctlPrintsIt = (listing: string): string => listing.replaceAll(' -F exe!=', ' -F exe=');

async function deleteEveryRule(): Promise<void> {
  for (const rule of await kernel.control.listRules()) await kernel.control.deleteRule(rule);
}

beforeAll(() => ensureAuditctl());
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe.each(rulesets)('auditflow and auditctl agree on %s', (_name, file, count) => {
  let loadedByAuditctl: { bytes: string[]; auditctl: string; auditflow: string };

  it('auditctl -R loads it, and auditflow rules list prints what auditctl -l prints', async () => {
    await deleteEveryRule();
    const load = await auditctl('-R', file);
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);
    const bytes = (await kernel.control.listRules()).map((r) => r.toString('hex'));
    expect(bytes).toHaveLength(count);
    const ours = await auditflow('rules', 'list');
    const theirs = await auditctl('-l');
    expect(ours.code).toBe(0);
    expect(theirs.code).toBe(0);
    expect(asAuditctlPrintsIt(ours.stdout)).toBe(theirs.stdout);
    loadedByAuditctl = { bytes, auditctl: theirs.stdout, auditflow: ours.stdout };
  });

  it('auditflow rules apply loads the same bytes, and auditctl -l prints the same text', async () => {
    await deleteEveryRule();
    const apply = await auditflow('rules', 'apply', file);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect((await kernel.control.listRules()).map((r) => r.toString('hex'))).toEqual(loadedByAuditctl.bytes);
    expect((await auditctl('-l')).stdout).toBe(loadedByAuditctl.auditctl);
    expect((await auditflow('rules', 'list')).stdout).toBe(loadedByAuditctl.auditflow);
    expect((await auditflow('rules', 'clear')).stdout).toBe(`deleted ${count} rule(s)\n`);
  });
});
