// auditflow top as a child process against a real redis-server: `--once --json` gives exact numbers
// for a known input and each option changes them as it should; the live view in a real terminal
// (tmux: send-keys, capture-pane) shows the top talker, follows new entries, sorts, filters, shows
// hostile names escaped and quits leaving the terminal as it was. And replay's progress: on a
// pseudo-terminal, never in a pipe. (dist/ is built by `npm test` before the tests run.)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../helpers/child.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { untilAsync } from '../../helpers/until.js';

const cli = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const KEY = 'auditflow:{host-a}:flows';
const STREAM_ARGS = ['--stream', 'auditflow:{<host>}:flows', '--host', 'host-a'];

let redis: RedisServer;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: '127.0.0.1', port: redis.port });
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

afterEach(async () => {
  await admin.del(KEY);
});

async function add(...entries: Array<Record<string, string | number>>): Promise<void> {
  for (const fields of entries) await admin.xadd(KEY, '*', ...Object.entries(fields).flatMap(([name, value]) => [name, String(value)]));
}

const flow = (fields: Record<string, string | number>): Record<string, string | number> => ({
  kind: 'flow',
  v: 1,
  op: 'connect',
  direction: 'egress',
  proto: 'tcp',
  result: 'ok',
  ts: Date.now() - 500,
  ...fields,
});

/** A known input: curl 3 connects (one refused) and a close entry; python 1 connect; one loss entry. */
async function knownInput(): Promise<void> {
  await add(
    flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '10.0.0.1', remote_port: 443 }),
    flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '10.0.0.1', remote_port: 443 }),
    flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '10.0.0.2', remote_port: 80, result: 'ECONNREFUSED' }),
    flow({ exe: '/usr/bin/curl', user: 'alice', op: 'close', remote_addr: '10.0.0.1', remote_port: 443, bytes_out: 123_457, bytes_in: 54_321 }),
    flow({ exe: '/usr/bin/python3', user: 'bob', remote_addr: '10.0.0.3', remote_name: 'api.example', remote_port: 8443 }),
    { kind: 'loss', v: 1, reason: 'kernel_lost', count: 4, first_ts: Date.now() - 900, last_ts: Date.now() - 800 },
  );
}

interface Row {
  group: string;
  conns: number;
  failures: number;
  bytesOut: number;
  bytesIn: number;
  bytesOutPerSec: number;
  remotes: number;
  topRemotes: string[];
}

