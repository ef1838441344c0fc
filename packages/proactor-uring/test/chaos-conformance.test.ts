import { runChaosConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The chaos suite on a ProactorEventLoop over io_uring: its transports are
// the proactor family's, so every fault is met by different code than on a selector.
const availability = backend.available();
if (availability.ok) runChaosConformance({ name: 'uring', backend, backendPackage: '@evloop/proactor-uring' });
else it.skip(`chaos: uring is not usable on this machine: ${availability.reason}`, () => {});
