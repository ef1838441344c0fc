import { runEventLoopConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on a ProactorEventLoop over an I/O completion port (the
// harness makes the loop from the backend's kind).
const availability = backend.available();
if (availability.ok) runEventLoopConformance({ name: 'iocp', packageName: '@evloop/proactor-iocp', features: { pollsRegularFiles: false, watchesFds: false }, backend });
else it.skip(`event-loop conformance: iocp is not usable on this machine: ${availability.reason}`, () => {});
