import { runSelectorConformance } from '@evloop/conformance';
import { PollSelector } from '../src/index.js';

runSelectorConformance({
  name: 'poll',
  create: () => new PollSelector(),
  features: { pollsRegularFiles: true, scalesBeyondFdSetsize: true, hasKernelFd: false, checksFileIdentity: true },
  entryUrl: new URL('../dist/index.js', import.meta.url),
});
