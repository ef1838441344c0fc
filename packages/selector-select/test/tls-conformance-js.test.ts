import { runTlsConformance } from '@evloop/conformance';
import { SelectSelector } from '@evloop/selector-select';

// The same suite on the JavaScript TLS path (Node's tls over a JS stream):
// the TLS that runs on Windows, where @evloop/tls-native does not load (it
// is POSIX-only), and the fallback elsewhere.
runTlsConformance({
  name: 'select',
  engine: 'js',
  createSelector: () => new SelectSelector(),
});
