// How many short-lived connects get their local end, and how many a wrong one (docs/flows.md,
// "Local ends from the destroy").
//
//   node dist/bench/local-ends.js [--connects N] [--rate PER_SECOND]
//
// Holds the kernel lock, runs `auditflow run --stdout` (aggregation off), a loopback TCP server that
// accepts and closes at once, and one python client that makes N connections one after another
// (connect → getsockname → close, so each socket's fd is reused by the next one), at most RATE a
// second. Then compares each connect flow's local port, in serial order, with the one the client saw.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { acquireKernelLock } from '../src/audit/kernel-lock.js';
import type { Flow } from '../src/schema/entries.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const SERVER = `
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(4096)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.close()
`;

const CLIENT = `
import socket, sys, time, json
port, count, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
seen, start = [], time.monotonic()
for i in range(count):
    if rate > 0:
        wait = start + i / rate - time.monotonic()
        if wait > 0: time.sleep(wait)
    s = socket.create_connection(('127.0.0.1', port))
    seen.append(s.getsockname()[1])
    s.close()
print(json.dumps(seen))
`;

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code} before its first line`)));
  });
}

function output(child: ChildProcess): Promise<string> {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve) => child.once('close', () => resolve(text)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { connects: { type: 'string', default: '10000' }, rate: { type: 'string', default: '0' } } });
  const count = Number(values.connects);
  const lock = await acquireKernelLock();
  const dir = mkdtempSync(join(tmpdir(), 'auditflow-local-ends-'));
  const server = spawn('python3', ['-c', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let daemon: ChildProcess | undefined;
  try {
    const port = Number(await firstLine(server));
    const env = { ...process.env, AUDITFLOW_STATE_DIR: join(dir, 'state'), AUDITFLOW_RUNTIME_DIR: join(dir, 'run') };
    daemon = spawn(process.execPath, [CLI, 'run', '--stdout', '--metrics', 'off', '--set', 'aggregate_window_ms=0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const flowsText = output(daemon);
    await new Promise<void>((resolve, reject) => {
      const log = createInterface({ input: daemon?.stderr as NodeJS.ReadableStream });
      log.on('line', (line) => {
        if (line.includes('"msg":"running"')) resolve();
      });
      daemon?.once('exit', (code) => reject(new Error(`the daemon exited ${code} before it ran`)));
    });
    const client = spawn('python3', ['-c', CLIENT, String(port), String(count), values.rate], { stdio: ['ignore', 'pipe', 'inherit'] });
    const seenText = output(client);
    const started = Date.now();
    await new Promise((resolve) => client.once('close', resolve));
    const seconds = (Date.now() - started) / 1000;
    const seen = JSON.parse(await seenText) as number[];
    // The close join's waits (local_wait_ms 300, a destroy's hold) and the local check's, then stop.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    daemon.kill('SIGTERM');
    const flows = (await flowsText)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Flow);
    const connects = flows.filter((flow) => flow.kind === 'flow' && flow.op === 'connect' && flow.pid === client.pid).sort((a, b) => a.serial - b.serial);
    const tally = { right: { socket: 0, close: 0 }, wrong: { socket: 0, close: 0 }, none: 0 };
    connects.forEach((flow, n) => {
      if (flow.local_port === null) tally.none++;
      else tally[flow.local_port === seen[n] ? 'right' : 'wrong'][flow.local_source === 'close' ? 'close' : 'socket']++;
    });
    process.stdout.write(
      `${count} connects in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s), ${connects.length} connect flows\n` +
        `right local end: ${tally.right.socket + tally.right.close} (socket ${tally.right.socket}, close ${tally.right.close})\n` +
        `wrong local end: ${tally.wrong.socket + tally.wrong.close} (socket ${tally.wrong.socket}, close ${tally.wrong.close})\n` +
        `none: ${tally.none}\n`,
    );
  } finally {
    if (daemon !== undefined && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon?.once('exit', resolve));
    }
    server.kill();
    rmSync(dir, { recursive: true, force: true });
    lock.release();
  }
}

await main();
