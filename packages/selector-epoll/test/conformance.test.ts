import { runSelectorConformance } from '@evloop/conformance';
import { EpollSelector } from '../src/index.js';

runSelectorConformance({
  name: 'epoll',
  create: () => new EpollSelector(),
  features: { pollsRegularFiles: false, scalesBeyondFdSetsize: true, hasKernelFd: true },
  entryUrl: new URL('../dist/index.js', import.meta.url),
});
