// A snapshot as lines of text that fit a terminal's width: the header (window, entries, losses),
// the column titles and one line per group. The view (view.ts) colours them; `top --once` prints
// them as they are. Names come from other processes: every one goes through escapeForTerminal, so
// no escape sequence, newline or bidi control reaches the terminal, then is cut to its column.
import { escapeForTerminal } from '../cli/tail-format.js';
import type { SortKey, TopRow, TopSnapshot } from './model.js';

export interface RenderedView {
  /** What the view is and what it holds (one or two lines). */
  header: string[];
  /** Column titles, the sorted one marked. */
  titles: string;
  rows: string[];
}

interface Column {
  title: string;
  sort: SortKey;
  width: number;
  cell: (row: TopRow) => string;
}

const COLUMNS: readonly Column[] = [
  { title: 'CONN/s', sort: 'conns', width: 7, cell: (row) => rate(row.connsPerSec) },
  { title: 'OUT/s', sort: 'out', width: 7, cell: (row) => bytes(row.bytesOutPerSec) },
  { title: 'IN/s', sort: 'in', width: 7, cell: (row) => bytes(row.bytesInPerSec) },
  { title: 'RMT', sort: 'remotes', width: 4, cell: (row) => String(row.remotes) },
  { title: 'FAIL', sort: 'fail', width: 5, cell: (row) => String(row.failures) },
];

/** A rate with at most three significant digits, `0` for none. */
function rate(value: number): string {
  if (value === 0) return '0';
  if (value < 0.01) return '<0.01';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Bytes per second in IEC units, as iftop and nethogs show them. */
export function bytes(value: number): string {
  if (value === 0) return '0';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled >= 100 || unit === 0 ? scaled.toFixed(0) : scaled.toFixed(1)}${units[unit]}`;
}

/** `text` cut to `width` columns (an ellipsis at the end when cut). Code points, as the escaped text is mostly ASCII. */
function fit(text: string, width: number): string {
  const points = [...text];
  if (points.length <= width) return text + ' '.repeat(width - points.length);
  return `${points.slice(0, Math.max(0, width - 1)).join('')}…`;
}

export function render(snapshot: TopSnapshot, width: number, streamKey: string): RenderedView {
  const w = Math.max(40, width);
  const losses = Object.entries(snapshot.losses)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`);
  const header = [
    fit(`auditflow top  ${escapeForTerminal(streamKey)}  by ${snapshot.by}  last ${Math.round(snapshot.seconds)} s  ${snapshot.entries} entries  ${snapshot.groups} groups`, w),
    fit(
      `losses: ${losses.length === 0 ? 'none' : losses.join(', ')}` +
        (snapshot.dropped > 0 ? `  view bound: ${snapshot.dropped} oldest entries left out` : '') +
        (snapshot.filter !== '' ? `  filter: ${escapeForTerminal(snapshot.filter)}` : ''),
      w,
    ),
  ];
  const fixed = COLUMNS.reduce((sum, column) => sum + column.width + 1, 0);
  const rest = w - fixed;
  const groupWidth = Math.max(12, Math.floor(rest * 0.55));
  const remoteWidth = Math.max(0, rest - groupWidth - 1);
  const marked = (column: Column): string => (column.sort === snapshot.sort ? `${column.title}▼` : column.title);
  const titles = [
    ...COLUMNS.map((column) => marked(column).padStart(column.width)),
    fit(snapshot.sort === 'name' ? `${snapshot.by.toUpperCase()}▲` : snapshot.by.toUpperCase(), groupWidth),
    fit('TOP REMOTES', remoteWidth),
  ]
    .join(' ')
    .trimEnd();
  const rows = snapshot.rows.map((row) =>
    [
      ...COLUMNS.map((column) => column.cell(row).padStart(column.width)),
      fit(escapeForTerminal(row.group), groupWidth),
      fit(row.topRemotes.map((remote) => escapeForTerminal(remote)).join(' '), remoteWidth),
    ]
      .join(' ')
      .trimEnd(),
  );
  return { header, titles, rows };
}
