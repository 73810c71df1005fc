// The full-screen view of `auditflow top`, drawn with ink (React for terminals): it redraws once a
// second from the model, and keys change the grouping, the sort, the filter, or pause it. The lines
// themselves come from render.ts; this only lays them out, colours them when colours are wanted, and
// keeps the frame one line shorter than the terminal (ink clears the whole screen for a frame as tall
// as the terminal, which flickers).
import { createElement as h, useEffect, useRef, useState, type ReactElement } from 'react';
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { GROUP_BYS, SORT_KEYS, type GroupBy, type SortKey, type TopModel, type TopSnapshot } from './model.js';
import { render } from './render.js';

export interface ViewProps {
  model: TopModel;
  streamKey: string;
  by: GroupBy;
  sort: SortKey;
  filter: string;
  colors: boolean;
  refreshMs: number;
  now: () => number;
  /** A line about the Redis connection when it is not well (lost, reconnecting), else null. */
  notice: () => string | null;
}

const next = <T>(list: readonly T[], current: T): T => list[(list.indexOf(current) + 1) % list.length] as T;

// Lines around the rows: two of header, the titles, the footer, and one spare so the frame stays
// below the terminal's height.
const CHROME_LINES = 5;

export function TopView(props: ViewProps): ReactElement {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [by, setBy] = useState(props.by);
  const [sort, setSort] = useState(props.sort);
  const [filter, setFilterState] = useState(props.filter);
  const [editing, setEditingState] = useState<string | null>(null);
  // Keys can come faster than a redraw, each in its own input event: the handler reads what the
  // keys before it left, not the values of the last render.
  const current = useRef({ filter: props.filter, editing: null as string | null });
  const setFilter = (value: string): void => {
    current.current.filter = value;
    setFilterState(value);
  };
  const setEditing = (value: string | null): void => {
    current.current.editing = value;
    setEditingState(value);
  };
  const [paused, setPaused] = useState(false);
  const [, setTick] = useState(0);
  const frozen = useRef<TopSnapshot | null>(null);

  useEffect(() => {
    const timer = setInterval(() => setTick((tick) => tick + 1), props.refreshMs);
    return () => clearInterval(timer);
  }, [props.refreshMs]);

  useInput((input, key) => {
    const { editing, filter } = current.current;
    if (editing !== null) {
      if (key.return) {
        setFilter(editing);
        setEditing(null);
      } else if (key.escape) setEditing(null);
      else if (key.backspace || key.delete) setEditing(editing.slice(0, -1));
      else if (input !== '' && !key.ctrl && !key.meta) {
        // Typed faster than a redraw (or pasted), the text and its Enter can come as one string.
        const end = input.search(/[\r\n]/);
        if (end === -1) setEditing(editing + input);
        else {
          setFilter(editing + input.slice(0, end));
          setEditing(null);
        }
      }
      return;
    }
    if (key.ctrl && input === 'c') {
      exit();
      return;
    }
    // Keys typed faster than a redraw (or pasted) arrive as one string: each counts.
    for (const ch of input) {
      if (ch === 'q') exit();
      else if (ch === 's') setSort((current) => next(SORT_KEYS, current));
      else if (ch === 'b') setBy((current) => next(GROUP_BYS, current));
      else if (ch === 'f' || ch === '/') {
        setEditing(filter);
        return;
      } else if (ch === 'c') setFilter('');
      else if (ch === 'p' || ch === ' ') {
        frozen.current = null;
        setPaused((current) => !current);
      } else if (ch >= '1' && ch <= '6') setSort(SORT_KEYS[Number(ch) - 1] as SortKey);
    }
  });

  const height = stdout.rows ?? 24;
  const width = stdout.columns ?? 80;
  const limit = Math.max(1, height - CHROME_LINES);
  const live = props.model.snapshot({ by, sort, filter, now: props.now(), limit });
  if (paused && frozen.current === null) frozen.current = live;
  const shown = paused && frozen.current !== null ? { ...frozen.current } : live;
  const view = render(shown, width, props.streamKey);
  const notice = props.notice();
  const footer =
    editing !== null
      ? `filter (Enter applies, Esc cancels): ${editing}_`
      : `${paused ? 'PAUSED  ' : ''}${notice !== null ? `${notice}  ` : ''}q quit  s/1-6 sort  b group by  f filter  c clear  p pause`;
  const c = props.colors;
  return h(
    Box,
    { flexDirection: 'column' },
    h(Text, { key: 'h0', bold: c }, view.header[0] ?? ''),
    h(Text, { key: 'h1', color: c && Object.keys(shown.losses).length > 0 ? 'yellow' : undefined }, view.header[1] ?? ''),
    h(Text, { key: 'titles', inverse: c }, view.titles),
    ...view.rows.map((line, index) => h(Text, { key: `r${index}`, color: c && index === 0 ? 'green' : undefined }, line)),
    h(Text, { key: 'footer', dimColor: c }, footer.slice(0, Math.max(0, width - 1))),
  );
}
