// Fifo: a first-in, first-out queue for the pipeline's time-ordered waits. Array.prototype.shift()
// moves every element left (V8 trims the array in place only while it is small), and these queues
// hold thousands at a steady rate (a destroy waits seconds for its opener): the head moves instead,
// and the taken front is cut off once it is half of the array.

const COMPACT_AFTER = 1024;

export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(value: T): void {
    this.items.push(value);
  }

  /** The oldest value, left in the queue. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** Takes the oldest value out. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const value = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return value;
  }

  /** Takes every value out, oldest first. */
  drain(): T[] {
    const values = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return values;
  }

  /** Keeps only the values `keep` accepts, in order. */
  retain(keep: (value: T) => boolean): void {
    this.items = (this.items.slice(this.head) as T[]).filter(keep);
    this.head = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
}
