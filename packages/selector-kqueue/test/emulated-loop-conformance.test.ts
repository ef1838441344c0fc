// The loop-level suites (event loop, network, streams) on Linux over the
// epoll-backed kqueue emulation (test/emulation): asyncio's loop semantics,
// TCP/UDP/Unix transports and streams on kqueue.cc's registration logic, as
// emulated-kqueue.test.ts does for the selector suite. What a real macOS or
// BSD kernel does differently only a run there shows.
import { runEventLoopConformance, runNetworkConformance, runStreamsConformance } from '@evloop/conformance';
import { NativeSelector } from '@evloop/interface';
import { describe } from 'vitest';
import { buildEmulatedAddon, emulationSkip } from './emulation/build-emulation.js';

const built = emulationSkip === false ? buildEmulatedAddon() : undefined;

/** KqueueSelector's shape, over the emulated addon. */
class EmulatedKqueueSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'kqueue';

  constructor() {
    super(new built!.native.Selector());
  }
}

const createSelector = () => new EmulatedKqueueSelector();

// A real kqueue drops an fd's filters when the fd is closed, dup or not; the
// emulation's epoll set keeps the registration while a dup holds the file
// open, and the emulation cannot see close(). Only macOS or a BSD checks this.
const DUP_GAP = 'the epoll-based emulation cannot drop filters at close() while a dup keeps the file open, as a real kqueue does';
const skipped = emulationSkip === false ? '' : ` (${emulationSkip})`;

describe.skipIf(emulationSkip !== false)(`loop suites on emulated kqueue on Linux${skipped}`, () => {
  runEventLoopConformance({
    name: 'kqueue',
    // Child processes make their loops on the emulated backend, not on the real package.
    packageName: built?.backendModule ?? '@evloop/selector-kqueue',
    createSelector,
    // kqueue accepts a regular file (readable while the offset is before EOF).
    features: { pollsRegularFiles: true },
    cannotCheck: {
      'a readable socket closed without removeReader while a dup keeps its file open: the reader stops firing (no spin)': DUP_GAP,
      'a readable socket closed, then removeReader, while a dup keeps its file open: the backend stops reporting it': DUP_GAP,
    },
  });
  runNetworkConformance({ name: 'kqueue', createSelector });
  runStreamsConformance({ name: 'kqueue', createSelector });
});
