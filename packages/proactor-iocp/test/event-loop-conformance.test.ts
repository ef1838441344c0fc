import { runEventLoopConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on a ProactorEventLoop over an I/O completion port (the
// harness makes the loop from the backend's kind). Its fds are sockets,
// watched through AFD polls; a socket closed under its poll ends the poll
// (EBADF), so a closed socket's registration is found and dropped.
const availability = backend.available();
if (availability.ok) {
  runEventLoopConformance({
    name: 'iocp',
    packageName: '@evloop/proactor-iocp',
    features: { pollsRegularFiles: false, watchesFds: true, keepsClosedFilesRegistered: true },
    backend,
    cannotCheck: {
      'a regular file gets a clear error':
        "a node:fs fd on Windows is a C runtime fd, not a HANDLE, and its number cannot be told from a socket handle's (under Wine both are small numbers): what addReader does with it depends on which handle that number happens to name",
    },
  });
} else {
  it.skip(`event-loop conformance: iocp is not usable on this machine: ${availability.reason}`, () => {});
}
