#!/usr/bin/env node
// auditflow's command line. Each command lives in its own module; this file only wires
// them and turns a failure into a one-line message and a documented exit code.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { endWhenOutputFails } from './closed-output.js';
import { ExitCode } from './exit-codes.js';
import { describeFailure } from './fail.js';
import { replayCommand } from './replay.js';
import { applyCommand, checkCommand, clearCommand, listCommand } from './rules.js';
import { runCommand, type RunOptions } from './run.js';
import { statusCommand } from './status.js';
import { parseFormat } from './format-option.js';
import { parseCount, parseFrom, tailCommand } from './tail.js';
import { parseDuration, parseGroupBy, parsePositive, parseSort } from './top-options.js';

/** The package's version, from the nearest package.json above this file (src/ or dist/src/). */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/**
 * Wraps a command: a failure becomes one line and an exit code. Commands that print to stdout end
 * quietly when their reader leaves (`| head -1`); `run` leaves stdout to its sink (--stdout), and must
 * still put the kernel back before it exits.
 */
function action<A extends unknown[]>(run: (...args: A) => Promise<void>, output: 'prints' | 'sink' = 'prints'): (...args: A) => Promise<void> {
  return async (...args: A) => {
    if (output === 'prints') endWhenOutputFails(process.stdout);
    try {
      await run(...args);
    } catch (error) {
      const failure = describeFailure(error);
      process.stderr.write(`auditflow: ${failure.message}\n`);
      process.exitCode = failure.code;
    }
  };
}

export const program = new Command()
  .name('auditflow')
  .description('Network-flow audit daemon: kernel audit records to flow tuples in Redis Streams')
  .version(packageVersion())
  .exitOverride();

program
  .command('run')
  .description('run the daemon in the foreground: rules, kernel records, flows to Redis (or stdout)')
  .option('-c, --config <file>', 'config file (default: $AUDITFLOW_CONFIG, or /etc/auditflow/auditflow.conf if it exists)')
  .option('--redis <url>', 'redis_url: redis://[user:password@]host:port[/db] or rediss://')
  .option('--stream <key>', 'stream: the stream key; <host> is replaced by the host name')
  .option('--stdout', 'sink = stdout: flows as JSON lines on stdout, logs on stderr')
  .option('--format <format>', 'format: the JSON of --stdout, native (docs/flow.schema.json), ecs or ocsf (docs/formats.md)')
  .option('--rules <path>', 'rules: a rules file or a directory of *.rules files')
  .option('--no-rules', 'apply_rules = false: keep the rules already loaded')
  .option('--mode <mode>', 'mode: unicast (be the audit daemon) or multicast (read beside auditd)')
  .option('--force', 'take the audit daemon slot from a live holder (SIGTERM, then SIGKILL)')
  .option('--metrics <host:port|off>', 'metrics_listen: where Prometheus metrics are served')
  .option('--set <key=value...>', 'any setting of the config file, e.g. --set stream_maxlen=0')
  .action(action((options: RunOptions) => runCommand(options, packageVersion()), 'sink'));

program
  .command('status')
  .description("print the kernel's audit status, the ruleset, the running daemon's counters and the Redis stream")
  .option('--json', 'one JSON object, for scripts')
  .option('-c, --config <file>', 'the config file auditflow run uses (for the ruleset, status file and Redis)')
  .action(action(statusCommand));

program
  .command('replay')
  .description('read auditd logs (raw or ENRICHED; "-" is stdin) and write one JSON flow per line')
  .argument('<files...>', 'log files, oldest first (audit.log.1 audit.log), or - for stdin')
  .option('--all-families', 'keep AF_UNIX, AF_NETLINK, ... flows too (default: inet and inet6 only)')
  .option('--window <ms>', 'sendto/sendmsg aggregation window in milliseconds, 0 = off', '10000')
  .option('--format <format>', 'native (docs/flow.schema.json), ecs or ocsf (docs/formats.md)', parseFormat, 'native')
  .action(action(replayCommand));

