// auditflow top: who talks to whom right now. Reads the flow stream (from now, or from --since
// back), keeps the last window's entries in a bounded model (src/top/model.ts) and shows them as a
// full-screen view that redraws every second (src/top/view.ts), or with --once prints one snapshot
// (text, or --json for scripts) of the entries from --since until now and exits.
import { InvalidArgumentError } from 'commander';
import type { RedisClient } from '../sink/redis-client.js';
import { TopModel, type EntryFields, type GroupBy, type SortKey, type TopSnapshot } from '../top/model.js';
import { render } from '../top/render.js';
import type { RawEntry } from './tail-format.js';
import { consume, openStreamClient, streamKeyOf, type StreamClientOptions } from './tail.js';

export interface TopCliOptions extends StreamClientOptions {
  stream?: string;
  host?: string;
  since?: number;
  window?: number;
  by: GroupBy;
  sort: SortKey;
  filter: string;
  once?: boolean;
  json?: boolean;
  limit: number;
  maxEntries: number;
}

const DEFAULT_WINDOW_MS = 10_000;
const RANGE_COUNT = 1000;
// Alternate screen buffer (xterm's private mode 1049): the view draws on its own screen and the
// terminal's own contents come back when it quits.
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

/** A stream entry's fields as text (invalid UTF-8 becomes U+FFFD; the view escapes what it shows). */
function fieldsOf(entry: RawEntry): EntryFields {
  const fields: Record<string, string> = {};
  for (const [name, value] of entry.fields) fields[name] = value.toString('utf8');
  return fields;
}

/** The entries from `fromMs` to the stream's end at the time of the call, in pages. */
async function readRange(client: RedisClient, key: string, fromMs: number, take: (fields: EntryFields) => void): Promise<string> {
  let start = String(fromMs);
  let last = `${fromMs}-0`;
  const end = (await client.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0];
  if (end === undefined) return last;
  for (;;) {
    const page = (await client.xrangeBuffer(key, start, end, 'COUNT', RANGE_COUNT)) as Array<[Buffer, Buffer[]]>;
    for (const [id, flat] of page) {
      const fields: Array<[string, Buffer]> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) fields.push([String(flat[i]), flat[i + 1] as Buffer]);
      take(fieldsOf({ id: String(id), fields }));
      last = String(id);
    }
    if (page.length < RANGE_COUNT) return last;
    // Exclusive start (Redis 6.2+): the page's last entry is not read again.
    start = `(${last}`;
  }
}

export async function topCommand(options: TopCliOptions): Promise<void> {
  const interactive = options.once !== true;
  if (interactive && !(process.stdout.isTTY && process.stdin.isTTY)) {
    throw new InvalidArgumentError('the live view needs a terminal on stdin and stdout; for scripts use --once (with --json)');
  }
  if (options.json === true && interactive) throw new InvalidArgumentError('--json goes with --once');
  const windowMs = options.window ?? options.since ?? DEFAULT_WINDOW_MS;
  const key = streamKeyOf(options);
  const startedAt = Date.now();
  const sinceMs = options.since ?? 0;
  // Read from --since back; the rates divide by the whole window from the start when --since covers it.
  const model = new TopModel(windowMs, options.maxEntries, startedAt - sinceMs);
  const client = await openStreamClient(options);
  try {
    // Following on after the last entry read, or from now on.
    const from = sinceMs > 0 ? await readRange(client, key, startedAt - sinceMs, (fields) => model.add(fields)) : '$';
    if (!interactive) {
      printSnapshot(model.snapshot({ by: options.by, sort: options.sort, filter: options.filter, now: Date.now(), limit: options.limit }), key, options.json === true);
      return;
    }
    await live(client, model, key, from, options);
  } finally {
    client.disconnect();
  }
}

function printSnapshot(snapshot: TopSnapshot, key: string, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ stream: key, ...snapshot })}\n`);
    return;
  }
  const view = render(snapshot, process.stdout.columns ?? 100, key);
  process.stdout.write(`${[...view.header, view.titles, ...view.rows].map((line) => line.trimEnd()).join('\n')}\n`);
}

async function live(client: RedisClient, model: TopModel, key: string, from: string, options: TopCliOptions): Promise<void> {
  const controller = new AbortController();
  let notice: string | null = null;
  const reading = consume(
    client,
    {
      key,
      from,
      notice: (line) => {
        notice = /back/.test(line) ? null : 'Redis connection lost, reconnecting';
      },
      signal: controller.signal,
    },
    () => false,
    async (entries) => {
      for (const entry of entries) model.add(fieldsOf(entry));
    },
  );
  // ink draws only the last frame, at exit, where it believes it runs in CI (the is-in-ci package: CI
  // or CONTINUOUS_INTEGRATION set). The live view has a terminal on stdin and stdout (checked above),
  // so it is no CI log: taken out before ink is loaded, which is when that package reads the
  // environment (Node's own colour check, tty.getColorDepth, reads CI too).
  for (const name of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[name];
  // The view's libraries load only for the live view (--once prints without them).
  const [{ createElement }, { render: renderInk }, { TopView }] = await Promise.all([import('react'), import('ink'), import('../top/view.js')]);
  // NO_COLOR (no-color.org) and a terminal that says it has none turn colours off.
  const colors = process.env.NO_COLOR === undefined && process.stdout.hasColors?.() === true;
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  const app = renderInk(
    createElement(TopView, {
      model,
      streamKey: key,
      by: options.by,
      sort: options.sort,
      filter: options.filter,
      colors,
      refreshMs: 1000,
      now: Date.now,
      notice: () => notice,
    }),
    { exitOnCtrlC: false, patchConsole: false },
  );
  const stop = (): void => app.unmount();
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  let failure: unknown;
  reading.catch((error: unknown) => {
    failure = error;
    app.unmount();
  });
  try {
    await app.waitUntilExit();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    process.stdout.write(LEAVE_ALTERNATE_SCREEN);
    controller.abort();
    await reading.catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
}
