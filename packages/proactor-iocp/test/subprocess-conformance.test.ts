import { runSubprocessConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on a ProactorEventLoop over an I/O completion port.
const availability = backend.available();
if (availability.ok) runSubprocessConformance({ name: 'iocp', backend });
else it.skip(`subprocess conformance: iocp is not usable on this machine: ${availability.reason}`, () => {});
