// A second audit daemon for kernel tests: registers this process, drains records, prints
// "registered <pid>", and on SIGTERM unregisters and exits. Run with: node --import tsx.
import { AuditControl } from '../../src/audit/control.js';
import { AuditSocket, batchRecords } from '../../src/audit/socket.js';

let records = 0;
const socket = new AuditSocket({ onBatch: (batch) => (records += batchRecords(batch).length) });
const control = new AuditControl(socket);
await control.register();
process.stdout.write(`registered ${process.pid}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await control.unregister();
    await socket.close();
    process.stdout.write(`records ${records}\n`);
    process.exit(0);
  })();
});