async function once(...args: string[]): Promise<{ seconds: number; entries: number; losses: Record<string, number>; rows: Row[] }> {
  const result = await run(process.execPath, [cli, 'top', '--once', '--json', '--redis', redis.url, ...STREAM_ARGS, ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as { seconds: number; entries: number; losses: Record<string, number>; rows: Row[] };
}

describe('auditflow top --once (child process, real redis-server)', () => {
  it('gives exact counts and byte rates for a known input', async () => {
    await knownInput();
    const snapshot = await once('--since', '1m');
    expect(snapshot.seconds).toBe(60);
    expect(snapshot.entries).toBe(6);
    expect(snapshot.losses).toEqual({ kernel_lost: 4 });
    expect(snapshot.rows).toEqual([
      {
        group: '/usr/bin/curl',
        conns: 3,
        connsPerSec: 3 / 60,
        failures: 1,
        bytesOut: 123_457,
        bytesIn: 54_321,
        bytesOutPerSec: 123_457 / 60,
        bytesInPerSec: 54_321 / 60,
        remotes: 2,
        topRemotes: ['10.0.0.1', '10.0.0.2'],
      },
      { group: '/usr/bin/python3', conns: 1, connsPerSec: 1 / 60, failures: 0, bytesOut: 0, bytesIn: 0, bytesOutPerSec: 0, bytesInPerSec: 0, remotes: 1, topRemotes: ['api.example'] },
    ]);
  });

  it('--by, --sort, --filter, --window and --limit each change the result', async () => {
    await knownInput();
    expect((await once('--since', '1m', '--by', 'user')).rows.map((row) => row.group)).toEqual(['alice', 'bob']);
    expect((await once('--since', '1m', '--by', 'remote')).rows.map((row) => [row.group, row.conns])).toEqual([
      ['10.0.0.1', 2],
      ['10.0.0.2', 1],
      ['api.example', 1],
    ]);
    expect((await once('--since', '1m', '--sort', 'name', '--by', 'port')).rows.map((row) => row.group)).toEqual(['tcp/443', 'tcp/80', 'tcp/8443']);
    expect((await once('--since', '1m', '--filter', 'API.EXAMPLE')).rows.map((row) => row.group)).toEqual(['/usr/bin/python3']);
    expect((await once('--since', '1m', '--window', '20s')).seconds).toBe(20);
    expect((await once('--since', '1m', '--limit', '1')).rows).toHaveLength(1);
  }, 60_000);

  it('text output: the header, the titles and one line per group, names escaped', async () => {
    await add(flow({ exe: '/tmp/evil\u001b[2J\nFAKE', remote_addr: '10.0.0.1' }));
    const result = await run(process.execPath, [cli, 'top', '--once', '--since', '1m', '--redis', redis.url, ...STREAM_ARGS]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^auditflow top {2}auditflow:\{host-a\}:flows {2}by process {2}last 60 s {2}1 entries {2}1 groups$/);
    expect(lines[2]).toMatch(/^CONN\/s▼ +OUT\/s +IN\/s +RMT +FAIL PROCESS +TOP REMOTES$/);
    expect(lines[3]).toContain('/tmp/evil\\e[2J\\nFAKE');
    expect(lines).toHaveLength(4);
  });

  it('exits 10 with one line when Redis cannot be reached', async () => {
    const result = await run(process.execPath, [cli, 'top', '--once', '--redis', 'redis://127.0.0.1:1']);
    expect(result.code).toBe(10);
    expect(result.stderr).toMatch(/^auditflow: Redis \(redis:\/\/127\.0\.0\.1:1\) did not answer/);
    expect(result.stdout).toBe('');
  });

  it('refuses the live view without a terminal, and bad options, with the usage exit code', async () => {
    const live = await run(process.execPath, [cli, 'top', '--redis', redis.url]);
    expect(live.code).toBe(2);
    expect(live.stderr).toMatch(/needs a terminal.*--once/);
    for (const bad of [
      ['--by', 'pid'],
      ['--sort', 'bytes'],
      ['--since', '10'],
      ['--once', '--limit', '0'],
    ]) {
      const result = await run(process.execPath, [cli, 'top', '--once', '--redis', redis.url, ...bad]);
      expect(result.code, bad.join(' ')).toBe(2);
    }
  }, 60_000);
});

describe('auditflow top, the live view in a real terminal (tmux)', () => {
  const session = `auditflow-top-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', session, ...args], { encoding: 'utf8' });
  const screen = (): string => tmux('capture-pane', '-p', '-t', session);
  /** Waits for the screen to show what `test` looks for; a timeout says what the screen showed. */
  const showing = (test: (text: string) => boolean, what: string, timeoutMs = 10_000): Promise<void> =>
    untilAsync(async () => test(screen()), timeoutMs, `${what}; the screen:\n${screen()}`);

  afterEach(() => {
    spawnSync('tmux', ['-L', session, 'kill-server']);
  });

  it('shows the top talker first, follows new entries, sorts, filters, shows hostile names escaped and quits leaving the terminal as it was', async () => {
    await knownInput();
    // A shell that prints a marker first: after quitting, the screen must show it again (the view drew on the alternate screen).
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', 'sh');
    const command = [process.execPath, cli, 'top', '--since', '1m', '--redis', redis.url, ...STREAM_ARGS].map((arg) => `'${arg}'`).join(' ');
    tmux('send-keys', '-t', session, `clear; echo BEFORE-TOP; ${command}; echo "TOP-EXIT=$?"`, 'Enter');
    await showing((text) => text.includes('/usr/bin/curl'), 'the view', 10_000);
    let lines = screen().split('\n');
    const titles = lines.findIndex((line) => line.startsWith('CONN/s▼'));
    expect(lines[titles + 1]).toContain('/usr/bin/curl');
    expect(lines[titles + 2]).toContain('/usr/bin/python3');

    // New entries: a new top talker within two seconds, its hostile name escaped.
    const hostile = '/x\u001b[31m\u202ey';
    await add(...Array.from({ length: 5 }, (_, i) => flow({ exe: hostile, user: 'eve', remote_addr: `10.9.0.${i}`, ts: Date.now() })));
    const added = Date.now();
    await showing((text) => text.includes('/x\\e[31m\\u202ey'), 'the new entries');
    // Within two seconds of being added (a redraw a second), plus this test's own polling of tmux.
    expect(Date.now() - added).toBeLessThan(3_000);
    lines = screen().split('\n');
    expect(lines[titles + 1]).toContain('/x\\e[31m\\u202ey');

    // s: sort by bytes out: curl (the only close entry) comes first.
    tmux('send-keys', '-t', session, 's');
    await showing((text) => text.includes('OUT/s▼'), 'the sort by bytes out');
    await showing((text) => (text.split('\n')[titles + 1] ?? '').includes('/usr/bin/curl'), 'curl first');

    // f, text, Enter: only python3's entries.
    tmux('send-keys', '-t', session, 'f');
    await showing((text) => text.includes('filter (Enter applies'), 'the filter prompt');
    tmux('send-keys', '-t', session, '-l', 'api.ex');
    tmux('send-keys', '-t', session, 'Enter');
    await showing((text) => text.includes('filter: api.ex'), 'the filter applied');
    const filtered = screen();
    expect(filtered).toContain('/usr/bin/python3');
    expect(filtered).not.toContain('/usr/bin/curl');

    // b: group by user.
    tmux('send-keys', '-t', session, 'c', 'b');
    await showing((text) => text.includes('by user') && text.includes('eve'), 'grouped by user');

    // Colours on a terminal that has them (tmux's), as SGR sequences in the pane.
    expect(tmux('capture-pane', '-p', '-e', '-t', session)).toMatch(/\u001b\[[0-9;]*m/);

    tmux('send-keys', '-t', session, 'q');
    await showing((text) => text.includes('TOP-EXIT=0'), 'the shell after quitting');
    const after = screen();
    expect(after).toContain('BEFORE-TOP');
    expect(after).not.toContain('CONN/s');
  }, 60_000);

  it('draws without colours when NO_COLOR is set', async () => {
    await knownInput();
    const command = [process.execPath, cli, 'top', '--since', '1m', '--redis', redis.url, ...STREAM_ARGS].map((arg) => `'${arg}'`).join(' ');
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `NO_COLOR=1 ${command}`);
    await showing((text) => text.includes('/usr/bin/curl'), 'the view', 10_000);
    expect(tmux('capture-pane', '-p', '-e', '-t', session)).not.toMatch(/\u001b\[[0-9;]*m/);
    tmux('send-keys', '-t', session, 'q');
  }, 30_000);
});

describe('auditflow replay progress', () => {
  let dir: string;
  let big: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditflow-replay-progress-'));
    big = join(dir, 'audit.log');
    // Enough lines that the replay outlasts the progress line's first redraw (250 ms).
    const one = readdirSync(FIXTURES)
      .filter((name) => name.endsWith('.log'))
      .map((name) => readFileSync(join(FIXTURES, name), 'utf8'))
      .join('');
    writeFileSync(big, one.repeat(Math.ceil(30_000_000 / one.length)));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows bytes read of the size, records per second and time left on a terminal', () => {
    // script(1) runs the replay with a pseudo-terminal as its stdin, stdout and stderr; stdout goes to /dev/null inside.
    const typescript = join(dir, 'typescript');
    execFileSync('script', ['-qfec', `${process.execPath} ${cli} replay ${big} > /dev/null`, typescript], { stdio: 'ignore' });
    const shown = readFileSync(typescript, 'latin1');
    expect(shown).toMatch(/auditflow replay: [\d.]+[KM] of 2\d\.\dM \(\d+%\), [\d,]+ records\/s, \d+ s left/);
    // The line is erased before the summary.
    expect(shown).toMatch(/\r\u001b\[Kauditflow replay: \d+ lines, /);
  });

  it('writes nothing of it into a pipe', async () => {
    const result = await run(process.execPath, [cli, 'replay', big]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('records/s');
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stderr).toMatch(/^auditflow replay: \d+ lines, /);
  });
});
