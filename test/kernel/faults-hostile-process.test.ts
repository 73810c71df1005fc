// Hostile process data, live: a program whose file name and arguments hold quotes, spaces, a
// newline, a fake `type=SYSCALL msg=audit(` record start, terminal escapes and bytes that are not
// UTF-8 connects out. Its flow carries comm, exe and argv exactly as those bytes decode, in entries
// that stay valid JSON; nothing of it leaks into another field or another entry, and `auditflow
// tail` prints it without a terminal acting on it. A command line longer than one entry may hold
// is published cut and counted (entry_max_bytes).
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/daemon/snapshot.js';
import { run } from '../helpers/child.js';
import { cli, readStream, startDaemon, useDaemonRedis } from '../helpers/daemon.js';
import { faultWorkload } from '../helpers/faults.js';
import { useKernel } from '../helpers/kernel.js';
import { freePort } from '../helpers/redis-server.js';
import { typedEntry } from '../../src/schema/typed.js';
import { expectValidEntries } from '../helpers/entry-schema.js';
import { until, untilAsync } from '../helpers/until.js';

useKernel();
const servers = useDaemonRedis();

const bytes = (...parts: Array<string | number[] | Buffer>): Buffer => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

/** Everything a log line, a terminal or a JSON encoder could trip over, in the first 15 bytes (comm) too. */
const HOSTILE_NAME = bytes('q"\' \n', [0x1b], '[31m', [0xff, 0xfe], 'type=SYSCALL msg=audit(1.000:1): pid=1 ', [0x1b], ']0;pwned', [0x07], [0xc3, 0x28]);
const HOSTILE_ARGS = [bytes('"; rm -rf / #'), bytes('two words\nnext line'), bytes([0x1b], '[2J', [0x9b], '31m', [0xed, 0xa0, 0x80]), bytes('type=SOCKADDR msg=audit(1:2): saddr=02')];

