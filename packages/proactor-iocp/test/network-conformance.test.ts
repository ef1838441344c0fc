import { runNetworkConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on a ProactorEventLoop over an I/O completion port.
const availability = backend.available();
if (availability.ok) runNetworkConformance({ name: 'iocp', backend });
else it.skip(`network conformance: iocp is not usable on this machine: ${availability.reason}`, () => {});
