// What a /proc socket lookup costs (src/pipeline/sockets.ts procSocketResolver), without and
// with its inode cache, in one run, interleaved and repeated. Needs no kernel audit and no
// root: it looks up its own sockets. This process opens --sockets TCP connections and as many
// connected UDP sockets on loopback (so /proc/net/{tcp,udp} have rows to scan beside the
// host's own), then times:
//   same:     one socket looked up again and again (a process sending from one socket);
//   distinct: --lookups sockets, spread over all of them, looked up once each (a burst of
//             new connections in one batch);
//   distinct, type known: the same with the hint the socket() event gives (family, type,
//             protocol), so only the socket's own table is read.
//
//   npm run build && node dist/bench/proc-socket-lookup.js [--sockets N] [--lookups N] [--repeats N]
import { readdirSync, readlinkSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { procSocketResolver, type SocketHint, type SocketResolver } from '../src/pipeline/sockets.js';

const { values } = parseArgs({
  options: { sockets: { type: 'string', default: '500' }, lookups: { type: 'string', default: '200' }, repeats: { type: 'string', default: '3' } },
});
const socketCount = Number(values.sockets);
const lookups = Number(values.lookups);
const repeats = Number(values.repeats);

async function openSockets(): Promise<{ close: () => Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const clients: Socket[] = [];
  for (let i = 0; i < socketCount; i++) {
    clients.push(await new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    }));
  }
  const udp: UdpSocket[] = [];
  for (let i = 0; i < socketCount; i++) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
    udp.push(socket);
  }
  return {
    close: async () => {
      for (const socket of clients) socket.destroy();
      for (const socket of udp) socket.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** This process's fds that are sockets, in fd order. */
function socketFds(): number[] {
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    })
    .sort((a, b) => a - b);
}

interface Case {
  name: string;
  lookups: number;
  run: (resolver: SocketResolver) => number;
}

const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

const sockets = await openSockets();
try {
  const all = socketFds();
  const last = all[all.length - 1]!;
  const step = Math.max(1, Math.floor(all.length / lookups));
  const fds = all.filter((_, i) => i % step === 0).slice(0, lookups);
  // What a socket() event would have said about each socket (found once, outside the timing).
  const probe = procSocketResolver({ ttlMs: 0 });
  const hints = new Map<number, SocketHint>();
  for (const fd of fds) {
    const info = probe(process.pid, fd);
    if (info) hints.set(fd, { family: info.family, type: info.type, protocol: info.protocol });
  }
  const cases: Case[] = [
    {
      name: 'same socket again',
      lookups,
      run: (resolve) => {
        let found = 0;
        for (let i = 0; i < lookups; i++) if (resolve(process.pid, last)) found++;
        return found;
      },
    },
    {
      name: 'distinct sockets once',
      lookups: fds.length,
      run: (resolve) => {
        let found = 0;
        for (const fd of fds) if (resolve(process.pid, fd)) found++;
        return found;
      },
    },
    {
      name: 'distinct, type known',
      lookups: fds.length,
      run: (resolve) => {
        let found = 0;
        for (const fd of fds) if (resolve(process.pid, fd, hints.get(fd))) found++;
        return found;
      },
    },
  ];
  const variants: Array<[string, () => SocketResolver]> = [
    ['no cache', () => procSocketResolver({ ttlMs: 0 })],
    ['inode cache', () => procSocketResolver()],
  ];
  process.stdout.write(`${all.length} sockets of this process, ${fds.length} looked up, ${repeats} repeats; median µs per lookup (min–max)\n`);
  for (const testCase of cases) {
    const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
    const found = new Map<string, number>();
    for (let r = 0; r < repeats; r++) {
      for (const [name, make] of variants) {
        const resolver = make();
        const start = process.hrtime.bigint();
        found.set(name, testCase.run(resolver));
        const micros = Number(process.hrtime.bigint() - start) / 1000 / testCase.lookups;
        samples.get(name)!.push(micros);
      }
    }
    for (const [name, list] of samples) {
      process.stdout.write(
        `${testCase.name.padEnd(22)} ${name.padEnd(12)} ${median(list).toFixed(1).padStart(8)} µs  (${Math.min(...list).toFixed(1)}–${Math.max(...list).toFixed(1)})  found ${found.get(name)}/${testCase.lookups}\n`,
      );
    }
  }
} finally {
  await sockets.close();
}
