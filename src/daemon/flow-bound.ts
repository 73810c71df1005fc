// One flow entry's size, bounded (`entry_max_bytes`). Most of a flow is the process's own text: its
// command line, its parent's, paths. Each is bounded where it is read (argv_max_bytes, the kernel's
// PATH_MAX), but together, and with argv_max_bytes raised, one entry could still grow past what a
// stream consumer expects of a single entry. An entry over the bound is cut, never dropped: the
// longest of those texts is shortened first, until the entry fits; the entry then says so
// (`entry_truncated`), and argv / parent_argv cut say so as the process stage does
// (argv_truncated). The caller counts the cut (loss reason `entry_truncated`).
//
// Size: the bytes of the flow's field names and values as the entry carries them (flowEntry: UTF-8
// text, lists as JSON), with the host; the sink's envelope (kind, boot_id, seq) comes on top.
import type { Flow } from '../pipeline/flow.js';
import { utf8Prefix } from '../pipeline/utf8.js';

/** The fields that may be shortened: the texts a local user makes long (the others are short by kind). */
const SHRINKABLE = ['argv', 'parent_argv', 'exe', 'parent_exe', 'cwd', 'unit', 'container_id', 'key', 'node'] as const;
type Shrinkable = (typeof SHRINKABLE)[number];

/** The smallest bound that still holds a flow with every shrinkable field emptied (its other fields are a few hundred bytes). */
export const ENTRY_MIN_BYTES = 4096;

export interface BoundedFlow {
  flow: Flow;
  /** The fields shortened, in the order they were; empty when the flow fit. */
  cut: string[];
}

/** The flow as it is, or a copy cut to `maxBytes` (see the header). */
export function boundFlow(flow: Flow, host: string, maxBytes: number): BoundedFlow {
  if (upperBytes(flow, host) <= maxBytes) return { flow, cut: [] };
  const sizes = new Map<string, number>();
  let total = Buffer.byteLength('host') + Buffer.byteLength(host);
  for (const name in flow) {
    const bytes = fieldBytes(name, flow[name as keyof Flow]);
    sizes.set(name, bytes);
    total += bytes;
  }
  if (total <= maxBytes) return { flow, cut: [] };
  const copy: Flow = { ...flow };
  const cut: string[] = [];
  for (;;) {
    const over = total + (cut.length === 0 ? 0 : fieldBytes('entry_truncated', true)) - maxBytes;
    if (over <= 0) break;
    const name = largest(copy, sizes);
    if (name === undefined) break;
    const before = sizes.get(name) as number;
    const room = Math.max(0, before - Buffer.byteLength(name) - over);
    const value = copy[name];
    const fields = copy as unknown as Record<Shrinkable, string | string[]>;
    if (Array.isArray(value)) {
      fields[name] = fitArgv(value, room);
      const flag = name === 'argv' ? 'argv_truncated' : 'parent_argv_truncated';
      if (copy[flag] === undefined) {
        copy[flag] = true;
        total += fieldBytes(flag, true);
      }
    } else if (typeof value === 'string') {
      fields[name] = utf8Prefix(Buffer.from(value), room);
    }
    const after = fieldBytes(name, fields[name]);
    sizes.set(name, after);
    total += after - before;
    if (!cut.includes(name)) cut.push(name);
  }
  copy.entry_truncated = true;
  return { flow: copy, cut };
}

/** A cheap bound from above on the entry's bytes: 3 bytes a UTF-16 unit, 6 in a JSON string. */
function upperBytes(flow: Flow, host: string): number {
  let bytes = 4 + 3 * host.length;
  for (const name in flow) {
    const value = flow[name as keyof Flow];
    bytes += name.length;
    if (typeof value === 'string') bytes += 3 * value.length;
    else if (Array.isArray(value)) for (const item of value) bytes += 6 * (item as string).length + 3;
    // A number's text (1e+21, -2147483648) or true/false.
    else bytes += 24;
  }
  return bytes;
}

/** One field's bytes in the entry (name and value), 0 when it is left out (null). */
function fieldBytes(name: string, value: unknown): number {
  if (value === null || value === undefined || name === 'kind') return 0;
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return Buffer.byteLength(name) + Buffer.byteLength(text);
}

/** The largest shrinkable field that still has something to cut. */
function largest(flow: Flow, sizes: Map<string, number>): Shrinkable | undefined {
  let best: Shrinkable | undefined;
  let bestBytes = 0;
  for (const name of SHRINKABLE) {
    const value = flow[name];
    const empty = value === null || value === undefined || value.length === 0;
    const bytes = sizes.get(name) ?? 0;
    if (!empty && bytes > bestBytes) {
      best = name;
      bestBytes = bytes;
    }
  }
  return best;
}

/** The leading arguments whose JSON array fits `budget` bytes, the last one cut to fit. */
function fitArgv(argv: string[], budget: number): string[] {
  const kept: string[] = [];
  let used = 2;
  for (const arg of argv) {
    const comma = kept.length > 0 ? 1 : 0;
    const bytes = Buffer.byteLength(JSON.stringify(arg));
    if (used + comma + bytes <= budget) {
      kept.push(arg);
      used += comma + bytes;
      continue;
    }
    const room = budget - used - comma - 2;
    if (room > 0) kept.push(jsonPrefix(arg, room));
    break;
  }
  return kept;
}

/** The longest prefix of `text` whose JSON string body (without its quotes) takes at most `max` bytes. */
function jsonPrefix(text: string, max: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const cost = jsonCharBytes(char);
    if (bytes + cost > max) break;
    bytes += cost;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * What JSON.stringify makes of one code point, in UTF-8 bytes (ECMA-262 QuoteJSONString): `\"`,
 * `\\` and \b \t \n \f \r take 2, other controls and lone surrogates `\uXXXX` 6, the rest its UTF-8.
 */
function jsonCharBytes(char: string): number {
  const code = char.codePointAt(0) as number;
  if (code === 0x22 || code === 0x5c || code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return 2;
  if (code < 0x20 || (code >= 0xd800 && code <= 0xdfff)) return 6;
  return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
}
