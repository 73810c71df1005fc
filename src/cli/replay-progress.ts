// Progress of a long replay on stderr: bytes read of the inputs' total size, records per second and
// the time left, redrawn in place a few times a second. Only for a terminal: the caller passes a
// stream only when stderr is a TTY, so pipes, files and tests see nothing of it.
import type { Writable } from 'node:stream';
import { bytes } from '../top/render.js';

// Carriage return, then erase to the end of the line (ECMA-48 EL, CSI K): the line is redrawn in place.
const REDRAW = '\r\x1b[K';
const EVERY_MS = 250;

export class ReplayProgress {
  private read = 0;
  private records = 0;
  private readonly started: number;
  private readonly timer: NodeJS.Timeout;
  private drawn = false;

  /**
   * @param total the inputs' size in bytes, when every input is a file; undefined (stdin) shows no share or time left
   */
  constructor(
    private readonly out: Writable,
    private readonly total: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.timer = setInterval(() => this.draw(), EVERY_MS);
    this.timer.unref();
  }

  /** Bytes of input read (as they are read, before they are parsed). */
  addBytes(count: number): void {
    this.read += count;
  }

  /** Records parsed so far. */
  setRecords(count: number): void {
    this.records = count;
  }

  /** The line as it would be drawn now. */
  line(): string {
    const seconds = Math.max(0.001, (this.now() - this.started) / 1000);
    const perSecond = Math.round(this.records / seconds);
    const parts = [`auditflow replay: ${bytes(this.read)}`];
    if (this.total !== undefined && this.total > 0) {
      const share = Math.min(1, this.read / this.total);
      parts[0] += ` of ${bytes(this.total)} (${Math.floor(share * 100)}%)`;
      const rate = this.read / seconds;
      if (rate > 0 && share < 1) parts.push(`${Math.ceil((this.total - this.read) / rate)} s left`);
    }
    parts.splice(1, 0, `${perSecond.toLocaleString('en-US')} records/s`);
    return parts.join(', ');
  }

  /** Stops and erases the line, so the summary after it starts on a clean line. */
  finish(): void {
    clearInterval(this.timer);
    if (this.drawn) this.out.write(REDRAW);
  }

  private draw(): void {
    this.drawn = true;
    this.out.write(REDRAW + this.line());
  }
}
