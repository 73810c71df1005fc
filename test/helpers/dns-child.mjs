// A program that looks a name up through one DNS server and connects to the address it got, as a
// program using a resolver library would (Node's c-ares: a UDP socket connected to the server).
// argv: server, name, 4|6 (A or AAAA), port; with --wait it prints `resolved <address>` and waits
// for a line on stdin before it connects. Prints `connected <local port>`, then exits.
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [server, name, family, port, wait] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 3000, tries: 1 });
resolver.setServers([server]);
const [address] = family === '6' ? await resolver.resolve6(name) : await resolver.resolve4(name);
if (wait === '--wait') {
  process.stdout.write(`resolved ${address}\n`);
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();
}
const socket = connect({ host: address, port: Number(port) });
await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
process.stdout.write(`connected ${socket.localPort}\n`);
socket.end();
await new Promise((resolve) => socket.once('close', resolve));