describe('hostile process data, live', () => {
  it('a program with a hostile name and argv connects out: its flow has comm, exe and argv exactly, as valid JSON, and auditflow tail shows it inert', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'auditflow-hostile-'));
    const path = bytes(`${directory}/`, HOSTILE_NAME);
    // A JavaScript string cannot hold these bytes: the workload copies itself there and execs it
    // by hex (fault-workload exec).
    copyFileSync(faultWorkload(), path);
    const port = await freePort();
    const argv = [bytes('a0 "q"'), bytes('connect'), bytes(String(port)), bytes('1'), bytes('/dev/null'), bytes('0'), ...HOSTILE_ARGS];
    // The kernel keeps the first 128 bytes of the argument area (MAX_PROCTITLE_AUDIT_LEN): all of it here.
    expect(Buffer.concat(argv.map((a) => Buffer.concat([a, Buffer.from([0])]))).length).toBeLessThanOrEqual(128);

    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', 'faults:hostile'] });
    try {
      await daemon.waitForLog('running');
      expect((await run(faultWorkload(), ['exec', path.toString('hex'), ...argv.map((a) => a.toString('hex'))])).stdout).toBe('done 1\n');
      // The same connect from the workload under its own name, to compare with.
      const plainPort = await freePort();
      expect((await run(faultWorkload(), ['connect', String(plainPort), '1', '/dev/null', '0'])).stdout).toBe('done 1\n');
      await until(() => (readSnapshot(daemon.dirs.runtime)?.pipeline.flows ?? 0) >= 2, 10_000, 'the flows');
      const connectTo = async (p: number): Promise<Record<string, string>> => {
        for (let i = 0; i < 100; i++) {
          const found = (await readStream(servers.redis.url, 'faults:hostile')).map((e) => e.fields).filter((f) => f.kind === 'flow' && f.op === 'connect' && f.remote_port === String(p));
          if (found.length > 0) {
            expect(found).toHaveLength(1);
            return found[0] as Record<string, string>;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`no flow to port ${p}`);
      };
      const flow = await connectTo(port);
      const plain = await connectTo(plainPort);
      expect(Number(flow.pid)).not.toBe(Number(plain.pid));
      expect(flow.comm).toBe(HOSTILE_NAME.subarray(0, 15).toString('utf8'));
      expect(flow.exe).toBe(path.toString('utf8'));
      expect(JSON.parse(flow.argv as string)).toEqual(argv.map((a) => a.toString('utf8')));
      // The fake record text stayed inside its fields: the flow has the plain one's fields (but those
      // of a /proc lookup, which depend on whether the process was still there) and its values.
      const lookedUp = new Set(['cwd', 'proc_start', 'proc_gone', 'container_id', 'parent_exe', 'parent_comm', 'parent_argv']);
      const keys = (f: Record<string, string>): string[] => Object.keys(f).filter((key) => !lookedUp.has(key)).sort();
      expect(keys(flow)).toEqual(keys(plain));
      const own = new Set(['comm', 'exe', 'argv', 'pid', 'remote_port', 'local_port', 'community_id', 'serial', 'seq', 'ts', 'first_ts', 'last_ts', ...lookedUp]);
      for (const [key, value] of Object.entries(plain)) if (!own.has(key)) expect(flow[key], key).toBe(value);
      expect(flow).toMatchObject({ remote_addr: '127.0.0.1', result: 'ECONNREFUSED', family: 'inet', proto: 'tcp' });

      // `auditflow tail` shows the entries without letting the terminal act on them.
      const count = (await readStream(servers.redis.url, 'faults:hostile')).length;
      const tail = (...more: string[]): Promise<{ code: number | null; stdout: string }> =>
        run(process.execPath, [cli, 'tail', '--redis', servers.redis.url, '--stream', 'faults:hostile', '--from', '0', '--count', String(count), ...more]);
      const shown = await tail();
      expect(shown.code).toBe(0);
      // One line per entry, and nothing a terminal acts on: no C0 control but the line ends, no
      // DEL, no C1 control (U+009B is a one-character CSI), no line separators.
      const lines = shown.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(count);
      expect(shown.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/);
      const line = lines.find((l) => l.includes(`${port}`) && l.includes('type=SYSCALL msg=audit('));
      expect(line).toContain('q"\' \\n\\e[31m');
      expect(line).toContain('\\e]0;pwned\\x07');
      // --json: the same entry, exactly, typed (src/schema/typed.ts), valid against the schema.
      const json = (await tail('--json')).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expectValidEntries(json);
      const { id: _id, ...fields } = json.find((e) => e.remote_port === port) ?? {};
      expect(fields).toEqual(typedEntry(flow));
      expect(fields.argv).toEqual(argv.map((a) => a.toString('utf8')));
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });

  it('a command line past entry_max_bytes: its flow is published cut, marked, within the bound, and counted as entry_truncated', async () => {
    const stream = 'faults:entry-bound';
    const daemon = startDaemon({ args: ['--redis', servers.redis.url, '--stream', stream, '--set', 'entry_max_bytes=4K', '--set', 'argv_max_bytes=65536', '--set', 'argv_max_args=1000'] });
    try {
      await daemon.waitForLog('running');
      const port = await freePort();
      // 40 arguments of 200 bytes after the connect's own; the 500 ms pause keeps the process there for /proc.
      const long = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(200, 'z'));
      expect((await run(faultWorkload(), ['connect', String(port), '1', '/dev/null', '500000', ...long])).stdout).toBe('done 1\n');
      const entries = async (): Promise<Array<Record<string, string>>> => (await readStream(servers.redis.url, stream)).map((e) => e.fields);
      await untilAsync(async () => (await entries()).some((f) => f.kind === 'loss' && f.reason === 'entry_truncated'), 10_000, 'the entry_truncated loss');
      const flow = (await entries()).find((f) => f.kind === 'flow' && f.op === 'connect' && f.remote_port === String(port));
      expect(flow).toMatchObject({ entry_truncated: 'true', argv_truncated: 'true' });
      const argv = JSON.parse(flow?.argv ?? '[]') as string[];
      expect(argv.slice(0, 7)).toEqual([faultWorkload(), 'connect', String(port), '1', '/dev/null', '500000', long[0]]);
      expect(argv.length).toBeLessThan(46);
      const own = Object.entries(flow ?? {}).filter(([name]) => !['kind', 'boot_id', 'seq'].includes(name));
      expect(own.reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0)).toBeLessThanOrEqual(4096);
      const loss = (await entries()).find((f) => f.kind === 'loss' && f.reason === 'entry_truncated');
      expect(Number(loss?.count)).toBeGreaterThanOrEqual(1);
      expectValidEntries((await readStream(servers.redis.url, stream)).map((e) => typedEntry(e.fields)));
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });
});
