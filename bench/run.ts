// npm run bench: what auditing costs the audited processes, and what each consumer costs the host.
//
// For each workload mode, in one run, interleaved and repeated: the workload with no audit (bare),
// with rules/network.rules loaded and the C drain ceiling reading (bench/drain.c: the kernel's own
// record building is all it costs), with Debian's auditd reading, and with auditflow publishing to
// its own redis-server. Then a fixed-rate mixed run for CPU at a realistic load. The whole benchmark
// holds the project's kernel lock; the audit state is put back after every run and on Ctrl-C.
// `npm run bench -- --help` lists the options.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { AUDITD_HINT, findAuditd } from './consumers/auditd.js';
import { BACKLOG_LIMIT, BACKLOG_WAIT_TIME, BenchKernel } from './kernel.js';
import { BenchUsageError, parseBenchOptions, USAGE, type BenchOptions, type Consumer } from './options.js';
import { liveChildren } from './processes.js';
import { buildPrograms } from './programs.js';
import { REDIS_HINT, startRedis, type BenchRedis } from './redis.js';
import { fixedTable, saturatedTable, summarize, targetLines, targets, threadLines } from './report.js';
import { measure, type Sample, type SampleContext, type SampleSpec } from './sample.js';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function machine(): Record<string, string | number> {
  const release = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '')?.[1] ?? 'unknown';
  return {
    os: release,
    kernel: spawnSync('uname', ['-srm'], { encoding: 'utf8' }).stdout.trim(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');

/** Every repeat runs the consumers in a rotated order, so none always runs first or last. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const shift = by % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function plan(options: BenchOptions, consumers: readonly Consumer[]): SampleSpec[] {
  const specs: SampleSpec[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const mode of options.modes) {
      // A baseline from before the recv mode does not know its optional ruleset.
      for (const consumer of rotated(consumers, repeat)) if (mode !== 'recv' || consumer !== 'baseline') specs.push({ run: 'saturated', mode, consumer, repeat, seconds: options.seconds, rate: 0 });
    }
  }
  const fixedConsumers = consumers.filter((c) => c !== 'bare');
  if (options.fixedRate > 0) {
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      for (const consumer of rotated(fixedConsumers, repeat)) specs.push({ run: 'fixed', mode: 'mixed', consumer, repeat, seconds: options.fixedSeconds, rate: options.fixedRate });
    }
  }
  return specs;
}

async function main(): Promise<number> {
  const root = projectRoot();
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2), join(root, 'bench', 'results', 'latest.json'));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    if (error.message !== '') process.stderr.write(`bench: ${error.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    return error.message === '' ? 0 : 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: run it as root: it registers audit daemons and loads rules (the kernel state is put back afterwards)\n');
    return 3;
  }
  const say = (text: string): void => void process.stderr.write(`${text}\n`);

  const programs = buildPrograms(root);
  let consumers = [...options.consumers];
  const auditd = consumers.includes('auditd') ? findAuditd(root, options.auditd) : undefined;
  if (consumers.includes('auditd') && auditd === undefined) {
    say(`bench: ${AUDITD_HINT}; running without auditd`);
    consumers = consumers.filter((c) => c !== 'auditd');
  }
  if ((consumers.includes('auditflow') || consumers.includes('baseline')) && !existsSync('/usr/bin/redis-server')) {
    say(`bench: ${REDIS_HINT}; running without auditflow`);
    consumers = consumers.filter((c) => c !== 'auditflow' && c !== 'baseline');
  }
  if (options.baseline !== '' && !existsSync(join(options.baseline, 'dist', 'src', 'cli', 'main.js'))) {
    say(`bench: --baseline ${options.baseline}: no dist/src/cli/main.js there (build that checkout first)`);
    return 2;
  }
  if (consumers.includes('auditflow') && !existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    say('bench: dist/ is missing: npm run bench builds it (npm run build)');
    return 1;
  }
  if (options.cpuProf !== '') mkdirSync(options.cpuProf, { recursive: true });

  let interrupted = false;
  let redis: BenchRedis | undefined;
  let kernel: BenchKernel | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'auditflow-bench-'));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (kernel === undefined && !interrupted) {
      // Still waiting for the kernel lock: nothing of the kernel's was changed yet.
      interrupted = true;
      say(`bench: ${signal} before the kernel lock was taken; nothing to restore`);
      rmSync(tmp, { recursive: true, force: true });
      void (redis?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
      return;
    }
    if (interrupted) {
      say(`bench: ${signal} again: still putting the kernel audit state back, one moment`);
      return;
    }
    interrupted = true;
    say(`bench: ${signal}: stopping the workload, the consumer and redis-server, and restoring the kernel audit state`);
    // Workloads die at once (their worker processes with them); consumers are stopped in order by the
    // run that started them, so each can give the daemon slot back.
    for (const child of liveChildren()) if (child.role === 'workload') child.kill('SIGKILL', true);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const startLoad = load();
  const samples: Sample[] = [];
  const specs = plan(options, consumers);
  try {
    if (consumers.includes('auditflow') || consumers.includes('baseline')) redis = await startRedis();
    kernel = await BenchKernel.open(() => say('bench: waiting for the kernel lock (another engineer\'s kernel tests hold it)'));
    const context: SampleContext = {
      kernel,
      programs,
      workers: options.workers,
      root,
      tmp,
      auditd,
      redis,
      cpuProfDir: options.cpuProf,
      baseline: options.baseline,
      daemonSettings: options.daemonSettings,
      nodeArgs: options.nodeArgs,
    };
    say(`bench: ${specs.length} runs (${consumers.join(', ')}; modes ${options.modes.join(', ')}); load average ${startLoad}`);
    for (const [index, spec] of specs.entries()) {
      if (interrupted) break;
      const sample = await measure(spec, context);
      samples.push(sample);
      const cost = sample.cpuMsPer1000Events == null ? '' : `, ${sample.cpuMsPer1000Events.toFixed(1)} ms CPU/1k events`;
      say(`  [${index + 1}/${specs.length}] ${spec.run} ${spec.mode} ${spec.consumer}: ${Math.round(sample.syscallsPerSecond)} syscalls/s${cost}`);
    }
  } catch (error) {
    if (!interrupted) throw error;
  } finally {
    try {
      await kernel?.close();
    } finally {
      await redis?.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (interrupted) {
    say('bench: interrupted; the kernel audit state was restored');
    return 130;
  }

  const summaries = summarize(samples);
  const goals = targets(summaries, options.fixedRate);
  const info = machine();
  const endLoad = load();
  const header =
    `auditflow benchmark: ${info.os}, ${info.kernel}, ${info.cores} × ${info.cpu}, ${info.memoryGiB} GiB, Node ${info.node}` +
    `${auditd ? `, ${auditd.version}` : ''}${redis ? `, redis-server ${redis.version}` : ''}\n` +
    `load average (1, 5, 15 min) at start ${startLoad}, at end ${endLoad}; ${options.workers} workload processes; ` +
    `rules/network.rules (recv: + rules/optional/udp-ingress.rules); backlog_limit ${BACKLOG_LIMIT}, backlog_wait_time ${BACKLOG_WAIT_TIME}`;
  const text = [
    header,
    '',
    `Saturated: as fast as the workload can, ${options.seconds} s per run, ${options.repeats} runs each, interleaved; median (min–max)`,
    saturatedTable(summaries),
    ...(options.fixedRate > 0
      ? [
          '',
          `Fixed rate: mixed at ${options.fixedRate} syscalls/s, ${options.fixedSeconds} s per run, ${options.repeats} runs each`,
          fixedTable(summaries),
          '',
          'CPU ms per 1,000 events by thread at the fixed rate (median)',
          threadLines(samples),
        ]
      : []),
    '',
    'Targets (reported, never failing the build)',
    targetLines(goals),
  ].join('\n');
  process.stdout.write(`${text}\n`);
  mkdirSync(dirname(options.output), { recursive: true });
  writeFileSync(
    options.output,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: info,
        loadAverage: { start: startLoad, end: endLoad },
        auditd: auditd?.version ?? null,
        redis: redis?.version ?? null,
        options,
        kernelSettings: { backlogLimit: BACKLOG_LIMIT, backlogWaitTime: BACKLOG_WAIT_TIME },
        targets: goals,
        summaries,
        samples,
        table: text,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`\nresults: ${relative(process.cwd(), options.output) || options.output}\n`);
  return 0;
}

process.exitCode = await main();
