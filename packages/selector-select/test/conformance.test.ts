import { runSelectorConformance } from '@evloop/conformance';
import { SelectSelector } from '../src/index.js';

runSelectorConformance({
  name: 'select',
  create: () => new SelectSelector(),
  features: { pollsRegularFiles: true, scalesBeyondFdSetsize: false, hasKernelFd: false },
  entryUrl: new URL('../dist/index.js', import.meta.url),
});