/** The options of the commands that read the stream (tail, top): where Redis is, how to reach it, which stream. */
function streamOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'redis://[user@]host[:port][/db] or rediss:// (default: $AUDITFLOW_REDIS_URL or redis://127.0.0.1:6379); a password here is visible to every local user: use --redis-password-file')
    .option('--redis-password-file <file>', 'a file whose first line is the Redis password (default: $AUDITFLOW_REDIS_PASSWORD_FILE)')
    .option('--cluster <urls>', 'comma-separated seed node URLs of a Redis Cluster (then --redis is not used)')
    .option('--tls-ca <file>', 'PEM CA file for rediss://')
    .option('--tls-cert <file>', 'PEM client certificate for rediss://')
    .option('--tls-key <file>', 'PEM key of --tls-cert')
    .option('--stream <key>', 'stream key; <host> is replaced by --host (default: $AUDITFLOW_STREAM or auditflow:flows)')
    .option('--host <name>', "the host in the stream key's <host> (default: this host's name)");
}

streamOptions(program.command('tail'))
  .description('follow the flow stream in Redis: one readable line per entry, or --json; control characters are shown escaped')
  .option('--from <id>', '$ (new entries only, the default), 0 (from the start) or a stream ID; with --group, where a new group starts', parseFrom)
  .option('--count <n>', 'stop after n entries', parseCount)
  .option('--json', 'one JSON object per entry: the typed entry with its stream id (docs/flow.schema.json)')
  .option('--format <format>', 'with --json: native, ecs or ocsf (docs/formats.md)', parseFormat, 'native')
  .option('--group <name>', 'read as this consumer group (created if missing) with XREADGROUP, acknowledging what is printed')
  .option('--consumer <name>', 'the consumer name within --group')
  .action(action(tailCommand));

streamOptions(program.command('top'))
  .description('a live view of who talks to whom: the stream\'s flows of the last window grouped by process (or user, container, remote, port), redrawn every second; --once prints one snapshot')
  .option('--since <duration>', 'start with the entries of this long ago (30s, 10m, 1h); also the window unless --window is given', parseDuration)
  .option('--window <duration>', 'the rates are over this last stretch of time (default: --since, else 10s)', parseDuration)
  .option('--by <group>', 'group by process, user, container, remote or port', parseGroupBy, 'process')
  .option('--sort <column>', 'sort by conns, out, in, remotes, fail or name', parseSort, 'conns')
  .option('--filter <text>', 'only entries whose process, user, container, remote or port holds this text (case-insensitive)', '')
  .option('--once', 'print one snapshot of the entries from --since until now and exit (no terminal needed)')
  .option('--json', 'with --once: the snapshot as one JSON object')
  .option('--limit <n>', 'with --once: rows at most', parsePositive, 20)
  .option('--max-entries <n>', 'entries the view keeps at most; beyond it the oldest go early and the header says how many', parsePositive, 200_000)
  .action(
    action(async (options: import('./top.js').TopCliOptions) => {
      // ink and React load here, not with every command.
      const { topCommand } = await import('./top.js');
      await topCommand(options);
    }),
  );

const rules = program.command('rules').description('auditctl-syntax audit rules: check, apply, list, clear (auditctl is not needed)');
rules
  .command('check')
  .description('compile rules files without touching the kernel and print their canonical form')
  .argument('<files...>', 'rules files in auditctl syntax, directories, default (the packaged ruleset) or optional:<name>')
  .option('--json', 'one JSON object, for scripts')
  .action(action(checkCommand));
rules
  .command('apply')
  .description('load rules files; loaded rules are skipped, rules an earlier apply added and the files dropped are removed')
  .argument('[files...]', 'rules files, directories, default or optional:<name> (default: --rules-dir, $AUDITFLOW_RULES_DIR, or the packaged rules/network.rules)')
  .option('--rules-dir <dir>', 'load every *.rules file of this directory, in name order (like augenrules)')
  .option('--state-dir <dir>', 'where auditflow records the rules it added (default: $AUDITFLOW_STATE_DIR or /var/lib/auditflow)')
  .option('--allow-immutable', 'apply -e 2, last: no rule or setting can change afterwards until reboot')
  .action(action(applyCommand));
rules
  .command('list')
  .description("print the kernel's rules the way auditctl -l does")
  .option('--json', 'one JSON array, for scripts')
  .action(action(listCommand));
rules
  .command('clear')
  .description('remove the rules auditflow added (--all: every rule, like auditctl -D)')
  .option('--all', 'remove every rule, also those other tools loaded')
  .option('--state-dir <dir>', 'where auditflow records the rules it added (default: $AUDITFLOW_STATE_DIR or /var/lib/auditflow)')
  .action(action(clearCommand));

// Parsed only when run as the command: scripts/generate-manual.ts imports the definitions above.
const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    else throw error;
  }
}
