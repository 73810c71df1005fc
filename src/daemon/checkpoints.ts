// The crash checkpoint: the newest serial up to which every event's flows and losses are where a
// crash of the daemon cannot take them. A daemon started after a crash counts the events after the
// dead one's checkpoint as `daemon_down`; had it counted from the newest record read, the flows still
// in the pipeline or in the sink's memory queue at the crash would have vanished uncounted.
//
// Each tick the daemon offers a candidate: a serial below which the pipeline holds nothing back, and
// how many entries the sink had accepted then. The sink delivers in the order it accepted, so the
// candidate is safe once Redis has answered that many of this run's entries. Entries the spool holds
// are safe too, but the sink does not say which of its entries went there: while Redis is away the
// checkpoint waits at the last answered entry, and a crash then counts the outage as daemon_down
// although the spool delivers its flows later (counted twice, never missed).

/** Candidates kept while the sink catches up (one per tick: an hour); older ones are dropped, which only holds the checkpoint back. */
const MAX_CANDIDATES = 3600;

export class Checkpoints {
  private readonly candidates: Array<{ serial: number; accepted: number }> = [];
  private settled: number | null = null;

  /**
   * @param replayed entries the spool held from an earlier run: the sink sends them before any of
   * this run's, and Redis's answers to them count nothing of this run.
   */
  constructor(private readonly replayed: number) {}

  /** The serial of the newest safe checkpoint, null before the first. */
  get safe(): number | null {
    return this.settled;
  }

  /** Everything up to `serial` has given its entries to the sink, which had then accepted `accepted` entries. */
  offer(serial: number, accepted: number): void {
    const newest = this.candidates.at(-1)?.serial ?? this.settled;
    if (newest !== null && serial <= newest) return;
    this.candidates.push({ serial, accepted });
    if (this.candidates.length > MAX_CANDIDATES) this.candidates.shift();
  }

  /** Redis has answered `answered` entries (written, duplicates, rejected), the replayed ones included. */
  settle(answered: number): void {
    const own = answered - this.replayed;
    while (this.candidates.length > 0 && (this.candidates[0] as { accepted: number }).accepted <= own) {
      this.settled = (this.candidates.shift() as { serial: number }).serial;
    }
  }
}
