// A DNS server for tests: answers A, AAAA and CNAME questions from a fixed table over UDP, with
// dns-packet, on a loopback address's port 53 (the capture's filter keeps only source port 53).
import { createSocket, type Socket } from 'node:dgram';
import { decode, encode, type Answer } from 'dns-packet';

export interface ZoneName {
  a?: string[];
  aaaa?: string[];
  /** The name is an alias of this one (its records answer). */
  cname?: string;
}

export interface DnsResponder {
  /** Questions asked so far, `name type`. */
  readonly asked: string[];
  close(): Promise<void>;
}

const TTL = 300;

export async function startDnsResponder(address: string, zone: Record<string, ZoneName>): Promise<DnsResponder> {
  const socket: Socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const asked: string[] = [];
  socket.on('message', (message, from) => {
    let query;
    try {
      query = decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    asked.push(`${question.name} ${question.type}`);
    const answers: Answer[] = [];
    let owner = question.name.toLowerCase();
    for (let hops = 0; zone[owner]?.cname !== undefined && hops < 8; hops++) {
      const target = zone[owner]?.cname as string;
      answers.push({ type: 'CNAME', name: owner, ttl: TTL, data: target });
      owner = target;
    }
    const records = zone[owner];
    if (question.type === 'A') for (const data of records?.a ?? []) answers.push({ type: 'A', name: owner, ttl: TTL, data });
    if (question.type === 'AAAA') for (const data of records?.aaaa ?? []) answers.push({ type: 'AAAA', name: owner, ttl: TTL, data });
    const reply = encode({ type: 'response', id: query.id, flags: 0x8180, questions: query.questions, answers });
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => resolve());
  });
  return { asked, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}
