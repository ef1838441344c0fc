// Straight to the suite's file while @evloop/conformance's index also names a
// suite that is not written yet; switch to '@evloop/conformance' once it is.
import { runSelectorConformance } from '../../conformance/src/selector-conformance.js';
import { EpollSelector } from '../src/index.js';

runSelectorConformance({
  name: 'epoll',
  create: () => new EpollSelector(),
  features: { pollsRegularFiles: false, scalesBeyondFdSetsize: true, hasKernelFd: true },
  entryUrl: new URL('../dist/index.js', import.meta.url),
});
