// Container detection on real /proc/<pid>/cgroup files of each runtime (test/fixtures/cgroup/,
// each with its source in its header; expected.json beside them).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cgroupContext, parseCgroupFile, unescapeUnitName } from '../../../../src/pipeline/process/cgroup.js';

const DIR = fileURLToPath(new URL('../../../fixtures/cgroup/', import.meta.url));
const expected = JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as Record<string, unknown>;
const fixtures = readdirSync(DIR)
  .filter((name) => name.endsWith('.cgroup'))
  .map((name) => name.slice(0, -'.cgroup'.length))
  .sort();

/** The file without its `#` header: exactly what the kernel printed. */
const contents = (name: string): string =>
  readFileSync(`${DIR}${name}.cgroup`, 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');

describe('cgroup paths of each runtime', () => {
  it('has an expectation for every fixture and a fixture for every runtime', () => {
    expect(Object.keys(expected).sort()).toEqual(fixtures);
    const runtimes = new Set(fixtures.map((name) => cgroupContext(parseCgroupFile(contents(name))).runtime));
    expect([...runtimes].sort()).toEqual(['containerd', 'cri-o', 'docker', 'machine', 'podman', 'systemd-nspawn', null].sort());
  });

  for (const name of fixtures) {
    it(`${name}: names the container, runtime, pod and unit`, () => {
      expect(cgroupContext(parseCgroupFile(contents(name)))).toEqual(expected[name]);
    });
  }

  it('reads hierarchy, controllers and a path that itself holds colons', () => {
    expect(parseCgroupFile('2:cpu,cpuacct:/a\n0::/x.slice:cri-containerd:ab\nbroken line\n:no-id:/\n')).toEqual([
      { hierarchy: 2, controllers: 'cpu,cpuacct', path: '/a' },
      { hierarchy: 0, controllers: '', path: '/x.slice:cri-containerd:ab' },
    ]);
  });

  it('gives a host process its innermost unit, and none at the root', () => {
    expect(cgroupContext(parseCgroupFile('0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome\\x2dterminal.scope\n')).unit).toBe('app-gnome\\x2dterminal.scope');
    expect(cgroupContext(parseCgroupFile('0::/system.slice\n')).unit).toBeNull();
    expect(cgroupContext(parseCgroupFile('0::/\n1:name=systemd:/system.slice/cron.service\n')).unit).toBe('cron.service');
  });

  it('does not take a 64-hex directory outside any runtime for a pod, nor a conmon scope for a container', () => {
    expect(cgroupContext(parseCgroupFile(`0::/system.slice/crio-conmon-${'a'.repeat(64)}.scope\n`))).toEqual({ containerId: null, runtime: null, podUid: null, unit: `crio-conmon-${'a'.repeat(64)}.scope` });
    expect(cgroupContext(parseCgroupFile(`0::/pod12/${'b'.repeat(64)}\n`))).toEqual({ containerId: 'b'.repeat(64), runtime: null, podUid: null, unit: null });
  });

  it('unescapes systemd unit names, UTF-8 included', () => {
    expect(unescapeUnitName('my\\x2dbox')).toBe('my-box');
    expect(unescapeUnitName('caf\\xc3\\xa9')).toBe('café');
    expect(unescapeUnitName('plain')).toBe('plain');
  });
});
