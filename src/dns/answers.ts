// A DNS response → which addresses answered which name. Parsed with the dns-packet package; a
// message it cannot read is an outcome, never an exception.
import { decode, type Answer } from 'dns-packet';

export interface Resolution {
  /** The address an A or AAAA record gave. */
  address: string;
  /** The name the program asked for (the question), lower-cased, without the trailing dot. */
  name: string;
  /** The last name of the CNAME chain the address record belongs to, when it is not `name`. */
  cname: string | null;
  /** The record's TTL, seconds. */
  ttl: number;
}

export type AnswersResult =
  | { ok: true; id: number; resolutions: Resolution[] }
  /** Not a response, or one without a usable question: nothing to learn, not an error. */
  | { ok: false; reason: 'not-response' | 'no-question' }
  /** A message dns-packet could not decode. */
  | { ok: false; reason: 'malformed' };

// A chain longer than this is a loop or an attack; resolvers stop far earlier (BIND: 16).
const MAX_CHAIN = 16;

const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** RFC 5952 text, as flows write IPv6 addresses (the WHATWG URL serializer follows it). */
function ipv6Canonical(text: string): string {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text;
  }
}

export function answersOf(message: Buffer): AnswersResult {
  let decoded;
  try {
    decoded = decode(message);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (decoded.type !== 'response') return { ok: false, reason: 'not-response' };
  const question = decoded.questions?.[0];
  if (question === undefined || (question.type !== 'A' && question.type !== 'AAAA')) return { ok: false, reason: 'no-question' };
  const asked = canonical(question.name);
  const answers: Answer[] = decoded.answers ?? [];
  // Follow the CNAME chain from the question, as a resolver hands it over (in any order).
  const aliases = new Map<string, string>();
  for (const answer of answers) if (answer.type === 'CNAME') aliases.set(canonical(answer.name), canonical(answer.data));
  const chain = new Set([asked]);
  let current = asked;
  for (let step = 0; step < MAX_CHAIN; step++) {
    const next = aliases.get(current);
    if (next === undefined || chain.has(next)) break;
    chain.add(next);
    current = next;
  }
  const resolutions: Resolution[] = [];
  for (const answer of answers) {
    if (answer.type !== 'A' && answer.type !== 'AAAA') continue;
    const owner = canonical(answer.name);
    if (!chain.has(owner)) continue;
    resolutions.push({ address: answer.type === 'AAAA' ? ipv6Canonical(answer.data) : answer.data, name: asked, cname: owner === asked ? null : owner, ttl: answer.ttl ?? 0 });
  }
  return { ok: true, id: decoded.id ?? 0, resolutions };
}
