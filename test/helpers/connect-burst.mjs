// Workload for kernel tests: listens on 127.0.0.1 and connects to itself N times, one
// after another. Usage: node connect-burst.mjs <count> [done-file]. Prints the port, then
// "done", and creates done-file (a parent whose event loop is blocked can still see it).
import { writeFileSync } from 'node:fs';
import net from 'node:net';

const count = Number(process.argv[2] ?? '1');
const server = net.createServer((socket) => socket.destroy());
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  process.stdout.write(`port ${port}\n`);
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
  }
  server.close();
  if (process.argv[3]) writeFileSync(process.argv[3], 'done\n');
  process.stdout.write('done\n');
});
