// The options of `auditflow top`, parsed without loading the view (ink and React load only when
// the command runs: every other command starts without them).
import { InvalidArgumentError } from 'commander';
import { GROUP_BYS, SORT_KEYS, type GroupBy, type SortKey } from '../top/model.js';

/** Parses a duration: a number with s, m, h or d (`90s`, `10m`, `1h`); milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (match === null) throw new InvalidArgumentError('must be a number with s, m, h or d, e.g. 30s or 10m');
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Math.round(Number(match[1]) * unit);
  if (ms < 1000) throw new InvalidArgumentError('must be at least 1s');
  return ms;
}

export function parseGroupBy(text: string): GroupBy {
  if ((GROUP_BYS as readonly string[]).includes(text)) return text as GroupBy;
  throw new InvalidArgumentError(`must be one of ${GROUP_BYS.join(', ')}`);
}

export function parseSort(text: string): SortKey {
  if ((SORT_KEYS as readonly string[]).includes(text)) return text as SortKey;
  throw new InvalidArgumentError(`must be one of ${SORT_KEYS.join(', ')}`);
}

export function parsePositive(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return Number(text);
}
