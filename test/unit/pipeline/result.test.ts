import { describe, expect, it } from 'vitest';
import { resultName } from '../../../src/pipeline/flow.js';

describe('a flow result', () => {
  it('is ok for a successful call, and inprogress for a started non-blocking connect', () => {
    expect(resultName(true, 0)).toBe('ok');
    expect(resultName(false, -115)).toBe('inprogress');
    expect(resultName(false, -114)).toBe('inprogress');
  });

  it("names a failure by the kernel's errno name, EAGAIN rather than its alias EWOULDBLOCK", () => {
    expect(resultName(false, -111)).toBe('ECONNREFUSED');
    expect(resultName(false, -11)).toBe('EAGAIN');
  });

  it('names network errnos that Node has no constant for', () => {
    expect(resultName(false, -112)).toBe('EHOSTDOWN');
    expect(resultName(false, -108)).toBe('ESHUTDOWN');
  });
});
