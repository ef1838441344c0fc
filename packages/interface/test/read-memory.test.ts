import { describe, expect, it } from 'vitest';
import { noteReadMemory, readMemoryNeedsPacing } from '../src/index.js';

describe('read-memory pacing', () => {
  it('reads this runtime\'s V8 version by default', () => {
    expect(readMemoryNeedsPacing()).toBe(readMemoryNeedsPacing(process.versions.v8));
  });

  it('paces on V8 13 and later only', () => {
    expect(readMemoryNeedsPacing('13.6.233.17-node.63')).toBe(true);
    expect(readMemoryNeedsPacing('14.2.1')).toBe(true);
    expect(readMemoryNeedsPacing('12.4.254.21-node.33')).toBe(false);
    expect(readMemoryNeedsPacing('11.3.244.8-node.33')).toBe(false);
  });

  it('does not pace where no V8 version can be read', () => {
    expect(readMemoryNeedsPacing('')).toBe(false);
    expect(readMemoryNeedsPacing('jsc')).toBe(false);
  });

  it('takes any byte count, nothing and nonsense included, without throwing or returning anything', () => {
    for (const bytes of [0, -1, Number.NaN, 1, 31, 32, 64 * 1024, 256 * 1024, 4 * 1024 * 1024]) {
      expect(noteReadMemory(bytes)).toBeUndefined();
    }
  });
});
