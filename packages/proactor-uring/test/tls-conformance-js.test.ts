import { runTlsConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on the JavaScript TLS path (Node's tls over a JS
// stream), the fallback where @evloop/tls-native cannot load.
const availability = backend.available();
if (availability.ok) runTlsConformance({ name: 'uring', backend, engine: 'js' });
else it.skip(`tls conformance (js TLS): uring is not usable on this machine: ${availability.reason}`, () => {});
