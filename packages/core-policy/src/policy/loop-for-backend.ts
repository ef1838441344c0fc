import type { BackendDescriptor } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { ProactorEventLoop } from '../proactor/proactor-event-loop.js';
import { SelectorEventLoop } from '../selector/selector-event-loop.js';

/**
 * A new loop of the family `backend` belongs to: a `SelectorEventLoop` on
 * the backend's selector for `kind: 'selector'`, a `ProactorEventLoop` on
 * its proactor for `kind: 'proactor'`. The one place the policy (and
 * anything else that starts from a descriptor) turns a backend into a loop.
 */
export function loopForBackend(backend: BackendDescriptor): BaseEventLoop {
  if (backend === null || typeof backend !== 'object') {
    throw new TypeError(`backend must be a backend descriptor, got ${backend === null ? 'null' : typeof backend}`);
  }
  switch (backend.kind) {
    case 'selector':
      if (typeof backend.createSelector !== 'function') throw new TypeError(`backend ${String(backend.name)} is a selector backend without createSelector()`);
      return new SelectorEventLoop(undefined, { backend });
    case 'proactor':
      if (typeof backend.createProactor !== 'function') throw new TypeError(`backend ${String(backend.name)} is a proactor backend without createProactor()`);
      return new ProactorEventLoop(undefined, { backend });
    default:
      throw new TypeError(`backend ${String((backend as { name?: unknown }).name)} has an unknown kind ${JSON.stringify((backend as { kind?: unknown }).kind)} (expected 'selector' or 'proactor')`);
  }
}
