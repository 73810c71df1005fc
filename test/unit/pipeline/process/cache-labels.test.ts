import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruTtlCache } from '../../../../src/pipeline/process/cache.js';
import { exeGlob, LabelRules } from '../../../../src/pipeline/process/labels.js';

describe('the process cache', () => {
  it('stays within its count, dropping the least recently used', () => {
    const cache = new LruTtlCache<string>({ maxEntries: 2, ttlMs: 1000 });
    cache.set('1:10', 'a', 0);
    cache.set('2:20', 'b', 0);
    cache.lookup('1:10', 0);
    cache.set('3:30', 'c', 0);
    expect(cache.size).toBe(2);
    expect(cache.evictions).toBe(1);
    expect(cache.lookup('2:20', 0)).toBeUndefined();
    expect(cache.lookup('1:10', 0)?.value).toBe('a');
  });

  it('marks entries older than the time-to-live expired, and a new set renews them', () => {
    const cache = new LruTtlCache<string>({ maxEntries: 8, ttlMs: 1000 });
    cache.set('1:10', 'a', 5000);
    expect(cache.lookup('1:10', 5999)).toEqual({ value: 'a', expired: false });
    expect(cache.lookup('1:10', 6000)).toEqual({ value: 'a', expired: true });
    cache.set('1:10', 'b', 6000);
    expect(cache.lookup('1:10', 6500)).toEqual({ value: 'b', expired: false });
  });
});

describe('label rules', () => {
  it('matches exe patterns: * within a directory, ** across, ? one character, the rest literal', () => {
    expect(exeGlob('/usr/bin/apt*').test('/usr/bin/apt-get')).toBe(true);
    expect(exeGlob('/usr/bin/apt*').test('/usr/bin/apt/x')).toBe(false);
    expect(exeGlob('/opt/**').test('/opt/a/b/c')).toBe(true);
    expect(exeGlob('/usr/bin/python3.?').test('/usr/bin/python3.9')).toBe(true);
    expect(exeGlob('/usr/bin/python3.?').test('/usr/bin/python3x9x')).toBe(false);
    expect(exeGlob('/a+b(c)').test('/a+b(c)')).toBe(true);
  });

  it('matches adversarial patterns in steps linear in the path: no backtracking', () => {
    const path = `/${'a/'.repeat(2047)}`;
    expect(path.length).toBeGreaterThanOrEqual(4095);
    for (const [pattern, expected] of [
      ['/**/**/**/x', false],
      ['/**/**/**/a/', true],
      ['/*/*/*/*/*/*/*/*/x', false],
      ['/**a**a**a**a**b', false],
    ] as const) {
      const glob = exeGlob(pattern);
      expect(glob.test(path)).toBe(expected);
      // Each character advances each live pattern position once: at most (path + 1) × (tokens + 1).
      expect(glob.steps).toBeLessThanOrEqual((path.length + 1) * (pattern.length + 1));
    }
  });

  it('answers as the anchored regular expression of the same glob, on generated patterns and paths', () => {
    const reference = (pattern: string): RegExp =>
      new RegExp(`^${pattern.replace(/\*\*|[*?]|[^*?]/g, (token) => (token === '**' ? '.*' : token === '*' ? '[^/]*' : token === '?' ? '[^/]' : token.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))}$`, 's');
    const pattern = fc.string({ unit: fc.constantFrom('/', 'a', 'b', '.', '*', '?', '+'), maxLength: 10 });
    const path = fc.string({ unit: fc.constantFrom('/', 'a', 'b', '.', '+'), maxLength: 14 });
    fc.assert(
      fc.property(pattern, path, (p, text) => {
        expect(exeGlob(p).test(text)).toBe(reference(p).test(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('gives labels by key (several keys joined with a comma) and by exe', () => {
    const rules = new LabelRules([
      { key: 'auditflow-connect', label: 'net' },
      { exe: '/usr/bin/apt*', label: 'software_mgmt' },
      { key: 'pkg', exe: '/usr/bin/dpkg', label: 'software_mgmt' },
    ]);
    expect(rules.forKey('x,auditflow-connect')).toEqual(['net']);
    expect(rules.forKey(null)).toEqual([]);
    expect(rules.forKey('pkg')).toEqual(['software_mgmt']);
    expect(rules.forExe('/usr/bin/apt-get')).toEqual(['software_mgmt']);
    expect(rules.forExe('/usr/bin/dpkg')).toEqual(['software_mgmt']);
    expect(rules.forExe('/bin/sh')).toEqual([]);
  });

  it('names the rule it cannot use', () => {
    expect(() => new LabelRules([{ label: 'x' }])).toThrow('labels[0]: needs a key or an exe pattern');
    expect(() => new LabelRules([{ key: 'k', label: 'x' }, { exe: 'bin/sh', label: 'y' }])).toThrow(/labels\[1\]: exe must be an absolute path pattern/);
    expect(() => new LabelRules([{ key: 'k', label: 'has space' }])).toThrow(/labels\[0\]: label must be/);
    expect(() => new LabelRules([{ key: '', label: 'x' }])).toThrow(/labels\[0\]: key must be a non-empty string/);
  });
});
