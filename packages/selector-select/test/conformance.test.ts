import { runSelectorConformance } from '@evloop/conformance';
import { SelectSelector } from '../src/index.js';

runSelectorConformance({
  name: 'select',
  create: () => new SelectSelector(),
  // On Windows select() takes sockets only: pipes and regular files are refused (ENOTSOCK).
  features: {
    pollsRegularFiles: process.platform !== 'win32',
    pollsPipes: process.platform !== 'win32',
    scalesBeyondFdSetsize: false,
    hasKernelFd: false,
    // Winsock has no fstat identity for sockets.
    checksFileIdentity: process.platform !== 'win32',
  },
  entryUrl: new URL('../dist/index.js', import.meta.url),
});
