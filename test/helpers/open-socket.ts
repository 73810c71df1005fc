// Opens one audit socket and reports what happened, for lifecycle tests that need a
// fresh process. Usage: node --import tsx open-socket.ts <unicast|multicast> <ref|unref>
import { AuditSocket } from '../../src/audit/socket.js';

const [mode = 'unicast', keep = 'ref'] = process.argv.slice(2);
try {
  const socket = new AuditSocket({ mode: mode as 'unicast' | 'multicast' });
  if (keep === 'unref') socket.unref();
  process.stdout.write('opened\n');
} catch (error) {
  const { code, errno, syscall, message } = error as NodeJS.ErrnoException;
  process.stdout.write(JSON.stringify({ code, errno, syscall, message }) + '\n');
  process.exitCode = 1;
}
