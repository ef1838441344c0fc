import { describe, expect, it } from 'vitest';
import type { BackendDescriptor, Proactor } from '@evloop/interface';
import { ProactorEventLoop, SelectorEventLoop, loopForBackend } from '@evloop/core-policy';
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

  it('builds a proactor loop on the proactor a proactor backend makes', () => {
    let made = 0;
    let closed = 0;
    const proactor = {
      backendName: 'fake',
      closed: false,
      pending: 0,
      poll: () => 0,
      close: () => {
        closed++;
      },
    } as unknown as Proactor;
    const backend = descriptor({
      name: 'uring',
      kind: 'proactor',
      createProactor: () => {
        made++;
        return proactor;
      },
    });
    const loop = loopForBackend(backend);
    expect(loop).toBeInstanceOf(ProactorEventLoop);
    expect(loop.backend).toBe(backend);
    expect((loop as ProactorEventLoop).proactor).toBe(proactor);
    expect(made).toBe(1);
    loop.close();
    expect(closed).toBe(1);
  });

  it('a SelectorEventLoop refuses a proactor descriptor, pointing to the loop of its kind', () => {
    const backend = descriptor({ name: 'uring', kind: 'proactor', createProactor: () => ({ backendName: 'uring', closed: false, close() {} }) as unknown as Proactor });
    expect(() => new SelectorEventLoop(undefined, { backend })).toThrow(new TypeError('a SelectorEventLoop needs a selector backend, and uring is a proactor backend; use newEventLoop() or loopForBackend() for a loop of its kind'));
  });

  it('refuses descriptors that cannot make what their kind needs', () => {
    expect(() => loopForBackend(descriptor({ name: 'half', kind: 'selector' }))).toThrow(new TypeError('backend half is a selector backend without createSelector()'));
    expect(() => loopForBackend(descriptor({ name: 'half', kind: 'proactor' }))).toThrow(new TypeError('backend half is a proactor backend without createProactor()'));
    expect(() => loopForBackend(descriptor({ name: 'odd', kind: 'reactor' as never }))).toThrow(/unknown kind "reactor"/);
    expect(() => loopForBackend(null as never)).toThrow(TypeError);
  });
});
