import { describe, expect, it } from 'vitest';
import { communityId } from '../../../src/pipeline/community-id.js';

const v4 = (text: string): Buffer => Buffer.from(text.split('.').map(Number));

describe('communityId', () => {
  // The spec's README example (corelight/community-id-spec): TCP 128.232.110.120:34855 → 66.35.250.204:80.
  it('matches the specification example', () => {
    expect(communityId(6, { bytes: v4('128.232.110.120'), port: 34855 }, { bytes: v4('66.35.250.204'), port: 80 })).toBe('1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  });

  it('is the same in both directions', () => {
    const a = { bytes: v4('10.0.0.1'), port: 5000 };
    const b = { bytes: v4('10.0.0.2'), port: 53 };
    expect(communityId(17, a, b)).toBe(communityId(17, b, a));
  });

  it('refuses endpoints of two families', () => {
    expect(communityId(6, { bytes: v4('10.0.0.1'), port: 1 }, { bytes: Buffer.alloc(16), port: 2 })).toBeUndefined();
  });
});
