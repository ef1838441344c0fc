import { describe, expect, it } from 'vitest';
import type { BackendDescriptor } from '@evloop/interface';
import { NotImplementedError, SelectorEventLoop, loopForBackend } from '@evloop/core-policy';
import { testSelector } from './helpers.js';

function descriptor(fields: Partial<BackendDescriptor>): BackendDescriptor {
  return {
    name: 'test',
    kind: 'selector',
    platforms: [process.platform],
    available: () => ({ ok: true }),
    ...fields,
  } as BackendDescriptor;
}

describe('loopForBackend', () => {
  it('builds a selector loop on the selector a selector backend makes', () => {
    let made = 0;
    const backend = descriptor({
      createSelector: () => {
        made++;
        return testSelector();
      },
    });
    const loop = loopForBackend(backend);
    try {
      expect(loop).toBeInstanceOf(SelectorEventLoop);
      expect(loop.backend).toBe(backend);
      expect(made).toBe(1);
    } finally {
      loop.close();
    }
  });

  it('says a proactor backend has no loop class yet, naming the backend', () => {
    const backend = descriptor({ name: 'uring', kind: 'proactor', createProactor: () => ({ backendName: 'uring', closed: false, close() {} }) });
    expect(() => loopForBackend(backend)).toThrow(NotImplementedError);
    expect(() => loopForBackend(backend)).toThrow(/uring.*proactor/);
  });

  it('refuses descriptors that cannot make what their kind needs', () => {
    expect(() => loopForBackend(descriptor({ name: 'half', kind: 'selector' }))).toThrow(new TypeError('backend half is a selector backend without createSelector()'));
    expect(() => loopForBackend(descriptor({ name: 'half', kind: 'proactor' }))).toThrow(new TypeError('backend half is a proactor backend without createProactor()'));
    expect(() => loopForBackend(descriptor({ name: 'odd', kind: 'reactor' as never }))).toThrow(/unknown kind "reactor"/);
    expect(() => loopForBackend(null as never)).toThrow(TypeError);
  });
});
