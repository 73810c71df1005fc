// A fixed host for rule tests: an x86_64 machine with a tiny user database and a
// filesystem where only a few directories exist, so no test reads /etc or stats paths.
import { mapUserDatabase, type CompileOptions } from '../../../src/rules/index.js';

export const DIRECTORIES = new Set(['/etc', '/etc/sysconfig', '/etc/selinux', '/etc/sudoers.d', '/home', '/var/lib/secret']);

export const x86: Required<CompileOptions> = {
  machine: 'x86_64',
  users: mapUserDatabase({ root: 0, 'www-data': 33, alice: 1000 }, { root: 0, wheel: 10, 'www-data': 33 }),
  isDirectory: (path) => DIRECTORIES.has(path),
};

export const arm64: Required<CompileOptions> = { ...x86, machine: 'aarch64' };
