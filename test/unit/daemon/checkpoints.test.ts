import { describe, expect, it } from 'vitest';
import { Checkpoints } from '../../../src/daemon/checkpoints.js';

describe('Checkpoints (the crash checkpoint)', () => {
  it('makes a serial safe only once Redis has answered every entry accepted up to it', () => {
    const checkpoints = new Checkpoints(0);
    checkpoints.offer(100, 5);
    checkpoints.offer(200, 9);
    checkpoints.settle(4);
    expect(checkpoints.safe).toBeNull();
    checkpoints.settle(8);
    expect(checkpoints.safe).toBe(100);
    checkpoints.settle(9);
    expect(checkpoints.safe).toBe(200);
  });

  it('does not count the answers to entries an earlier run left in the spool', () => {
    const checkpoints = new Checkpoints(1000);
    checkpoints.offer(50, 3);
    checkpoints.settle(1002);
    expect(checkpoints.safe).toBeNull();
    checkpoints.settle(1003);
    expect(checkpoints.safe).toBe(50);
  });

  it('holds at the last answered entry while Redis is away, however far the reading goes', () => {
    const checkpoints = new Checkpoints(0);
    checkpoints.offer(10, 1);
    checkpoints.settle(1);
    for (let tick = 1; tick <= 5000; tick++) {
      checkpoints.offer(10 + tick, 1 + tick);
      checkpoints.settle(1);
    }
    expect(checkpoints.safe).toBe(10);
    checkpoints.settle(5001);
    expect(checkpoints.safe).toBe(5010);
  });

  it('ignores a candidate that does not move forward', () => {
    const checkpoints = new Checkpoints(0);
    checkpoints.offer(300, 2);
    checkpoints.offer(250, 3);
    checkpoints.offer(300, 4);
    checkpoints.settle(2);
    expect(checkpoints.safe).toBe(300);
    checkpoints.offer(300, 5);
    checkpoints.settle(100);
    expect(checkpoints.safe).toBe(300);
  });
});
