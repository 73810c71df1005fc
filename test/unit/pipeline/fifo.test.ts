import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/pipeline/fifo.js';

describe('Fifo', () => {
  it('gives values back in the order they came, across its compactions', () => {
    const queue = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Interleaved pushes and shifts, so the head passes the compaction point many times with values behind it.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) queue.push(next++);
      for (let i = 0; i < 250; i++) out.push(queue.shift() as number);
      expect(queue.length).toBe(next - out.length);
      expect(queue.peek()).toBe(out.length);
    }
    while (queue.length > 0) out.push(queue.shift() as number);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
  });

  it('iterates, drains and retains only what is still queued', () => {
    const queue = new Fifo<number>();
    for (let i = 0; i < 2000; i++) queue.push(i);
    for (let i = 0; i < 1500; i++) queue.shift();
    expect([...queue]).toEqual(Array.from({ length: 500 }, (_, i) => 1500 + i));
    queue.retain((value) => value % 2 === 0);
    expect(queue.length).toBe(250);
    expect(queue.shift()).toBe(1500);
    expect(queue.drain()).toEqual(Array.from({ length: 249 }, (_, i) => 1502 + 2 * i));
    expect(queue.length).toBe(0);
    queue.push(7);
    expect([...queue]).toEqual([7]);
  });
});
