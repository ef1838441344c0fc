import { runSelectorConformance } from '@evloop/conformance';
import { describe } from 'vitest';
import { KqueueSelector } from '../src/index.js';

const hasKqueue = ['darwin', 'freebsd', 'openbsd', 'netbsd'].includes(process.platform);

describe.skipIf(!hasKqueue)(`kqueue conformance (kqueue exists only on macOS/BSD, this is ${process.platform})`, () => {
  runSelectorConformance({
    name: 'kqueue',
    create: () => new KqueueSelector(),
    // kqueue accepts a regular file: EVFILT_WRITE is always ready on it.
    features: { pollsRegularFiles: true, scalesBeyondFdSetsize: true, hasKernelFd: true },
    entryUrl: new URL('../dist/index.js', import.meta.url),
  });
});
