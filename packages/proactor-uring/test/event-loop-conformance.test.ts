import { runEventLoopConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on a ProactorEventLoop over io_uring (the harness makes
// the loop from the backend's kind).
const availability = backend.available();
if (availability.ok) runEventLoopConformance({ name: 'uring', packageName: '@evloop/proactor-uring', features: { pollsRegularFiles: true, watchesFds: true, keepsClosedFilesRegistered: true, priorityReadiness: true }, backend });
else it.skip(`event-loop conformance: uring is not usable on this machine: ${availability.reason}`, () => {});
