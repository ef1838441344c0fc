// Runs the real native code (src/native/kqueue.cc and addon.cc) on Linux over
// test/emulation/kqueue-emulation.cc, an epoll-backed stand-in for kqueue(2)
// and kevent(2). It checks the addon's logic (receipts, merging, rollback,
// EINTR, the libuv watch and its lifetimes) with the shared suite; it cannot
// check how a real macOS or BSD kernel behaves, which only a run there does.
import { runSelectorConformance } from '@evloop/conformance';
import { NativeSelector } from '@evloop/interface';
import { describe } from 'vitest';
import { buildEmulatedAddon, emulationSkip } from './emulation/build-emulation.js';
import { describeKqueueQuirks } from './kqueue-quirks.js';

const variants = [
  { title: 'emulated kqueue on Linux', defines: [] },
  // OpenBSD and older NetBSD: no EV_RECEIPT, so kqueue.cc applies one change per call.
  { title: 'emulated kqueue without EV_RECEIPT on Linux', defines: ['-DEVLOOP_EMULATE_NO_EV_RECEIPT'] },
];

for (const variant of variants) {
  const built = emulationSkip === false ? buildEmulatedAddon(variant.defines) : undefined;

  /** KqueueSelector's shape, over this emulated addon. */
  class EmulatedKqueueSelector<T = unknown> extends NativeSelector<T> {
    readonly backendName = 'kqueue';

    constructor() {
      super(new built!.native.Selector());
    }
  }

  describe.skipIf(emulationSkip !== false)(`${variant.title}${emulationSkip === false ? '' : ` (${emulationSkip})`}`, () => {
    runSelectorConformance({
      name: 'kqueue',
      create: () => new EmulatedKqueueSelector(),
      features: { pollsRegularFiles: true, scalesBeyondFdSetsize: true, hasKernelFd: true },
      ...(built === undefined ? {} : { entryUrl: built.entryUrl }),
    });
    describeKqueueQuirks('kqueue quirks', false, () => new EmulatedKqueueSelector());
  });
}
