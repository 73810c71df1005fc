// The benchmark's two C programs, built with the system compiler into build/bench/ on every run (they
// are small; a stale binary would be worse than a second of gcc).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Programs {
  workload: string;
  drain: string;
}

export function buildPrograms(root: string, outDir = join(root, 'build', 'bench')): Programs {
  mkdirSync(outDir, { recursive: true });
  const build = (name: string): string => {
    const output = join(outDir, name);
    const gcc = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', output, join(root, 'bench', `${name}.c`)], { encoding: 'utf8' });
    if (gcc.error !== undefined) throw new Error(`building bench/${name}.c: cannot run gcc (${gcc.error.message}); install it with scripts/install-deps.sh`);
    if (gcc.status !== 0) throw new Error(`building bench/${name}.c failed:\n${gcc.stderr}`);
    return output;
  };
  return { workload: build('workload'), drain: build('drain') };
}
