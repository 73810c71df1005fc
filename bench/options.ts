// The benchmark's command line. Pure: parsed here, checked here, so a typo fails before the kernel
// is touched (and the unit test can run it without root).
import { parseArgs } from 'node:util';

// recv: UDP receives with the optional ruleset (rules/optional/udp-ingress.rules) loaded beside the default.
// dns: DNS lookups answered on loopback, then connects to the answers (auditflow names the flows).
export const MODES = ['connect', 'refused', 'sendto', 'unix', 'mixed', 'recv', 'dns'] as const;
export type Mode = (typeof MODES)[number];

/** What reads the kernel's records during a run; `bare` is no audit at all (no rules, auditing off). */
export const CONSUMERS = ['bare', 'drain', 'auditd', 'auditflow'] as const;
/** `baseline`: another auditflow checkout (--baseline), run beside this one to measure a change. */
export type Consumer = (typeof CONSUMERS)[number] | 'baseline';

export interface BenchOptions {
  seconds: number;
  repeats: number;
  workers: number;
  modes: Mode[];
  consumers: Consumer[];
  /** Syscalls per second of the fixed-rate run (mixed mode); 0 = no fixed-rate run. */
  fixedRate: number;
  fixedSeconds: number;
  /** Where the JSON results go. */
  output: string;
  /** auditd binary; empty = Debian's, unpacked into .cache/auditd by scripts/fetch-auditd.sh. */
  auditd: string;
  /** A directory for `node --cpu-prof` profiles of the auditflow daemon; empty = no profiling. */
  cpuProf: string;
  /** Another built auditflow checkout to run as the `baseline` consumer; empty = none. */
  baseline: string;
  /** `key = value` settings added to the auditflow daemon's config (--set), e.g. batch_linger_ms=20. */
  daemonSettings: string[];
  /** Node options for the auditflow daemon, not the baseline's (--node-arg), e.g. --max-semi-space-size=32. */
  nodeArgs: string[];
}

export const USAGE = `usage: npm run bench -- [options]
  --seconds N          length of each saturated run (default 2)
  --repeats N          runs of each mode and consumer, interleaved (default 3)
  --workers N          workload processes (default 2)
  --modes LIST         of ${MODES.join(',')} (default all)
  --consumers LIST     of ${CONSUMERS.join(',')} (default all)
  --fixed-rate N       syscalls/s of the fixed-rate mixed run; 0 = skip it (default 10000)
  --fixed-seconds N    length of each fixed-rate run (default 20: the daemon's steady state, see docs/benchmark.md)
  --output FILE        JSON results (default bench/results/latest.json)
  --auditd PATH        auditd binary (default .cache/auditd/sbin/auditd, from scripts/fetch-auditd.sh)
  --cpu-prof DIR       write node --cpu-prof profiles of the auditflow daemon into DIR
  --baseline DIR       also run another built auditflow checkout, as "baseline" (before/after a change)
  --set KEY=VALUE      a setting for the auditflow daemons (repeatable), e.g. --set batch_linger_ms=20
  --node-arg ARG       a node option for the auditflow daemon, not the baseline's (repeatable), e.g.
                       --node-arg=--max-semi-space-size=32 (with --baseline . it measures the option alone)`;

export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

function positive(name: string, text: string, integer: boolean, allowZero = false): number {
  const value = Number(text);
  const ok = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok) throw new BenchUsageError(`--${name} ${text}: expected a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`);
  return value;
}

function list<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new BenchUsageError(`--${name}: unknown "${item}" (one of ${allowed.join(', ')})`);
  }
  if (items.length === 0) throw new BenchUsageError(`--${name}: empty list`);
  // Keep the canonical order: the table reads the same whatever order was typed.
  return allowed.filter((item) => items.includes(item));
}

export function parseBenchOptions(argv: readonly string[], defaultOutput: string): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        seconds: { type: 'string', default: '2' },
        repeats: { type: 'string', default: '3' },
        workers: { type: 'string', default: '2' },
        modes: { type: 'string', default: MODES.join(',') },
        consumers: { type: 'string', default: CONSUMERS.join(',') },
        'fixed-rate': { type: 'string', default: '10000' },
        'fixed-seconds': { type: 'string', default: '20' },
        output: { type: 'string', default: defaultOutput },
        auditd: { type: 'string', default: '' },
        'cpu-prof': { type: 'string', default: '' },
        baseline: { type: 'string', default: '' },
        set: { type: 'string', multiple: true, default: [] },
        'node-arg': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  if (values.help) throw new BenchUsageError('');
  const consumers: Consumer[] = list('consumers', values.consumers, CONSUMERS);
  return {
    seconds: positive('seconds', values.seconds, false),
    repeats: positive('repeats', values.repeats, true),
    workers: positive('workers', values.workers, true),
    modes: list('modes', values.modes, MODES),
    consumers: values.baseline === '' ? consumers : [...consumers, 'baseline'],
    fixedRate: positive('fixed-rate', values['fixed-rate'], false, true),
    fixedSeconds: positive('fixed-seconds', values['fixed-seconds'], false),
    output: values.output,
    auditd: values.auditd,
    cpuProf: values['cpu-prof'],
    baseline: values.baseline,
    daemonSettings: values.set.map((assignment) => {
      const match = /^([a-z_]+)=(.*)$/.exec(assignment);
      if (match === null) throw new BenchUsageError(`--set ${assignment}: expected key=value`);
      return `${match[1]} = ${match[2]}`;
    }),
    nodeArgs: values['node-arg'],
  };
}
