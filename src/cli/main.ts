#!/usr/bin/env node
// auditflow's command line. Each command lives in its own module; this file only wires
// them and turns a failure into a one-line message and a documented exit code.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { describeFailure } from './fail.js';
import { replayCommand } from './replay.js';
import { statusCommand } from './status.js';

/** The package's version, from the nearest package.json above this file (src/ or dist/src/). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      const failure = describeFailure(error);
      process.stderr.write(`auditflow: ${failure.message}\n`);
      process.exitCode = failure.code;
    }
  };
}

const program = new Command()
  .name('auditflow')
  .description('Network-flow audit daemon: kernel audit records to flow tuples in Redis Streams')
  .version(packageVersion())
  .exitOverride();

program
  .command('status')
  .description("print the kernel's audit status: enabled, daemon, backlog, lost, rules")
  .option('--json', 'one JSON object, for scripts')
  .action(action(statusCommand));

program
  .command('replay')
  .description('read auditd logs (raw or ENRICHED; "-" is stdin) and write one JSON flow per line')
  .argument('<files...>', 'log files, oldest first (audit.log.1 audit.log), or - for stdin')
  .option('--all-families', 'keep AF_UNIX, AF_NETLINK, ... flows too (default: inet and inet6 only)')
  .option('--window <ms>', 'sendto/sendmsg aggregation window in milliseconds, 0 = off', '10000')
  .action(action(replayCommand));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  else throw error;
}
