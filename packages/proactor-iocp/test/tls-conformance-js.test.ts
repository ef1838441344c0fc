import { runTlsConformance } from '@evloop/conformance';
import { it } from 'vitest';
import { backend } from '../src/index.js';

// The shared suite on the JavaScript TLS path (Node's tls over a JS
// stream): the TLS that runs on Windows, where @evloop/tls-native does not
// load (it is POSIX-only).
const availability = backend.available();
if (availability.ok) runTlsConformance({ name: 'iocp', backend, engine: 'js' });
else it.skip(`tls conformance (js TLS): iocp is not usable on this machine: ${availability.reason}`, () => {});
