// The DNS answers captured on lo (test/fixtures/dns/answers-lo.hex: its header says how), as the
// capture socket hands them over: one Buffer per packet, from the IP header on.
import { readFileSync } from 'node:fs';

export const capturedAnswers: Buffer[] = readFileSync(new URL('../fixtures/dns/answers-lo.hex', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => Buffer.from(line, 'hex'));

/** Packets side by side in one Buffer with three meta words each (offset, length, interface index), as a capture batch. */
export function captureBatch(packets: readonly Buffer[], ifindex = 1): { data: Buffer; meta: Uint32Array } {
  const meta = new Uint32Array(packets.length * 3);
  let offset = 0;
  packets.forEach((packet, i) => {
    meta.set([offset, packet.length, ifindex], i * 3);
    offset += packet.length;
  });
  return { data: Buffer.concat(packets), meta };
}
