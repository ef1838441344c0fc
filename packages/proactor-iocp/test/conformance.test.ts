import { runProactorConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend, IocpProactor } from '../src/index.js';

// Wine runs about three times slower than Windows: fewer operations in flight there.
const availability = backend.available();
if (availability.ok) {
  runProactorConformance({
    name: 'iocp',
    create: () => new IocpProactor(),
    features: {
      hasKernelFd: false,
      pipesAndFiles: true,
      noFiles: "fs.openSync gives a CRT fd of Node's runtime, not a HANDLE, and @evloop/sys opens no files on Windows",
      readiness: true,
      sendfile: true,
      // Seen under Wine 8: an overlapped receive stays pending after closesocket() or shutdown().
      ...(process.env.EVLOOP_WINE === '1' ? { closeLeavesOperations: 'Wine leaves an overlapped receive pending when its socket is closed or shut down' } : {}),
    },
    concurrentOperations: process.env.EVLOOP_WINE === '1' ? 2000 : 10_000,
  });
} else {
  it.skip(`proactor conformance: iocp is not usable on this machine: ${availability.reason}`, () => {});
}
