// IP addresses as text: dotted IPv4, and IPv6 in the canonical form of RFC 5952.
import { isIP } from 'node:net';

export function ipv4Text(bytes: Buffer): string {
  return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
}

export function isIpv4Mapped(address: Buffer): boolean {
  if (address.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return address[10] === 0xff && address[11] === 0xff;
}

/** RFC 5952 canonical text: lower case, longest run (>= 2) of zero groups as `::`, first on ties. */
export function ipv6Text(address: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(address.length >= 2 * i + 2 ? address.readUInt16BE(2 * i) : 0);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** Whether an address text is the unspecified one of its family (0.0.0.0, ::): a wildcard bind, no one address. */
export const isUnspecifiedText = (text: string): boolean => text === '0.0.0.0' || text === '::';

/** The bytes (4 or 16, network order) of an IPv4 or IPv6 address in text; undefined when it is neither. */
export function ipTextBytes(text: string): Buffer | undefined {
  const version = isIP(text);
  if (version === 4) return Buffer.from(text.split('.').map(Number));
  if (version !== 6) return undefined;
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) stands for the last two groups.
  const dotted = text.includes('.') ? text.slice(text.lastIndexOf(':') + 1) : undefined;
  const head = dotted === undefined ? text : text.slice(0, text.length - dotted.length) + '0:0';
  const [left = '', right] = head.split('::');
  const groupsOf = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const front = groupsOf(left);
  const back = right === undefined ? [] : groupsOf(right);
  const groups = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(group, 2 * i));
  if (dotted !== undefined) Buffer.from(dotted.split('.').map(Number)).copy(bytes, 12);
  return bytes;
}
