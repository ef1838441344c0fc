import { describe, expect, it } from 'vitest';
import type { BackendDescriptor } from '@evloop/interface';
import { SelectorEventLoop } from '@evloop/core-policy';

describe('SelectorEventLoop and backend kinds', () => {
  it('refuses a proactor descriptor with a TypeError that points to the loop of its kind', () => {
    const backend = {
      name: 'uring',
      kind: 'proactor',
      platforms: [process.platform],
      available: () => ({ ok: true }),
      createProactor: () => ({ backendName: 'uring', closed: false, close() {} }),
    } as unknown as BackendDescriptor;
    expect(() => new SelectorEventLoop(undefined, { backend })).toThrow(TypeError);
    expect(() => new SelectorEventLoop(undefined, { backend })).toThrow(/needs a selector backend, and uring is a proactor backend.*loopForBackend/);
  });
});
